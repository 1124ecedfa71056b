"""Rasa's SQL tracker store as Grace runs it on SQLite (grace/rasa_plugins/tracker_store.py): every turn reads and saves
the conversation, on Rasa's event loop, so each must be quick."""
from __future__ import annotations

import asyncio
import json
import threading

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sqlalchemy_event

from grace.rasa_plugins.event_broker import AnalyticsEventBroker
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from tests.helpers import another_turn, connections_opened

SENDER = "akanraby:+2348011111111"


def test_a_conversation_is_kept_turn_by_turn_in_wal_mode_on_pooled_connections(tmp_path) -> None:
    """Rasa's SQLite set-up opens a connection per read and per save, and in WAL mode each close runs a
    checkpoint (`make bench`: REST p50 33 ms so, 25 ms with the connections pooled)."""
    store = GraceSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker.from_events(SENDER, [UserUttered("good morning")])
    asyncio.run(store.save(tracker))
    with connections_opened(store.engine) as opened:
        for customer, grace in [("abeg how much be ankara", "₦4,500 per yard"), ("I go take 6 yards", "Noted!")]:
            tracker = asyncio.run(store.retrieve(SENDER))
            tracker.update(UserUttered(customer))
            tracker.update(BotUttered(grace))
            asyncio.run(store.save(tracker))

    kept = asyncio.run(store.retrieve(SENDER))
    assert [e.text for e in kept.events if isinstance(e, (UserUttered, BotUttered))] == [
        "good morning", "abeg how much be ankara", "₦4,500 per yard", "I go take 6 yards", "Noted!"]
    assert opened == []
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.engine.dispose()


def test_reads_and_saves_run_off_the_event_loop_and_each_turn_reaches_the_broker_once(tmp_path) -> None:
    """One event loop serves every conversation: a conversation's SQL must not hold it (a disk write, a
    PostgreSQL round trip). And the analytics broker gets each turn's new events once, in order."""
    broker = AnalyticsEventBroker(db=str(tmp_path / "events.db"))
    store = GraceSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"),
                                 event_broker=broker)
    threads: set[int] = set()
    sqlalchemy_event.listen(store.engine, "before_cursor_execute",
                            lambda *_: threads.add(threading.get_ident()))

    async def conversation() -> int:
        tracker = DialogueStateTracker.from_events(SENDER, [UserUttered("good morning")])
        await store.save(tracker)
        for customer, grace in [("abeg how much be ankara", "₦4,500 per yard"), ("I go take 6 yards", "Noted!")]:
            tracker = await store.retrieve(SENDER)
            tracker.update(UserUttered(customer))
            tracker.update(BotUttered(grace))
            await store.save(tracker)
        return threading.get_ident()

    loop_thread = asyncio.run(conversation())
    assert threads and loop_thread not in threads

    with broker.session_scope() as session:
        published = [json.loads(row.data) for row in session.query(broker.SQLBrokerEvent).order_by("id")]
    assert [(e["sender_id"], e["event"], e.get("text")) for e in published] == [
        (SENDER, "user", "good morning"),
        (SENDER, "user", "abeg how much be ankara"), (SENDER, "bot", "₦4,500 per yard"),
        (SENDER, "user", "I go take 6 yards"), (SENDER, "bot", "Noted!")]
    store.engine.dispose()
    broker.engine.dispose()


def test_with_the_broker_in_the_trackers_own_database_a_turn_is_one_commit(tmp_path) -> None:
    """The scaled profile keeps both in one PostgreSQL database: a turn's events reach the conversation and
    analytics in one transaction (one disk flush a turn, not two), and analytics still gets each once."""
    database = str(tmp_path / "grace.db")
    broker = AnalyticsEventBroker(db=database)
    store = GraceSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=database, event_broker=broker)
    commits = {"tracker": 0, "broker": 0}
    for name, engine in (("tracker", store.engine), ("broker", broker.engine)):
        sqlalchemy_event.listen(engine, "commit", lambda *_, name=name: commits.__setitem__(name, commits[name] + 1))

    tracker = DialogueStateTracker.from_events(SENDER, [UserUttered("good morning")])
    asyncio.run(store.save(tracker))
    tracker = asyncio.run(store.retrieve(SENDER))
    tracker.update(UserUttered("abeg how much be ankara"))
    tracker.update(BotUttered("₦4,500 per yard"))
    asyncio.run(store.save(tracker))

    assert commits == {"tracker": 2, "broker": 0}
    with broker.session_scope() as session:
        published = [json.loads(row.data) for row in session.query(broker.SQLBrokerEvent).order_by("id")]
    assert [(e["sender_id"], e["event"], e.get("text")) for e in published] == [
        (SENDER, "user", "good morning"), (SENDER, "user", "abeg how much be ankara"),
        (SENDER, "bot", "₦4,500 per yard")]
    store.engine.dispose()
    broker.engine.dispose()


def test_on_postgresql_a_turns_read_is_one_statement_that_leaves_no_transaction_open(pg_url) -> None:
    """Every turn reads the conversation: in a transaction that is BEGIN, the SELECT and ROLLBACK, three round
    trips to the server where one does. The saves still commit together, and the read sees the latest save."""
    import psycopg2.extensions

    database = pg_url.rsplit("/", 1)[1]
    store = GraceSQLTrackerStore(domain=Domain.empty(), dialect="postgresql", host="127.0.0.1", port=5432,
                                 username="postgres", db=database)
    asyncio.run(store.save(DialogueStateTracker.from_events(SENDER, [UserUttered("good morning")])))
    after_select: list[int] = []
    for engine in {store.engine, store.read_engine}:
        sqlalchemy_event.listen(engine, "after_cursor_execute", lambda connection, *_: after_select.append(
            connection.connection.dbapi_connection.get_transaction_status()))

    asyncio.run(store.retrieve(SENDER))

    assert after_select == [psycopg2.extensions.TRANSACTION_STATUS_IDLE]  # not INTRANS: no BEGIN, no ROLLBACK
    assert another_turn(store, SENDER) == ["good morning", "abeg how much be ankara", "₦4,500 per yard"]
    store.engine.dispose()
    store.read_engine.dispose()
