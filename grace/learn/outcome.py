"""Did the customer carry on after a fallback turn, or drop? Decided from Rasa's tracker store.

A fallback turn "continued" when the same conversation has a later customer message within
WINDOW (30 minutes by default), and "dropped" when it has none once the window is over. The answer
is written once into fallback_log.continued by `grace learn`, so handled turns never pay a write
and a later clean-up of old conversations in the tracker store does not change the past. A
conversation the tracker store does not know (another store, deleted) stays undecided.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.orm import Session

from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.store.models import FallbackLog

WINDOW = timedelta(minutes=30)
_CHUNK = 500  # conversation ids per query: well under every database's bound-parameter limit
# Rasa's own table (rasa.core.tracker_store.SQLTrackerStore), read only.
_EVENTS = text("SELECT sender_id, type_name, timestamp, intent_name, data FROM events "
               "WHERE sender_id IN :ids ORDER BY timestamp").bindparams(bindparam("ids", expanding=True))


@dataclass
class Outcomes:
    continued: int = 0
    dropped: int = 0
    undecided: int = 0


def _epoch(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=timezone.utc).timestamp()


def _customer_message(intent_name: str | None, data: str | None) -> bool:
    """Ops' external events (payment verified...) are user events in Rasa, but not the customer."""
    if (intent_name or "").startswith("EXTERNAL"):
        return False
    try:
        said = json.loads(data or "{}").get("text") or ""
    except ValueError:
        return True
    return not said.startswith("EXTERNAL: ")


def customer_message_times(tracker_url: str, conversation_ids: list[str]) -> dict[str, list[float]]:
    """Per known conversation, the times (epoch seconds) of its customer messages, oldest first."""
    engine = tracker_engine(tracker_url)
    if engine is None or not inspect(engine).has_table("events"):
        return {}  # no conversations yet
    times: dict[str, list[float]] = {}
    with engine.connect() as connection:
        for start in range(0, len(conversation_ids), _CHUNK):
            chunk = conversation_ids[start:start + _CHUNK]
            for sender, kind, stamp, intent_name, data in connection.execute(_EVENTS, {"ids": chunk}):
                known = times.setdefault(sender, [])
                if kind == "user" and stamp is not None and _customer_message(intent_name, data):
                    known.append(stamp)
    return times


def decide_outcomes(session: Session, tracker_url: str, now: datetime | None = None,
                    window: timedelta = WINDOW) -> Outcomes:
    """Fill in `continued` for every fallback turn still undecided whose answer is now known."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    rows = session.scalars(select(FallbackLog).where(FallbackLog.continued.is_(None))).all()
    by_conversation: dict[str, list[FallbackLog]] = defaultdict(list)
    for row in rows:
        by_conversation[row.conversation_id].append(row)
    times = customer_message_times(tracker_url, sorted(by_conversation)) if rows else {}
    outcomes = Outcomes()
    for conversation_id, logged in by_conversation.items():
        known = times.get(conversation_id)
        for row in logged:
            start = _epoch(row.created_at)
            if known is not None and any(start < t <= start + window.total_seconds() for t in known):
                row.continued = True
                outcomes.continued += 1
            elif known is not None and now - row.created_at >= window:
                row.continued = False
                outcomes.dropped += 1
            else:
                outcomes.undecided += 1
    return outcomes
