"""Blocking work (files, SQL) off the event loop: one loop serves every conversation."""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


class Gathered(Generic[T, R]):
    """A blocking function of a list, awaited one item at a time: the items that arrive while one call runs
    go together into the next, on a thread of the function's own. No timer: an item that comes alone is
    handled at once; under load many share one thread hop (and, for a store write, one transaction).

    `fn` returns one result per item, in order; if it raises, every item of that call gets the error."""

    def __init__(self, fn: Callable[[list[T]], list[R]], name: str, most: int = 200) -> None:
        self._fn = fn
        self._most = most
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task | None = None

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests start several apps): nothing of the old one carries over
            self._loop, self._waiting, self._drain = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._drain is None:
            self._drain = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
                try:
                    results = await loop.run_in_executor(self._thread, self._fn, [item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 (each caller gets it, as from a call of its own)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # its caller may have gone (the provider hung up)
                        future.set_result(result)
        finally:
            self._drain = None
