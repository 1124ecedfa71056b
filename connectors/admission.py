"""WhatsApp webhooks admitted into the durable inbox, then answered in the background.

The webhook records the message id (a redelivery, even after a restart, is dropped) and acks at
once; the turn runs afterwards, in order per conversation. At start, what a dead process
acknowledged but never answered is replayed.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from connectors.turns import OnNewMessage
from connectors.whatsapp import IncomingWhatsApp, answer, claim
from grace.errors import GraceError
from grace.messaging.inbound import Inbound
from grace.messaging.inbox import claim_unfinished, finish_turn, first_delivery
from grace.whatsapp.provider import Provider

log = logging.getLogger("grace.channels.whatsapp")
T = TypeVar("T")
# Older than this, an unfinished turn belongs to a dead process (a live one answers in seconds).
RECOVER_AFTER = timedelta(seconds=int(os.environ.get("GRACE_REPLAY_AFTER_S", "60")))


# Webhooks are admitted on a thread of their own, never queued behind the background turns' store
# work; one thread, because concurrent SQLite writers wait on the busy handler's coarse sleeps
# (measured: ack p99 +20-60 ms with four), while one writer records an id in well under a millisecond.
# Finished turns are crossed off the inbox on the same thread, for the same reason.
ADMISSION = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grace-admit")


async def admit_off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(ADMISSION, fn, *args)


def admit(messages: list[IncomingWhatsApp], channel: str) -> list[tuple[IncomingWhatsApp, Inbound]]:
    """The messages not seen before, each claimed in the store so that a redelivery, even after a
    restart, is dropped (blocking: the webhook calls it in one hop off the loop, then acks)."""
    fresh = []
    for message in messages:
        inbound = claim(message, channel)
        if message.customer and message.message_id and first_delivery(inbound.tenant_id, channel,
                                                                      message.message_id, message.as_payload()):
            fresh.append((message, inbound))
    return fresh


def unfinished(channel: str) -> list[tuple[IncomingWhatsApp, Inbound]]:
    """Messages acknowledged by a process that died before answering them (blocking)."""
    recovered = []
    for payload in claim_unfinished(channel, RECOVER_AFTER):
        try:
            message = IncomingWhatsApp.from_payload(payload)
        except GraceError as exc:
            log.error("cannot replay %s on %s: %s", payload.get("message_id"), channel, exc)
            continue
        recovered.append((message, claim(message, channel)))
    return recovered


# How an admitted message gets its answer: inside Rasa, `answer` here; in the webhook gateway, handed over
# to Rasa (connectors.gateway.hand_over_to_rasa).
Respond = Callable[[Provider, IncomingWhatsApp, Inbound], Awaitable[None]]


class Inbox:
    """Admitted messages become background answers: in order per conversation, at most a few turns at a
    time (inside Rasa, where they are computed), so the event loop stays free to acknowledge webhooks."""

    def __init__(self) -> None:
        self.tasks = SerialTasks()
        self._slots: asyncio.Semaphore | None = None

    def start(self, provider: Provider, admitted: list[tuple[IncomingWhatsApp, Inbound]], respond: Respond) -> None:
        for message, inbound in admitted:
            self.tasks.submit(message.conversation_id, functools.partial(handle, provider, message, inbound, respond))

    def answer_here(self, on_new_message: OnNewMessage) -> Respond:
        """Answer in this process, the turn through `on_new_message` (Rasa's)."""
        async def respond(provider: Provider, message: IncomingWhatsApp, inbound: Inbound) -> None:
            await answer(provider, message, inbound, on_new_message, self.slots)
        return respond

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(int(os.environ.get("GRACE_MAX_CONCURRENT_TURNS", "2")))
        return self._slots


async def handle(provider: Provider, message: IncomingWhatsApp, inbound: Inbound, respond: Respond) -> None:
    """Answer one customer message (background work, after the ack), then cross it off the inbox."""
    try:
        await respond(provider, message, inbound)
    finally:  # done, or failed by a bug that a replay would only repeat: either way not pending
        # On the admission thread too: the inbox's only writer, so an ack never waits on SQLite's lock.
        await admit_off_loop(finish_turn, provider.channel, message.message_id)


class SerialTasks:
    """Background work run one at a time per key (a conversation), in arrival order.

    Webhooks are acknowledged at once and their turns run here; two quick
    messages from one customer must still be answered in the order sent.
    """

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task] = {}
        self._running: set[asyncio.Task] = set()

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task:
        previous = self._tails.get(key)
        task = asyncio.get_running_loop().create_task(self._after(previous, work))
        self._tails[key] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    async def _after(self, previous: asyncio.Task | None, work: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its failure is its own; ours still runs
        try:
            await work()
        except Exception:
            log.exception("background turn failed")

    def _finished(self, key: str, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]
