"""Blocking work gathered from the event loop (grace.concurrency.Gathered): what arrives while one call runs
goes into the next call together, each caller gets its own result, and a failure reaches every caller of
that call only."""
from __future__ import annotations

import asyncio
import threading

import pytest

from grace.concurrency import Gathered


def test_items_that_arrive_while_a_call_runs_share_the_next_call():
    calls: list[list[int]] = []
    first_running, let_first_finish = threading.Event(), threading.Event()

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        if len(calls) == 1:
            first_running.set()
            let_first_finish.wait(10)
        return [item * 2 for item in items]

    async def scenario() -> list[int]:
        gathered = Gathered(double, "test-gathered")
        first = asyncio.ensure_future(gathered(1))
        while not first_running.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(gathered(n)) for n in (2, 3, 4)]
        await asyncio.sleep(0)  # they are all waiting now
        let_first_finish.set()
        return list(await asyncio.gather(first, *rest))

    assert asyncio.run(scenario()) == [2, 4, 6, 8]
    assert calls == [[1], [2, 3, 4]]


def test_a_failed_call_fails_its_callers_and_the_next_call_still_runs():
    def fragile(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("the store refused")
        return [item.upper() for item in items]

    async def scenario() -> str:
        gathered = Gathered(fragile, "test-gathered")
        with pytest.raises(ValueError, match="the store refused"):
            await gathered("bad")
        return await gathered("good")

    assert asyncio.run(scenario()) == "GOOD"


def test_a_new_event_loop_starts_afresh():
    gathered = Gathered(lambda items: items, "test-gathered")
    assert asyncio.run(gathered("first loop")) == "first loop"
    assert asyncio.run(gathered("second loop")) == "second loop"
