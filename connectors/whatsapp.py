"""What happens to one WhatsApp message once its webhook has been parsed (Twilio and Meta alike).

A provider turns its webhook into an IncomingWhatsApp and knows how to fetch media and send
messages; everything else is here, once: ops talk in commands, STOP opts out, "delete my data" becomes a
request the owner confirms (grace/privacy/requests.py), media is kept by
Grace, a conversation a person of the team took over is kept for them and not answered
(grace/messaging/takeover.py), a bare number answers the last numbered choice, the turn runs through
the same path as REST, and the replies go out in order.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from connectors.turns import OnNewMessage, run_turn
from grace.concurrency import off_loop
from grace.errors import GraceError
from grace.messaging.contacts import is_stop_request, record_inbound
from grace.messaging.inbound import MAX_KEPT, Inbound, conversation_id
from grace.messaging.media import MediaRejected, save_media
from grace.messaging.takeover import hold_for_person
from grace.privacy.requests import ask_for_erasure, asks_for_erasure
from grace.shop.ops import is_ops_number
from grace.tenancy.registry import E164, Tenant, get_registry
from grace.tenancy.wording import Wording
from grace.whatsapp.choices import resolve_choice
from grace.whatsapp.delivery import send_replies
from grace.whatsapp.http import ProviderError
from grace.whatsapp.ops_relay import answer_ops_number
from grace.whatsapp.provider import MediaRef, Provider

log = logging.getLogger("grace.channels.whatsapp")


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
        """A message kept in the inbox, checked again as a webhook would be: the inbox (Redis in the scaled
        profile) is a store, not a signature, so whatever it hands back must still look like a message one
        of this business's numbers received. GraceError when it does not."""
        try:
            tenant = get_registry().get(str(payload["tenant"]))
            business, customer = str(payload["business_number"]), str(payload["customer"])
            text, message_id = payload["text"], str(payload["message_id"])
            media = [MediaRef(str(ref), str(kind)) for ref, kind in payload.get("media") or []]
            name = payload.get("customer_name")
        except (KeyError, TypeError, ValueError) as exc:
            raise GraceError(f"not an inbox entry: {exc!r}") from None
        problems = [what for what, bad in (
            ("the customer is not a phone number", not E164.match(customer)),
            ("the business number is not one of the business's", business not in tenant.whatsapp_numbers
             and business != str(tenant.extra.get("meta_phone_number_id") or "")),
            ("the text is not text, or too long", not isinstance(text, str) or len(text) > MAX_KEPT),
            ("the message id is empty or too long", not 0 < len(message_id) <= 128),
            ("too many media", len(media) > 10),
        ) if bad]
        if problems:
            raise GraceError("inbox entry refused: " + "; ".join(problems))
        return cls(tenant=tenant, business_number=business, customer=customer, text=text, message_id=message_id,
                   customer_name=str(name)[:120] if name else None, media=media)


def claim(message: IncomingWhatsApp, channel: str) -> Inbound:
    """The message as an Inbound (media not fetched yet)."""
    return Inbound(tenant_id=message.tenant.id, customer=message.customer, text=message.text,
                   customer_name=message.customer_name, message_id=message.message_id, channel=channel)


async def answer(provider: Provider, message: IncomingWhatsApp, inbound: Inbound,
                 on_new_message: OnNewMessage, slots: asyncio.Semaphore) -> None:
    tenant, text = message.tenant, inbound.text.strip()
    say = Wording(tenant)
    if is_ops_number(tenant, message.customer):  # ops talk in commands, never to the sales funnel
        await off_loop(record_inbound, tenant.id, message.customer, provider.channel)
        result = await off_loop(answer_ops_number, tenant, message.customer, text)
        await send_replies(provider, tenant, message.business_number, message.customer, [{"text": result}])
        return
    stop = is_stop_request(text) and not message.media
    await off_loop(record_inbound, tenant.id, message.customer, provider.channel, stop=stop)
    if stop:
        await send_replies(provider, tenant, message.business_number, message.customer, [{"text": say("opted_out")}])
        return
    if not message.media and asks_for_erasure(text):  # the owner confirms it: Grace only passes it on
        made = await off_loop(ask_for_erasure, tenant, message.customer)
        reply = say("privacy_request_received" if made else "privacy_request_pending")
        await send_replies(provider, tenant, message.business_number, message.customer, [{"text": reply}])
        return
    notes: list[dict] = []
    for media in message.media:
        stored, problem = await keep_media(provider, tenant, media)
        if stored:
            inbound.media.append(stored)
        else:
            notes.append({"text": say(problem)})
    if await off_loop(hold_for_person, inbound, [note["text"] for note in notes]):
        return  # a person of the team has the conversation: the message is kept in it for them, Grace is silent
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
    except MediaRejected as exc:  # too large: refused while downloading, before it was all read
        log.info("media refused for %s: %s", tenant.id, exc)
        return None, exc.reason
    try:  # the type the sender declared, else the one the download reported
        stored = await off_loop(save_media, tenant.id, data, media.content_type or content_type)
    except MediaRejected as exc:
        log.info("media rejected for %s: %s", tenant.id, exc)
        return None, exc.reason
    return stored.as_inbound(source_url=media.ref), ""
