"""Pooled PostgreSQL connections after the server closed them (a restart, a failover, a proxy's idle timeout):
Grace's store, Rasa's tracker store and the analytics broker ask an idle connection whether it is alive before
using it (grace/store/db.py ping_when_idle), and never ask one in steady use (a round trip per unit of work)."""
from __future__ import annotations

import asyncio
import time

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from grace.rasa_plugins.event_broker import AnalyticsEventBroker
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.store import db
from tests.conftest import PG_ADMIN_URL
from tests.helpers import another_turn

SENDER = "akanraby:+2348011111111"


def close_connections_to(database: str) -> None:
    """What a server restart does to a database's connections, seen from the pool: each is closed, and the
    pool only finds out when it next uses one."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})
            deadline = time.monotonic() + 30
            while connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                                     {"name": database}).scalar():
                assert time.monotonic() < deadline, "the server did not close the connections"
                time.sleep(0.05)
    finally:
        admin.dispose()


def backend_of(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_closed_while_idle_is_replaced_before_anyone_uses_it(pg_url, monkeypatch):
    engine = db.make_engine(pg_url)
    first = backend_of(engine)
    close_connections_to(pg_url.rsplit("/", 1)[1])
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every checked-in connection counts as idle from now on
    assert backend_of(engine) != first  # no error: the closed connection was found and replaced
    engine.dispose()


def test_a_connection_closed_in_steady_use_fails_one_unit_of_work_then_the_pool_recovers(pg_url):
    engine = db.make_engine(pg_url)
    first = backend_of(engine)
    close_connections_to(pg_url.rsplit("/", 1)[1])
    with pytest.raises(OperationalError):  # used a moment ago: not asked (no round trip per unit of work)
        backend_of(engine)
    assert backend_of(engine) != first
    engine.dispose()


def test_rasa_tracker_store_and_broker_answer_after_the_server_closed_their_idle_connections(pg_url, monkeypatch):
    database = pg_url.rsplit("/", 1)[1]
    where = dict(dialect="postgresql", host="127.0.0.1", port=5432, username="postgres", db=database)
    broker = AnalyticsEventBroker(**where)
    store = GraceSQLTrackerStore(domain=Domain.empty(), event_broker=broker, **where)
    asyncio.run(store.save(DialogueStateTracker.from_events(SENDER, [UserUttered("good morning")])))
    close_connections_to(database)
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)

    assert another_turn(store, SENDER) == ["good morning", "abeg how much be ankara", "₦4,500 per yard"]
    with broker.session_scope() as session:
        assert session.query(broker.SQLBrokerEvent).count() == 3
    store.engine.dispose()
    store.read_engine.dispose()
    broker.engine.dispose()
