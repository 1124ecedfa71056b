"""Rasa's tracker store as the rest of Grace reads it: its `events` table, one row per event with the type,
time, intent, action or slot name (Rasa keeps a slot's name in action_name) and the event as JSON; the
event broker's table in the scaled profile has the same columns (grace.rasa_plugins.event_broker). Read with
a few SELECTs (analytics, the inbox, the summary nudge), never by rebuilding whole trackers."""
from __future__ import annotations

from sqlalchemy import Float, column, table
from sqlalchemy.sql.expression import TableClause

TRACKER_TABLE = "events"  # Rasa's SQL tracker store
BROKER_TABLE = "analytics_events"  # grace.rasa_plugins.event_broker: the same columns, fed by the event broker


def events_table(name: str = TRACKER_TABLE) -> TableClause:
    return table(
        name, column("id"), column("sender_id"), column("type_name"), column("timestamp", Float),
        column("intent_name"), column("action_name"), column("data"),
    )


TRACKER_EVENTS = events_table()
