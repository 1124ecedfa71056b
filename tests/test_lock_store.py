"""The conversation lock of the scaled profile, against the real Redis on 127.0.0.1:6379."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig

from grace.rasa_plugins.lock_store import AtomicRedisLockStore

REDIS_DB = 13  # kept apart from anything a running Grace uses (Rasa's default lock db is 1)
ISSUERS = 24
ROUNDS = 5


@pytest.fixture
def key_prefix():
    """A key prefix of this test's own; its keys are removed afterwards. Fails (never skips) when Redis
    is down: CI starts it."""
    prefix = f"gracetest{uuid.uuid4().hex[:8]}"
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.ping()
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def atomic_store(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host="127.0.0.1", port=6379, db=REDIS_DB, key_prefix=prefix)


def stock_store(prefix: str) -> RedisLockStore:
    return RedisLockStore(host="127.0.0.1", port=6379, db=REDIS_DB, key_prefix=prefix)


def issue_all_at_once(make_store, prefix: str, conversation_id: str) -> list[int]:
    """ISSUERS threads, each with a store of its own (as replicas have), ask for a ticket together."""
    stores = [make_store(prefix) for _ in range(ISSUERS)]
    start = threading.Barrier(ISSUERS)
    tickets: list[int] = []

    def issue(store) -> None:
        start.wait()
        tickets.append(store.issue_ticket(conversation_id, 60))

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tickets


def assert_every_ticket_unique_consecutive_and_kept(make_store, prefix: str) -> None:
    for round_number in range(ROUNDS):
        conversation_id = f"akanraby:+23480{round_number}"
        tickets = issue_all_at_once(make_store, prefix, conversation_id)
        assert sorted(tickets) == list(range(ISSUERS)), "two issuers got the same ticket"
        stored = stock_store(prefix).get_lock(conversation_id)
        assert [ticket.number for ticket in stored.tickets] == list(range(ISSUERS)), "a ticket was lost"


def test_concurrent_issuers_get_unique_consecutive_tickets_and_none_is_lost(key_prefix):
    assert_every_ticket_unique_consecutive_and_kept(atomic_store, key_prefix)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="rasa#9213: RedisLockStore issues tickets with GET then SET")
def test_the_stock_redis_lock_store_loses_tickets_under_the_same_load(key_prefix):
    assert_every_ticket_unique_consecutive_and_kept(stock_store, key_prefix)


def test_turns_of_one_conversation_on_two_replicas_never_overlap(key_prefix):
    replicas = [atomic_store(key_prefix), atomic_store(key_prefix)]
    inside: list[int] = []
    overlaps: list[int] = []
    finished: list[int] = []

    async def turn(number: int) -> None:
        async with replicas[number % 2].lock("akanraby:+2348011111111", 30, wait_time_in_seconds=0.01):
            if inside:
                overlaps.append(number)
            inside.append(number)
            await asyncio.sleep(0.005)
            inside.remove(number)
            finished.append(number)

    async def all_turns() -> None:
        await asyncio.gather(*(turn(n) for n in range(12)))

    asyncio.run(all_turns())
    assert sorted(finished) == list(range(12))
    assert overlaps == []
    # Once everyone is served the lock is gone, as with Rasa's store.
    assert replicas[0].get_lock("akanraby:+2348011111111") is None


def test_an_expired_ticket_stops_blocking_the_next_one(key_prefix):
    store = atomic_store(key_prefix)
    first = store.issue_ticket("kentehouse:+233200000000", 0.2)
    second = store.issue_ticket("kentehouse:+233200000000", 60)
    assert (first, second) == (0, 1)
    assert store.get_lock("kentehouse:+233200000000").is_locked(second)
    time.sleep(0.3)  # the first turn's process died: its ticket expires
    assert not store.get_lock("kentehouse:+233200000000").is_locked(second)
    store.cleanup("kentehouse:+233200000000", second)
    assert store.get_lock("kentehouse:+233200000000") is None


def test_finishing_a_ticket_serves_the_next_and_keeps_the_lock_readable_by_rasa(key_prefix):
    store = atomic_store(key_prefix)
    for _ in range(3):
        store.issue_ticket("akanraby:+2348022222222", 60)
    store.finish_serving("akanraby:+2348022222222", 0)
    lock = stock_store(key_prefix).get_lock("akanraby:+2348022222222")
    assert lock.conversation_id == "akanraby:+2348022222222"
    assert [ticket.number for ticket in lock.tickets] == [1, 2]
    assert lock.now_serving == 1


def test_rasa_builds_it_from_endpoints_yml_and_allows_several_workers(key_prefix, monkeypatch):
    for endpoint in (
        EndpointConfig(type="grace.rasa_plugins.lock_store.AtomicRedisLockStore", url="127.0.0.1", port=6379,
                       db=REDIS_DB,
                       key_prefix=key_prefix),
        EndpointConfig(type="grace.rasa_plugins.lock_store.AtomicRedisLockStore", url=f"redis://127.0.0.1:6379/{REDIS_DB}",
                       key_prefix=key_prefix),
    ):
        store = LockStore.create(endpoint)
        assert isinstance(store, AtomicRedisLockStore)
        assert store.red.connection_pool.connection_kwargs["db"] == REDIS_DB
        assert store.issue_ticket("akanraby:+2348033333333", 60) == 0
        store.cleanup("akanraby:+2348033333333", 0)
        monkeypatch.setenv("SANIC_WORKERS", "2")
        assert number_of_sanic_workers(endpoint) == 2
        assert number_of_sanic_workers(store) == 2
