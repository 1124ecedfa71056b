"""Sending over WhatsApp: a turn's replies, and proactive messages under WhatsApp's rules.

Replies to a customer who just wrote go out at once. A proactive message (ops
alerts, payment verdicts, reminders) goes as free text only inside the 24-hour
window, as the tenant's approved template outside it, and never to a number
that opted out; what could not be sent is recorded, not dropped. Every message
is recorded under its business and kind (grace.messaging.message_states), and a
number the provider said cannot receive WhatsApp messages is not written to
again: a refusal saying so fails at once, without retries, and later messages
are skipped with the reason.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from grace.concurrency import off_loop
from grace.messaging.contacts import Permission, may_message
from grace.messaging.inbound import conversation_id
from grace.messaging.message_states import NOT_ON_WHATSAPP, is_unreachable, sending
from grace.messaging.notifications import UNDELIVERED, notify_customer
from grace.store import session_scope
from grace.tenancy.credentials import meta_for, twilio_for
from grace.tenancy.registry import Tenant
from grace.tenancy.standing import suspended
from grace.whatsapp.choices import remember_choices
from grace.whatsapp.http import ProviderError
from grace.whatsapp.meta_client import MetaClient, MetaProvider
from grace.whatsapp.provider import Provider, template_for
from grace.whatsapp.twilio_client import TwilioClient, TwilioProvider

log = logging.getLogger("grace.whatsapp.delivery")
SUSPENDED = "the business is suspended"


async def send_replies(provider: Provider, tenant: Tenant, business_number: str, customer: str,
                       replies: list[dict]) -> bool:
    """Deliver a turn's replies in order; a failure is recorded in the outbox, never dropped."""
    conversation = conversation_id(tenant.id, customer)
    try:
        with sending(tenant.id, "reply"):
            await provider.deliver(tenant, business_number, customer, replies)
    except ProviderError as exc:
        log.error("could not deliver a reply to %s over %s: %s", conversation, provider.channel, exc)
        await off_loop(record_undelivered, tenant.id, conversation, provider.channel, replies, str(exc))
        return False
    last_buttons = next((r.get("buttons") for r in reversed(replies) if r.get("buttons")), None)
    await off_loop(remember_choices, tenant.id, conversation, last_buttons)
    return True


def record_undelivered(tenant_id: str, conversation_id: str, channel: str, replies: list[dict],
                        error: str) -> None:
    """Keep replies that could not be sent; the outbox worker tries them again (grace.run.outbox)."""
    with session_scope() as session:
        row = notify_customer(session, tenant_id, conversation_id, UNDELIVERED,
                              channel=channel, messages=replies)
        row.last_error, row.attempts = error[:500], 1


_providers: dict[tuple, MetaProvider | TwilioProvider] = {}
_providers_lock = threading.Lock()


def channel_provider(tenant: Tenant, channel: str) -> Provider | None:
    """The provider of `channel` ("whatsapp": Twilio, "meta_whatsapp") that sends with the business's own
    account when it has one, else with the platform's (grace.tenancy.credentials); None when neither is set.
    One provider (and HTTP session) per account, shared by the businesses using it. Reads the store at most
    once in a few seconds per business (the credentials' cache)."""
    if channel == MetaProvider.channel:
        meta = meta_for(tenant.id)
        if meta is None:
            return None
        return _cached(("meta", meta.access_token, meta.api_base_url),
                       lambda: MetaProvider(MetaClient.for_account(meta)))
    if channel == TwilioProvider.channel:
        twilio = twilio_for(tenant.id)
        if twilio is None:
            return None
        return _cached(("twilio", twilio.account_sid, twilio.auth_token, twilio.api_base_url),
                       lambda: TwilioProvider(TwilioClient.for_account(twilio)))
    return None


def provider_for(tenant: Tenant, channel: str | None = None) -> tuple[Provider, str] | None:
    """The provider a tenant writes first through, and the sender it uses: its Meta phone number
    id when Meta is configured for it, else its first number on Twilio. None when neither is.
    Each sends with the business's own account when it has one."""
    meta_id = str(tenant.extra.get("meta_phone_number_id") or "")
    if channel in (None, MetaProvider.channel) and meta_id:
        if (meta := channel_provider(tenant, MetaProvider.channel)) is not None:
            return meta, meta_id
    if channel in (None, TwilioProvider.channel) and tenant.whatsapp_numbers:
        if (twilio := channel_provider(tenant, TwilioProvider.channel)) is not None:
            return twilio, tenant.whatsapp_numbers[0]
    return None


def _cached(key: tuple, make: Callable[[], MetaProvider | TwilioProvider]) -> MetaProvider | TwilioProvider:
    with _providers_lock:
        if key not in _providers:
            _providers[key] = make()
        return _providers[key]


async def close_providers() -> None:
    """Close this loop's HTTP sessions (at shutdown)."""
    for provider in list(_providers.values()):
        await provider.client.close()


def _may_message(tenant_id: str, phone: str) -> tuple[Permission, bool]:
    """(the 24-hour rule and opt-outs, whether the number is known not to be on WhatsApp): one hop."""
    with session_scope() as session:
        return may_message(session, tenant_id, phone), is_unreachable(session, tenant_id, phone)


def _unreachable(tenant_id: str, phone: str) -> bool:
    with session_scope() as session:
        return is_unreachable(session, tenant_id, phone)


@dataclass
class Outcome:
    status: str  # sent / failed / skipped
    detail: str = ""
    final: bool = False  # a failure that retrying cannot mend (the number cannot receive WhatsApp messages)


async def send_proactive(tenant: Tenant, phone: str, replies: list[dict], kind: str,
                         variables: list[str], channel: str | None = None, *, notification_id: int | None = None,
                         broadcast_id: int | None = None) -> Outcome:
    """Write first to a number, under the 24-hour rule and opt-outs, through the provider it last
    wrote from (or the one given). The messages are recorded as `kind`, of the notification or broadcast
    given. A number known not to be on WhatsApp is skipped; a refusal saying so is a final failure."""
    if await off_loop(suspended, tenant.id):  # the platform suspended the business: it writes to no one
        return Outcome("skipped", SUSPENDED)
    permission, unreachable = await off_loop(_may_message, tenant.id, phone)
    if unreachable:
        return Outcome("skipped", NOT_ON_WHATSAPP)
    chosen = await off_loop(provider_for, tenant, channel or permission.channel)  # may read the store
    if chosen is None:
        return Outcome("skipped", "no WhatsApp provider configured")
    provider, sender = chosen
    try:
        with sending(tenant.id, kind, notification_id, broadcast_id):
            if permission.free_text:
                await provider.deliver(tenant, sender, phone, replies)
                return Outcome("sent", "free text")
            if permission.why_not == "opted_out":
                return Outcome("skipped", "opted out")
            template = template_for(tenant, kind)
            image = next((r["image"] for r in replies if r.get("image")), "")
            if template and await provider.send_template(sender, phone, template, variables, image_url=image):
                return Outcome("sent", "template")
            return Outcome("skipped", f"outside the 24-hour window and no approved template for {kind!r}")
    except ProviderError as exc:
        # The client recorded a refusal with its error code: if that code says the number cannot receive
        # WhatsApp messages, trying again later cannot help.
        if await off_loop(_unreachable, tenant.id, phone):
            return Outcome("failed", f"{NOT_ON_WHATSAPP}: {exc}", final=True)
        return Outcome("failed", str(exc))
