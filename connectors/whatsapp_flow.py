"""What the WhatsApp channels (Twilio, Meta) share once a webhook has been parsed.

A provider turns its webhook into an IncomingWhatsApp and knows how to fetch
media and send messages; everything else is here, once: media is kept by Grace,
a bare number answers the last numbered choice, the turn runs through the same
path as REST, and the replies go out in order. Also the base of both input
channels and the output channel for messages Grace writes first.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import OnNewMessage, SerialTasks, add_turn_route, run_turn
from grace.concurrency import off_loop
from grace.dedupe import claim_unfinished, finish_turn, first_delivery
from grace.errors import GraceError
from grace.inbound import Inbound, conversation_id, split_conversation_id
from grace.media import MediaRejected, save_media
from grace.messages import Messages
from grace.ops import answer_ops, is_ops_number
from grace.tenants import Tenant, get_registry
from grace.whatsapp.choices import resolve_choice
from grace.whatsapp.contacts import is_stop_request, record_inbound
from grace.whatsapp.delivery import record_undelivered, send_proactive, send_replies
from grace.whatsapp.http import ProviderError
from grace.whatsapp.provider import MediaRef, Provider

log = logging.getLogger("grace.channels.whatsapp")
T = TypeVar("T")
# Older than this, an unfinished turn belongs to a dead process (a live one answers in seconds).
RECOVER_AFTER = timedelta(seconds=int(os.environ.get("GRACE_REPLAY_AFTER_S", "60")))


@dataclass
class IncomingWhatsApp:
    tenant: Tenant
    business_number: str  # the tenant's number the customer wrote to (replies go out from it)
    customer: str  # E.164, "+234..."
    text: str
    message_id: str
    customer_name: str | None = None
    media: list[MediaRef] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        return conversation_id(self.tenant.id, self.customer)

    def as_payload(self) -> dict:
        return {"tenant": self.tenant.id, "business_number": self.business_number, "customer": self.customer,
                "text": self.text, "message_id": self.message_id, "customer_name": self.customer_name,
                "media": [[m.ref, m.content_type] for m in self.media]}

    @classmethod
    def from_payload(cls, payload: dict) -> IncomingWhatsApp:
        return cls(tenant=get_registry().get(payload["tenant"]), business_number=payload["business_number"],
                   customer=payload["customer"], text=payload["text"], message_id=payload["message_id"],
                   customer_name=payload.get("customer_name"),
                   media=[MediaRef(ref, content_type) for ref, content_type in payload.get("media") or []])


def claim(message: IncomingWhatsApp, channel: str) -> Inbound:
    """The message as an Inbound (media not fetched yet)."""
    return Inbound(tenant_id=message.tenant.id, customer=message.customer, text=message.text,
                   customer_name=message.customer_name, message_id=message.message_id, channel=channel)


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
                                                                      inbound.message_id, message.as_payload()):
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


class Inbox:
    """Admitted messages become background turns: in order per conversation, and at most a few
    turns at a time, so the event loop stays free to acknowledge webhooks at once."""

    def __init__(self) -> None:
        self.tasks = SerialTasks()
        self._slots: asyncio.Semaphore | None = None

    def start(self, provider: Provider, admitted: list[tuple[IncomingWhatsApp, Inbound]],
              on_new_message: OnNewMessage) -> None:
        for message, inbound in admitted:
            self.tasks.submit(message.conversation_id,
                              functools.partial(handle, provider, message, inbound, on_new_message, self.slots))

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(int(os.environ.get("GRACE_MAX_CONCURRENT_TURNS", "2")))
        return self._slots


async def handle(provider: Provider, message: IncomingWhatsApp, inbound: Inbound,
                 on_new_message: OnNewMessage, slots: asyncio.Semaphore) -> None:
    """Run one customer message and send Grace's answer (background work, after the ack)."""
    try:
        await answer(provider, message, inbound, on_new_message, slots)
    finally:  # done, or failed by a bug that a replay would only repeat: either way not pending
        # On the admission thread too: the inbox's only writer, so an ack never waits on SQLite's lock.
        await admit_off_loop(finish_turn, provider.channel, message.message_id)


async def answer(provider: Provider, message: IncomingWhatsApp, inbound: Inbound,
                 on_new_message: OnNewMessage, slots: asyncio.Semaphore) -> None:
    tenant, text = message.tenant, inbound.text.strip()
    say = Messages(tenant)
    if is_ops_number(tenant, message.customer):  # ops talk in commands, never to the sales funnel
        await off_loop(record_inbound, tenant.id, message.customer, provider.channel)
        result = await off_loop(answer_ops, tenant, message.customer, text)
        await send_replies(provider, tenant, message.business_number, message.customer, [{"text": result}])
        return
    stop = is_stop_request(text) and not message.media
    await off_loop(record_inbound, tenant.id, message.customer, provider.channel, stop=stop)
    if stop:
        await send_replies(provider, tenant, message.business_number, message.customer, [{"text": say("opted_out")}])
        return
    notes: list[dict] = []
    for media in message.media:
        stored, problem = await keep_media(provider, tenant, media)
        if stored:
            inbound.media.append(stored)
        else:
            notes.append({"text": say(problem)})
    if notes and not inbound.media and not text:
        replies = notes  # nothing usable came: say why, and don't run an empty turn
    else:
        if not inbound.media and inbound.text:
            inbound.text = await off_loop(resolve_choice, tenant.id, message.conversation_id, inbound.text)
        async with slots:  # Rasa's turn is CPU work on the event loop
            replies = notes + await run_turn(inbound, tenant, on_new_message, provider.channel)
    await send_replies(provider, tenant, message.business_number, message.customer, replies)


async def keep_media(provider: Provider, tenant: Tenant, media: MediaRef) -> tuple[dict | None, str]:
    """(stored media entry, "") or (None, messages key saying why it was not kept)."""
    try:
        data, content_type = await provider.fetch_media(media)
    except ProviderError as exc:
        log.warning("media %s for %s could not be fetched: %s", media.ref, tenant.id, exc)
        return None, "media_download_failed"
    try:  # the type the sender declared, else the one the download reported
        stored = await off_loop(save_media, tenant.id, data, media.content_type or content_type)
    except MediaRejected as exc:
        log.info("media rejected for %s: %s", tenant.id, exc)
        return None, exc.reason
    return stored.as_inbound(source_url=media.ref), ""


class WhatsAppOutput(OutputChannel):
    """Messages Grace writes first in a conversation (ops' verdict through trigger_intent), sent
    under WhatsApp's 24-hour rule; what cannot be sent is recorded for ops."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name

    def name(self) -> str:  # Rasa calls it on instances
        return self.channel_name

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        tenant_id, customer = split_conversation_id(recipient_id)
        tenant = await off_loop(get_registry().get, tenant_id)
        reply = {key: message[key] for key in ("text", "image", "buttons") if message.get(key)}
        if not reply:
            return
        outcome = await send_proactive(tenant, customer, [reply], "order_update", [reply.get("text", "")[:900]],
                                       channel=self.channel_name)
        if outcome.status != "sent":
            log.warning("proactive message to %s not sent: %s", recipient_id, outcome.detail)
            await off_loop(record_undelivered, tenant.id, recipient_id, self.channel_name, [reply], outcome.detail)


class WhatsAppInput(InputChannel):
    """What the WhatsApp input channels share: the inbox of background turns, the provider (from the
    environment, on first use), proactive output, and the health and /turn routes."""

    missing_config = ""

    def __init__(self, turn_route: bool = True) -> None:
        self.inbox = Inbox()
        self.turn_route = turn_route  # inside Rasa: the gateway hands turns over through it
        self._provider: Provider | None = None

    def make_provider(self) -> Provider | None:
        raise NotImplementedError

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = self.make_provider()
            if self._provider is None:
                raise ProviderError(0, f"{self.missing_config} not set")
        return self._provider

    def get_output_channel(self) -> OutputChannel | None:
        return WhatsAppOutput(self.name())

    def shared_routes(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint(f"grace_{self.name()}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        if self.turn_route:
            add_turn_route(hook, on_new_message, self.name())

        @hook.listener("after_server_start")
        async def replay_unfinished(_app: object, _loop: object) -> None:
            asyncio.get_running_loop().create_task(self.replay(on_new_message))

        return hook

    async def replay(self, on_new_message: OnNewMessage) -> None:
        """At start: answer what a crashed process acknowledged but never answered."""
        try:
            recovered = await off_loop(unfinished, self.name())
            if recovered:
                log.warning("replaying %d unfinished %s message(s)", len(recovered), self.name())
                self.inbox.start(self.provider, recovered, on_new_message)
        except Exception:  # recovery must never stop the server from serving
            log.exception("replaying unfinished %s messages failed", self.name())
