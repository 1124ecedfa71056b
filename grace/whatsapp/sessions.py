"""An aiohttp session per event loop, shared by the provider clients of one process."""
from __future__ import annotations

import asyncio

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


class LoopSession:
    """aiohttp sessions belong to one event loop; Sanic and the tests each run their own."""

    def __init__(self) -> None:
        self._sessions: dict[int, tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        # ids of closed loops are reused: forget sessions whose loop is gone
        for key, (key_loop, _) in list(self._sessions.items()):
            if key_loop.is_closed():
                del self._sessions[key]
        owner, session = self._sessions.get(id(loop), (None, None))
        if owner is not loop or session is None or session.closed:
            session = aiohttp.ClientSession(timeout=TIMEOUT)
            self._sessions[id(loop)] = (loop, session)
        return session

    async def close(self) -> None:
        _, session = self._sessions.pop(id(asyncio.get_running_loop()), (None, None))
        if session is not None:
            await session.close()
