"""A bounded asyncio load of scripted REST conversations, as a sender that retries does.

Each conversation sends its turns one after another (a customer waits for the answer); up to
`concurrency` conversations run at once. A turn carries a message_id, and on 502/503, a dropped
connection or a timeout the sender sends it again with the same id, as WhatsApp providers do.
Used by tests/scale (what was answered) and tests/bench/per_core.py (how fast).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

PROOF = [{"url": "https://example.test/proof.jpg", "content_type": "image/jpeg"}]
# A deterministic funnel: greet, browse, pick with a quantity, confirm, send the proof, then chat.
# Each marker is in the reply only if the turns before it were answered in order.
FUNNEL: list[tuple[str, list | None]] = [
    ("good morning", None),
    ("abeg I wan buy material for my shop", None),
    ("show me red ankara with flowers", None),
    ("number 1, 12 yards", None),
    ("I will pick it up at your shop", None),
    ("yes", None),
    ("", PROOF),
    ("how long does delivery take", None),
    ("thank you", None),
    ("do you have kente", None),
    ("bye", None),
]
RETRY_STATUSES = {502, 503, 504}


@dataclass
class TurnResult:
    status: int | None  # None: never answered before the deadline
    replies: list[dict]
    latency: float  # from the first attempt to the answer, retries included
    attempts: int

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.replies)


@dataclass
class Load:
    base_url: str
    tenant: str = "akanraby"
    concurrency: int = 32
    retry: bool = True
    turn_deadline_s: float = 150.0
    attempt_timeout_s: float = 30.0  # then the sender gives up on that delivery and retries (Twilio waits 15 s)
    done: int = 0  # turns answered so far, for a test that acts in the middle of the load
    retried: int = 0
    results: dict[str, list[TurnResult]] = field(default_factory=dict)

    async def send(self, session: aiohttp.ClientSession, sender: str, text: str, media: list | None,
                   message_id: str) -> TurnResult:
        body = {"sender": sender, "message": text, "metadata": {"tenant": self.tenant, "message_id": message_id}}
        if media:
            body["metadata"]["media"] = media
        started, attempts = time.monotonic(), 0
        while True:
            attempts += 1
            try:
                async with session.post(f"{self.base_url}/webhooks/rest/webhook", json=body) as answer:
                    status = answer.status
                    replies = await answer.json(content_type=None) if status == 200 else []
                    if not (self.retry and status in RETRY_STATUSES):
                        return TurnResult(status, replies, time.monotonic() - started, attempts)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                if not self.retry:
                    return TurnResult(None, [], time.monotonic() - started, attempts)
            if time.monotonic() - started > self.turn_deadline_s:
                return TurnResult(None, [], time.monotonic() - started, attempts)
            self.retried += 1
            await asyncio.sleep(0.5)

    async def conversation(self, session: aiohttp.ClientSession, sender: str,
                           script: list[tuple[str, list | None]]) -> None:
        results = self.results.setdefault(sender, [])
        for n, (text, media) in enumerate(script):
            results.append(await self.send(session, sender, text, media, f"{sender}-{n}"))
            self.done += 1

    async def run(self, senders: list[str], script: list[tuple[str, list | None]] = FUNNEL) -> float:
        """Every conversation to its end; returns the wall time in seconds."""
        gate = asyncio.Semaphore(self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.attempt_timeout_s)

        async def one(session: aiohttp.ClientSession, sender: str) -> None:
            async with gate:
                await self.conversation(session, sender, script)

        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(one(session, sender) for sender in senders))
        return time.monotonic() - started

    def latencies(self) -> list[float]:
        return [turn.latency for turns in self.results.values() for turn in turns]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
