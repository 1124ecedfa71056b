"""What the WhatsApp channels (Twilio, Meta) share once a webhook has been parsed.

A provider turns its webhook into an IncomingWhatsApp and knows how to fetch
media and send messages; everything else is here, once: media is kept by Grace,
a bare number answers the last numbered choice, the turn runs through the same
path as REST, and the replies go out in order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from connectors.common import OnNewMessage, is_first_delivery, off_loop, run_turn
from grace.inbound import Inbound
from grace.media import MediaRejected, save_media
from grace.messages import Messages
from grace.notifier import notify_customer
from grace.store import session_scope
from grace.tenants import Tenant
from grace.whatsapp.choices import remember_choices, resolve_choice
from grace.whatsapp.http import ProviderError

log = logging.getLogger("grace.channels.whatsapp")


@dataclass
class MediaRef:
    """A file as the provider names it (Twilio: a URL; Meta: a media id)."""

    ref: str
    content_type: str


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
        return f"{self.tenant.id}:{self.customer}"


class Provider(Protocol):
    channel: str

    async def fetch_media(self, media: MediaRef) -> tuple[bytes, str]: ...

    async def deliver(self, tenant: Tenant, business_number: str, customer: str, replies: list[dict]) -> None:
        """Send the replies in order; ProviderError when one could not be sent."""


def claim(message: IncomingWhatsApp, channel: str) -> Inbound:
    """The message as an Inbound (media not fetched yet)."""
    return Inbound(tenant_id=message.tenant.id, customer=message.customer, text=message.text,
                   customer_name=message.customer_name, message_id=message.message_id, channel=channel)


async def accept(provider: Provider, message: IncomingWhatsApp) -> Inbound | None:
    """The message as an Inbound if it is new; None for a redelivery (already handled)."""
    inbound = claim(message, provider.channel)
    return inbound if await is_first_delivery(inbound) else None


async def handle(provider: Provider, message: IncomingWhatsApp, inbound: Inbound,
                 on_new_message: OnNewMessage) -> None:
    """Run one customer message and send Grace's answer (background work, after the ack)."""
    say = Messages(message.tenant)
    notes: list[dict] = []
    for media in message.media:
        stored, problem = await keep_media(provider, message.tenant, media)
        if stored:
            inbound.media.append(stored)
        else:
            notes.append({"text": say(problem)})
    if notes and not inbound.media and not inbound.text.strip():
        replies = notes  # nothing usable came: say why, and don't run an empty turn
    else:
        if not inbound.media and inbound.text:
            inbound.text = await off_loop(resolve_choice, message.tenant.id, message.conversation_id, inbound.text)
        replies = notes + await run_turn(inbound, message.tenant, on_new_message, provider.channel)
    await send_replies(provider, message.tenant, message.business_number, message.customer, replies)


async def keep_media(provider: Provider, tenant: Tenant, media: MediaRef) -> tuple[dict | None, str]:
    """(stored media entry, "") or (None, messages key saying why it was not kept)."""
    try:
        data, content_type = await provider.fetch_media(media)
    except ProviderError as exc:
        log.warning("media %s for %s could not be fetched: %s", media.ref, tenant.id, exc)
        return None, "media_download_failed"
    declared = media.content_type or content_type
    try:
        stored = await off_loop(save_media, tenant.id, data, declared or content_type)
    except MediaRejected as exc:
        log.info("media rejected for %s: %s", tenant.id, exc)
        return None, exc.reason
    return stored.as_inbound(source_url=media.ref), ""


async def send_replies(provider: Provider, tenant: Tenant, business_number: str, customer: str,
                       replies: list[dict]) -> bool:
    """Deliver a turn's replies in order; a failure is recorded in the outbox, never dropped."""
    conversation_id = f"{tenant.id}:{customer}"
    try:
        await provider.deliver(tenant, business_number, customer, replies)
    except ProviderError as exc:
        log.error("could not deliver a reply to %s over %s: %s", conversation_id, provider.channel, exc)
        await off_loop(_record_undelivered, tenant.id, conversation_id, provider.channel, replies, str(exc))
        return False
    last_buttons = next((r.get("buttons") for r in reversed(replies) if r.get("buttons")), None)
    await off_loop(remember_choices, tenant.id, conversation_id, last_buttons)
    return True


def _record_undelivered(tenant_id: str, conversation_id: str, channel: str, replies: list[dict],
                        error: str) -> None:
    with session_scope() as session:
        row = notify_customer(session, tenant_id, conversation_id, "undelivered_reply",
                              channel=channel, messages=replies)
        row.status, row.last_error, row.attempts = "failed", error[:500], 1
