"""Message-id dedupe and the durable inbox (grace/messaging/inbox.py), in SQL and, with REDIS_URL, in the real Redis
on 127.0.0.1:6379: a message is handled once, and one acknowledged but unfinished is replayed exactly once."""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import redis

from grace.messaging.inbox import (
    claim_unfinished,
    dedupe_database_url,
    finish_turn,
    first_delivery,
    pending_since,
    take_over,
)
from grace.store import get_engine
from tests.helpers import connections_opened, free_port

REDIS_DB = 12  # apart from Rasa's lock db (1), the scale tests' (8-11) and the lock store tests' (13)
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
BACKENDS = ["sql", "redis"]
RACERS = 24


def use_backend(name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis | None]:
    """The inbox in SQL (REDIS_URL unset) or in Redis db 12, whose `grace:` keys are removed before and
    after. Fails (never skips) when Redis is down: CI starts it."""
    if name == "sql":
        monkeypatch.delenv("REDIS_URL", raising=False)
        yield None
        return
    client = redis.Redis.from_url(REDIS_TEST_URL, decode_responses=True)
    client.ping()

    def forget() -> None:
        for key in client.scan_iter("grace:*"):
            client.delete(key)

    forget()
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setenv("GRACE_REDIS_BREAK_S", "0")  # each test sees Redis as it is (the breaker has its own test)
    try:
        yield client
    finally:
        forget()
        client.close()


@pytest.fixture(params=BACKENDS)
def inbox(request, grace_env, monkeypatch) -> Iterator[redis.Redis | None]:
    yield from use_backend(request.param, monkeypatch)


@pytest.fixture
def redis_inbox(grace_env, monkeypatch) -> Iterator[redis.Redis]:
    yield from use_backend("redis", monkeypatch)


def all_at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def payload(message_id: str) -> dict:
    return {"tenant": "akanraby", "customer": "+2348100000001", "text": "hello", "message_id": message_id}


def test_a_redelivered_message_is_not_first_but_the_same_id_elsewhere_is(inbox):
    assert first_delivery("akanraby", "whatsapp", "SM1")
    assert not first_delivery("akanraby", "whatsapp", "SM1")
    assert first_delivery("kentehouse", "whatsapp", "SM1")  # another business
    assert first_delivery("akanraby", "meta_whatsapp", "SM1")  # another channel


def test_an_acknowledged_turn_is_kept_until_it_is_done(inbox):
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    assert first_delivery("akanraby", "whatsapp", "SM2", payload("SM2"))
    finish_turn("whatsapp", "SM2")
    assert claim_unfinished("whatsapp", timedelta(minutes=1)) == []  # too young: its process may be working
    time.sleep(0.01)
    assert claim_unfinished("whatsapp", timedelta(0)) == [payload("SM1")]
    assert claim_unfinished("whatsapp", timedelta(0)) == []  # claimed: nobody replays it again
    assert not first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))  # still known after its replay


def test_an_unfinished_turn_is_replayed_on_its_own_channel_only(inbox):
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    time.sleep(0.01)
    assert claim_unfinished("meta_whatsapp", timedelta(0)) == []
    assert claim_unfinished("whatsapp", timedelta(0)) == [payload("SM1")]


def test_a_pending_id_in_use_refuses_the_second_message(inbox):
    # WhatsApp ids are the provider's, unique across businesses: a clash is a forgery or a bug, never replayed twice.
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    assert not first_delivery("kentehouse", "whatsapp", "SM1", payload("SM1"))
    time.sleep(0.01)
    assert claim_unfinished("whatsapp", timedelta(0)) == [payload("SM1")]


@pytest.mark.parametrize("kept", [True, False], ids=["with-turn", "id-only"])
def test_many_deliveries_of_one_message_at_once_make_one_first(inbox, kept):
    pending = payload("SM1") if kept else None
    results = all_at_once([lambda: first_delivery("akanraby", "whatsapp", "SM1", pending)] * RACERS)
    assert results.count(True) == 1


def test_two_processes_replaying_at_once_replay_each_turn_once(inbox):
    ids = [f"SM{n}" for n in range(40)]
    for message_id in ids:
        assert first_delivery("akanraby", "whatsapp", message_id, payload(message_id))
    time.sleep(0.01)
    first, second = all_at_once([lambda: claim_unfinished("whatsapp", timedelta(0))] * 2)
    replayed = [p["message_id"] for p in first + second]
    assert sorted(replayed) == sorted(ids)


def test_two_retries_taking_over_one_lost_turn_at_once_make_one_owner(inbox):
    assert first_delivery("akanraby", "rest", "m-1", {"conversation": "akanraby:+1"}, pending_id="akanraby/m-1")
    seen = pending_since("rest", "akanraby/m-1")
    results = all_at_once([lambda: take_over("rest", "akanraby/m-1", seen)] * RACERS)
    assert results.count(True) == 1


def test_nothing_is_kept_in_redis_for_ever(redis_inbox):
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    assert first_delivery("akanraby", "whatsapp", "SM2")
    week = timedelta(days=7).total_seconds()
    keys = [key for key in redis_inbox.scan_iter("grace:*") if "pending-by-age" not in key]
    assert len(keys) == 3  # two ids seen, one turn pending
    assert all(week - 60 < redis_inbox.ttl(key) <= week for key in keys)


def test_a_turn_that_expired_unfinished_is_neither_replayed_nor_listed(redis_inbox):
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    [pending_key] = redis_inbox.scan_iter("grace:pending:*")
    redis_inbox.delete(pending_key)  # what its expiry does
    time.sleep(0.01)
    assert claim_unfinished("whatsapp", timedelta(0)) == []
    assert redis_inbox.zcard("grace:pending-by-age:whatsapp") == 0
    assert pending_since("whatsapp", "SM1") is None


def test_with_redis_down_messages_are_kept_in_sql_and_replayed_once_it_is_back(redis_inbox, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/{REDIS_DB}")  # nothing listens there
    caplog.set_level(logging.ERROR, logger="grace.messaging.inbox")
    assert first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))
    assert not first_delivery("akanraby", "whatsapp", "SM1", payload("SM1"))  # the retry during the outage
    assert first_delivery("akanraby", "whatsapp", "SM2", payload("SM2"))
    finish_turn("whatsapp", "SM2")
    assert "recorded in SQL instead" in caplog.text
    time.sleep(0.01)
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)  # Redis is back; the process with SM1 died
    assert claim_unfinished("whatsapp", timedelta(0)) == [payload("SM1")]
    assert claim_unfinished("whatsapp", timedelta(0)) == []


def test_with_redis_down_a_lost_rest_turn_is_still_taken_over_once(redis_inbox, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/{REDIS_DB}")
    assert first_delivery("akanraby", "rest", "m-1", {"conversation": "akanraby:+1"}, pending_id="akanraby/m-1")
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)  # back for the sender's retry, on another replica
    seen = pending_since("rest", "akanraby/m-1")
    assert seen is not None
    assert take_over("rest", "akanraby/m-1", seen)
    assert not take_over("rest", "akanraby/m-1", seen)
    finish_turn("rest", "akanraby/m-1")
    assert pending_since("rest", "akanraby/m-1") is None


def test_the_sql_inbox_keeps_its_connection_between_webhooks(grace_env, monkeypatch) -> None:
    """Every ack records its message first. A connection opened per write (SQLAlchemy 1.4's default for
    SQLite files) paid the pragmas and, on close, a WAL checkpoint on each ack: `make bench` measured
    ack p99 36-216 ms with 50 conversations against 10-28 ms with the connection kept."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert first_delivery("akanraby", "whatsapp", "SM-first", payload("SM-first"))
    engine, _ = get_engine(dedupe_database_url())
    with connections_opened(engine) as opened:
        for number in range(20):
            assert first_delivery("akanraby", "whatsapp", f"SM{number}", payload(f"SM{number}"))
            finish_turn("whatsapp", f"SM{number}")
    assert opened == []
    assert claim_unfinished("whatsapp", timedelta(seconds=-1)) == [payload("SM-first")]


def test_a_redis_that_hangs_is_left_alone_for_a_while_instead_of_costing_every_webhook(redis_inbox, monkeypatch):
    """Redis accepts the connection and never answers: the first call waits for its timeout and records the
    message in SQL; the calls after it go straight to SQL (no new connection to the silent Redis)."""
    connections: list[socket.socket] = []
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    accepting = threading.Event()

    def accept_and_say_nothing() -> None:
        silent.settimeout(0.2)
        while not accepting.is_set():
            try:
                connections.append(silent.accept()[0])
            except OSError:
                continue

    listener = threading.Thread(target=accept_and_say_nothing, daemon=True)
    listener.start()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/{REDIS_DB}")
    try:
        assert first_delivery("akanraby", "whatsapp", "SMh1", payload("SMh1"))  # waits, then SQL
        opened = len(connections)
        monkeypatch.setenv("GRACE_REDIS_BREAK_S", "60")  # the breaker (30 s by default) is open from that failure
        for n in range(2, 7):
            assert first_delivery("akanraby", "whatsapp", f"SMh{n}", payload(f"SMh{n}"))
        assert not first_delivery("akanraby", "whatsapp", "SMh3", payload("SMh3"))  # still deduplicated, in SQL
        assert opened >= 1 and len(connections) == opened  # the breaker kept the others off the silent Redis
    finally:
        accepting.set()
        listener.join(timeout=5)
        for connection in connections:
            connection.close()
        silent.close()
        monkeypatch.setenv("GRACE_REDIS_BREAK_S", "0")
        redis_failed_recovered()


def redis_failed_recovered() -> None:
    """The breaker opened for the silent Redis closes for the next tests (a break of 0 s)."""
    from grace.messaging.inbox import redis_up

    assert redis_up()
