"""Rasa's SQL event broker, writing to `analytics_events` with the tracker store's columns.

endpoints.yml: `event_broker: {type: grace.rasa_plugins.event_broker.AnalyticsEventBroker, url: ${DATABASE_URL}}`.

In the scaled profile the broker shares the database with Rasa's SQL tracker store, and both of
Rasa's classes name their table `events` with different columns: the broker's rows would break the
tracker's table. So the broker has a table of its own, and it keeps the columns the tracker store
keeps (type, time, intent, action or slot name, the event as JSON), so analytics reads the stream
with the same queries as the tracker store and never has to parse every row.
"""
from __future__ import annotations

import json
from typing import Any

from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import Column, Float, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

from grace.config import sqlalchemy_url
from grace.store.db import ping_when_idle

TABLE = "analytics_events"


class AnalyticsEventBroker(SQLEventBroker):
    Base: Any = declarative_base()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("host"), str):  # `url: ${DATABASE_URL}` arrives as the host
            kwargs["host"] = sqlalchemy_url(kwargs["host"])
        super().__init__(*args, **kwargs)
        ping_when_idle(self.engine)  # Rasa's engine never asks whether a pooled connection survived a restart

    class SQLBrokerEvent(Base):
        __tablename__ = TABLE
        id = Column(Integer, primary_key=True)
        sender_id = Column(String(255), index=True)
        type_name = Column(String(255))
        timestamp = Column(Float, index=True)
        intent_name = Column(String(255))
        action_name = Column(String(255))
        data = Column(Text)

    def publish(self, event: dict[str, Any]) -> None:
        """Publishes one event (Rasa's dict of it, with the conversation's sender_id)."""
        self.publish_many([event])

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        """Publishes a turn's events in one transaction (grace.rasa_plugins.tracker_store saves a turn so),
        not one commit per event as Rasa's broker does."""
        with self.session_scope() as session:
            session.add_all(self.rows(events))
            session.commit()

    def rows(self, events: list[dict[str, Any]]) -> list[Any]:
        """The rows publishing `events` adds: for the tracker store to add in its own transaction when both
        write to the same database (shares_database_with), one commit a turn instead of two."""
        return [self._row(event) for event in events]

    def shares_database_with(self, engine: Engine) -> bool:
        return self.engine.url.render_as_string(hide_password=False) == \
            engine.url.render_as_string(hide_password=False)

    def _row(self, event: dict[str, Any]) -> Any:
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        return self.SQLBrokerEvent(
            sender_id=event.get("sender_id"), type_name=event.get("event"), timestamp=event.get("timestamp"),
            intent_name=intent, action_name=event.get("name"), data=json.dumps(event))
