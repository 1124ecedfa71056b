"""An aiohttp session per event loop, shared by the provider clients of one process."""
from __future__ import annotations

import asyncio

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


class LoopSession:
    """aiohttp sessions belong to one event loop; Sanic and the tests each run their own."""

    def __init__(self) -> None:
        self._sessions: dict[int, aiohttp.ClientSession] = {}

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(id(loop))
        if session is None or session.closed:
            session = aiohttp.ClientSession(timeout=TIMEOUT)
            self._sessions[id(loop)] = session
        return session

    async def close(self) -> None:
        loop_id = id(asyncio.get_running_loop())
        session = self._sessions.pop(loop_id, None)
        if session is not None:
            await session.close()
