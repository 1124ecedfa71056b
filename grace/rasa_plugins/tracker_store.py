"""Rasa's SQL tracker store, with its SQL off Rasa's event loop and tuned for SQLite.

endpoints.yml: `type: grace.rasa_plugins.tracker_store.GraceSQLTrackerStore`.

Every turn reads the conversation and saves it. Rasa's store runs both queries on the event loop that
serves every conversation, so one conversation's SQL (a disk write, PostgreSQL's round trip) held up
the others; here the queries and the JSON run on the loop's thread pool, and the loop only rebuilds
the tracker. Saving also does in one unit of work what Rasa's does in several: the count of what is
already stored, the new rows, and with an event broker the same new events to it (Rasa's re-reads and
replays the whole conversation to find them, then publishes each event in its own transaction); when Grace's
broker writes to the same database, in the same transaction (one commit, one disk flush, a turn).

SQLite: Rasa opens it with a rollback journal and a full sync on every commit, i.e. a disk flush for
each turn, and a new connection for each read and write. Grace's SQLite engine (grace/store/db.py)
uses WAL with synchronous=NORMAL, which keeps the database consistent on a crash (a power cut may lose
the last turns, never corrupt the file) and lets reads run beside the writer, and keeps its connections
pooled. Any other dialect (PostgreSQL) keeps Rasa's engine.
"""
from __future__ import annotations

import json
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from grace.concurrency import off_loop
from grace.config import sqlalchemy_url
from grace.rasa_plugins import action_validation
from grace.rasa_plugins.event_broker import AnalyticsEventBroker
from grace.store.db import make_engine, ping_when_idle

# Rasa loads this module before the first turn in every profile (endpoints.yml names it): the place
# to replace the per-answer schema check of custom actions (see action_validation).
action_validation.install()


class GraceSQLTrackerStore(SQLTrackerStore):
    engine: Engine  # set by SQLTrackerStore.__init__; declared here as Rasa's is inferred from an untyped call
    read_engine: Engine  # the conversation's reads (PostgreSQL: outside a transaction)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("host"), str):  # endpoints.yml `url: ${DATABASE_URL}` arrives as the host
            kwargs["host"] = sqlalchemy_url(kwargs["host"])
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url.render_as_string(hide_password=False)
            self.engine.dispose()
            self.engine = make_engine(url, future=False)  # as Rasa's: its queries use SQLAlchemy 1.3's API
            self.sessionmaker = sessionmaker(bind=self.engine)
            self.read_engine = self.engine
        else:  # Rasa's engine never asks whether a pooled connection survived a server restart
            ping_when_idle(self.engine)
            # A turn's read is one SELECT: in a transaction it costs BEGIN and ROLLBACK too, two more round
            # trips to the server on every turn; alone, the statement is its own snapshot. Its own pool, always
            # in autocommit: switching a pooled connection there and back costs a SET on every return.
            self.read_engine = create_engine(self.engine.url, isolation_level="AUTOCOMMIT",
                                             **create_engine_kwargs(self.engine.url))
            ping_when_idle(self.read_engine)
        self.read_sessions = sessionmaker(bind=self.read_engine)
        # Grace's broker in the tracker's own database (the scaled profile): its rows join the save's transaction
        broker = self.event_broker
        self.broker_alongside = broker if isinstance(broker, AnalyticsEventBroker) \
            and broker.shares_database_with(self.engine) else None

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        events = await off_loop(self._stored_events, sender_id, fetch_events_from_all_sessions)
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _stored_events(self, sender_id: str, all_sessions: bool) -> list[dict[str, Any]]:
        with self.read_sessions() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions)
            return [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data).all()]

    async def save(self, tracker: DialogueStateTracker) -> None:
        # The events are copied here, on the loop: the tracker is not touched from the pool's thread.
        await off_loop(self._save_new_events, tracker.sender_id, list(tracker.events))

    def _save_new_events(self, sender_id: str, events: list[Event]) -> None:
        """Stores the events of the latest session not stored yet, and publishes them to the broker.

        The tracker holds the latest session only (retrieve), so what is new is what follows the stored
        count: as Rasa's store decides, and what Rasa's broker diff finds."""
        broker, alongside = self.event_broker, self.broker_alongside
        with self.session_scope() as session:
            stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
            new = [event.as_dict() for event in events[stored:]]
            for data in new:
                session.add(self.SQLEvent(
                    sender_id=sender_id, type_name=data.get("event"), timestamp=data.get("timestamp"),
                    intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"), data=json.dumps(data)))
            bodies = [{"sender_id": sender_id, **data} for data in new] if broker is not None else []
            if alongside is not None:
                session.add_all(alongside.rows(bodies))
            session.commit()
        if broker is not None and bodies and alongside is None:
            publish_many = getattr(broker, "publish_many", None)
            if publish_many is not None:
                publish_many(bodies)
            else:
                for body in bodies:
                    broker.publish(body)
