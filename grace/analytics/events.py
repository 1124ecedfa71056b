"""What Rasa's tracker store proves about a tenant's conversations: customer turns and how far
each conversation got, read with a few SELECTs on its `events` table (never whole trackers).

Conversation ids are `<tenant>:<customer>`; the prefix is matched with LIKE escaping so a tenant
id holding `_` or `%` never matches another tenant's conversations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import and_, distinct, func, inspect, not_, or_, select
from sqlalchemy.engine import Connection

from grace.analytics.period import Period
from grace.messaging.conversation_events import TRACKER_TABLE, events_table
from grace.messaging.inbound import conversation_id
from grace.rasa_plugins.tracker_reader import tracker_engine

# Slots whose setting proves a funnel stage (Rasa stores a slot's name in action_name).
# funnel_stage values map to the stage they show: actions/selection.py sets "reviewing" with the
# order summary, actions/ordering.py "awaiting_payment" with the payment details, actions/deposit.py
# "verifying" when it records the proof.
STAGE_OF_FUNNEL_SLOT = {"reviewing": "summary", "awaiting_payment": "payment_requested", "verifying": "proof"}
STAGE_OF_LIST_SLOT = {"offered_skus": "options_sent", "selection": "selection"}
EVIDENCE_SLOTS = ("funnel_stage", *STAGE_OF_LIST_SLOT)


@dataclass(frozen=True)
class CustomerTurn:
    conversation: str
    timestamp: float
    intent: str


@dataclass
class TrackerFacts:
    turns: list[CustomerTurn] = field(default_factory=list)  # customer messages in the range, in order
    stages: dict[str, set[str]] = field(default_factory=dict)  # conversation -> stages proven in the range
    first_message_ts: dict[str, float] = field(default_factory=dict)  # conversation -> its first message ever


def _of_tenant(events, tenant_id: str):
    return events.c.sender_id.startswith(conversation_id(tenant_id, ""), autoescape=True)


def _customer_turn(events):
    # Ops' decisions reach a conversation as EXTERNAL_* intents (grace/messaging/rasa_delivery.py):
    # the customer said nothing.
    return and_(events.c.type_name == "user",
                or_(events.c.intent_name.is_(None), not_(events.c.intent_name.startswith("EXTERNAL"))))


def has_events(url: str, name: str) -> bool:
    """Whether the database at `url` holds the table `name` (without creating a SQLite file)."""
    engine = tracker_engine(url)
    if engine is None:
        return False
    with engine.connect() as conn:
        return inspect(conn).has_table(name)


def read_tracker(url: str, tenant_id: str, period: Period, table_name: str = TRACKER_TABLE) -> TrackerFacts:
    """Customer turns, stage evidence and first-message times for the tenant's conversations in the period,
    from Rasa's tracker store or from the event broker's table of the same shape."""
    engine = tracker_engine(url)
    if engine is None:
        return TrackerFacts()
    events = events_table(table_name)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(postgresql_readonly=True)
        if not inspect(conn).has_table(table_name):  # Rasa creates it with the first conversation
            return TrackerFacts()
        facts = _read_range(conn, events, tenant_id, period)
        facts.first_message_ts = _first_messages(conn, events, tenant_id, period)
    return facts


def _read_range(conn: Connection, events, tenant_id: str, period: Period) -> TrackerFacts:
    in_range = and_(_of_tenant(events, tenant_id),
                    events.c.timestamp >= period.start_ts, events.c.timestamp < period.end_ts)
    wanted = or_(_customer_turn(events), events.c.type_name == "session_started",
                 and_(events.c.type_name == "slot", events.c.action_name.in_(EVIDENCE_SLOTS)))
    rows = conn.execute(
        select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.intent_name,
               events.c.action_name, events.c.data)
        .where(in_range, wanted).order_by(events.c.sender_id, events.c.id)
    )
    facts = TrackerFacts()
    carried_over = False
    previous = None
    for sender, type_name, timestamp, intent, slot, data in rows:
        if sender != previous:
            previous, carried_over = sender, False
        if type_name == "session_started":
            # A new session repeats every slot (carry_over_slots_to_new_session) before the customer
            # speaks again: those repeats prove nothing about this range.
            carried_over = True
        elif type_name == "user":
            carried_over = False
            facts.turns.append(CustomerTurn(sender, timestamp, intent or "unknown"))
        elif not carried_over:
            stage = _stage_of_slot(slot, data)
            if stage:
                facts.stages.setdefault(sender, set()).add(stage)
    facts.turns.sort(key=lambda turn: turn.timestamp)
    return facts


def _stage_of_slot(slot: str, data: str | None) -> str | None:
    try:
        value = json.loads(data or "{}").get("value")
    except (ValueError, AttributeError):
        return None
    if slot == "funnel_stage":
        return STAGE_OF_FUNNEL_SLOT.get(value) if isinstance(value, str) else None
    return STAGE_OF_LIST_SLOT[slot] if value else None


def _first_messages(conn: Connection, events, tenant_id: str, period: Period) -> dict[str, float]:
    """When each conversation active in the period first heard from its customer (maybe long before)."""
    active = (
        select(distinct(events.c.sender_id))
        .where(_of_tenant(events, tenant_id), _customer_turn(events),
               events.c.timestamp >= period.start_ts, events.c.timestamp < period.end_ts)
    )
    rows = conn.execute(
        select(events.c.sender_id, func.min(events.c.timestamp))
        .where(_of_tenant(events, tenant_id), _customer_turn(events), events.c.sender_id.in_(active))
        .group_by(events.c.sender_id)
    )
    return {sender: first for sender, first in rows}
