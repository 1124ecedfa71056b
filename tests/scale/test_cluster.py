"""The scaled profile under load and faults: two Rasa replicas behind the balancer, PostgreSQL and Redis.

The tests run in file order on one cluster: the full load, a PostgreSQL restart, then a replica
killed (the last, since it leaves one replica).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading

import requests

from grace.messaging.inbound import REST_NAMESPACE as REST
from tests.scale.load import FUNNEL, Load
from tests.scale.services import ensure_postgres, restart_postgres

REFERENCE = re.compile(r"\*(AKA-[A-Z0-9]{5})\*")


def senders(prefix: str, count: int) -> list[str]:
    return [f"+234{prefix}{i:06d}" for i in range(count)]


def assert_funnel_answered_in_order(load: Load) -> dict[str, str]:
    """Every turn answered, each conversation's answers in its order; returns each customer's order reference."""
    references = {}
    for sender, turns in load.results.items():
        assert len(turns) == len(FUNNEL), sender
        unanswered = [n for n, turn in enumerate(turns) if turn.status != 200 or not turn.replies]
        assert not unanswered, (sender, [(turns[n].status, turns[n].replies) for n in unanswered])
        assert "AkanrabyAtuche" in turns[0].text
        assert any(m.get("image") for m in turns[2].replies), turns[2].replies
        assert "shall we deliver" in turns[3].text, turns[3].text
        assert "Deposit" in turns[4].text and "Total" in turns[4].text, turns[4].text
        placed = REFERENCE.search(turns[5].text)
        assert placed, (sender, turns[5].text)
        references[sender] = placed.group(1)
        assert "payment proof" in turns[6].text and placed.group(1) in turns[6].text, turns[6].text
    return references


def orders_of(scaled, phones: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Each REST sender's orders in the app store, with the number of payments of each."""
    rows = scaled.sql("SELECT c.phone, o.reference, (SELECT count(*) FROM payments p WHERE p.order_id = o.id) "
                      "FROM customers c JOIN orders o ON o.customer_id = c.id "
                      "WHERE c.tenant_id = 'akanraby' AND c.phone = ANY(:phones) ORDER BY o.id",
                      phones=[REST + phone for phone in phones])
    orders: dict[str, list] = {}
    for phone, reference, payments in rows:
        orders.setdefault(phone.removeprefix(REST), []).append((reference, payments))
    return orders


def assert_no_order_or_payment_lost(scaled, references: dict[str, str]) -> None:
    """The order each customer was told about is stored, with the payment proof they sent."""
    orders = orders_of(scaled, list(references))
    lost = {phone: reference for phone, reference in references.items()
            if (reference, 1) not in orders.get(phone, [])}
    assert not lost, (lost, {phone: orders.get(phone) for phone in lost})


def assert_one_order_and_payment_each(scaled, references: dict[str, str]) -> None:
    """No lost or duplicated order or payment: one of each per conversation, the one the customer was told."""
    assert orders_of(scaled, list(references)) == {phone: [(reference, 1)] for phone, reference in references.items()}


def assert_tracker_complete(scaled, load: Load) -> None:
    """Each conversation's tracker in PostgreSQL holds every user turn exactly once, in the order sent."""
    rows = scaled.sql("SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id LIKE :prefix "
                      "ORDER BY id", prefix=f"akanraby:{REST}{next(iter(load.results))[:7]}%")
    seen: dict[str, list[str]] = {}
    for sender_id, data in rows:
        seen.setdefault(sender_id, []).append(json.loads(data)["metadata"]["message_id"])
    expected = {f"akanraby:{REST}{s}": [f"{s}-{n}" for n in range(len(FUNNEL))] for s in load.results}
    assert seen == expected


def test_200_conversations_across_two_replicas_every_turn_answered_once_in_order(scaled):
    load = Load(scaled.base_url, concurrency=32)
    asyncio.run(load.run(senders("801", 200)))
    assert load.retried == 0  # nothing failed: no turn was sent twice
    references = assert_funnel_answered_in_order(load)
    assert len(set(references.values())) == 200
    assert_one_order_and_payment_each(scaled, references)
    assert_tracker_complete(scaled, load)
    served = requests.get(f"{scaled.base_url}/balancer/health", timeout=5).json()
    assert all(upstream["served"] >= 900 for upstream in served.values()), served  # round robin: ~1,000 each
    logs = [(scaled.var_dir / "logs" / f"rasa-{n}.log").read_text(errors="replace") for n in (1, 2)]
    assert all("Traceback" not in log for log in logs)


def test_postgres_restart_during_load_fails_cleanly_and_recovers(scaled):
    load = Load(scaled.base_url, concurrency=16, turn_deadline_s=60)
    restarted = threading.Event()

    async def load_then_restart() -> None:
        running = asyncio.create_task(load.run(senders("802", 24)))
        while load.done < 40:
            await asyncio.sleep(0.05)
        try:
            await asyncio.to_thread(restart_postgres)
            restarted.set()
        finally:
            ensure_postgres()
        await running

    asyncio.run(load_then_restart())
    assert restarted.is_set()
    for sender, turns in load.results.items():
        # During the restart a turn may get a 5xx with a message or an apology, never silence.
        for turn in turns:
            assert turn.status is not None, sender
            assert turn.replies if turn.status == 200 else turn.status >= 500
    # Nothing half-written: every order whole (lines adding up to it), one per customer at most.
    halves = scaled.sql("SELECT o.reference FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id "
                        "GROUP BY o.id, o.reference, o.subtotal_minor "
                        "HAVING count(l.id) = 0 OR sum(l.line_total_minor) <> o.subtotal_minor")
    assert halves == []
    assert scaled.sql("SELECT c.phone FROM customers c JOIN orders o ON o.customer_id = c.id "
                      f"WHERE c.phone LIKE '{REST}+234802%' GROUP BY c.phone HAVING count(*) > 1") == []
    # Recovered: a new customer goes through the whole funnel on the cluster.
    after = Load(scaled.base_url, concurrency=4)
    asyncio.run(after.run(senders("804", 4)))
    assert_one_order_and_payment_each(scaled, assert_funnel_answered_in_order(after))
    assert_tracker_complete(scaled, after)


def test_a_replica_killed_mid_load_loses_no_turn_order_or_payment(scaled):
    load = Load(scaled.base_url, concurrency=24)
    victim = scaled.cluster.replicas[0].rasa

    async def load_then_kill() -> None:
        running = asyncio.create_task(load.run(senders("803", 32)))
        while load.done < 80:
            await asyncio.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)
        await running

    asyncio.run(load_then_kill())
    victim.wait(timeout=10)
    scaled.killed_load = load
    assert load.retried > 0  # the killed replica's turns in flight were sent again
    references = assert_funnel_answered_in_order(load)
    assert_no_order_or_payment_lost(scaled, references)
    assert_tracker_complete(scaled, load)


def test_a_replica_killed_mid_load_duplicates_no_order(scaled):
    load = scaled.killed_load
    references = {sender: REFERENCE.search(turns[5].text).group(1) for sender, turns in load.results.items()}
    assert_one_order_and_payment_each(scaled, references)
