"""Sending broadcasts over WhatsApp (grace.shop.broadcasts keeps them), and the owner's test send.

`send_broadcasts` is a pass of the outbox worker's loop (grace.run.outbox), run every round: it starts the
scheduled broadcasts that are due (their recipients are frozen then), and for each broadcast being sent
claims as many recipients as its pace allows and sends each the approved template, its variables filled from
the contact's fields. A broadcast is always a template (a business writing first, whether or not the customer
wrote in the last 24 hours), through the provider the contact last wrote from when the template names one
for it, else the business's usual one.

Just before sending, a contact who said STOP since the broadcast started, or whom the provider since reported
not on WhatsApp, is skipped with the reason. The provider's answers: "too many requests" (HTTP 429, or its
rate-limit codes) puts the recipients back and pauses the whole broadcast (grace.shop.broadcasts.backoff); a
refusal of the message itself (HTTP 400: e.g. 63003 / 131026, not a WhatsApp number) fails that recipient at
once with the provider's code; anything else is tried again in a later round, a few times, then failed.
Nothing goes during the business's quiet hours (grace.shop.follow_ups): a broadcast due then starts, and one
being sent carries on, when they end.

Every message is recorded under the broadcast (grace.messaging.message_states), so the providers' receipts
(delivered, read, failed) reach its report.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from grace.concurrency import off_loop
from grace.errors import GraceError
from grace.messaging.contacts import may_message
from grace.messaging.message_states import RATE_LIMIT_CODES, sending
from grace.shop.broadcasts import (
    FAILED_RESULT,
    NOT_TRIED,
    RATE_LIMITED,
    RETRY,
    SENT_RESULT,
    SKIP,
    Delivery,
    Result,
    claim_recipients,
    due_broadcasts,
    get_broadcast,
    prepare,
    record_results,
    sample_variables,
    sending_broadcasts,
    start_broadcast,
)
from grace.shop.contact_book import ContactError, normalise_phone
from grace.shop.follow_ups import quiet_until
from grace.store import session_scope
from grace.store.models import Broadcast, utcnow
from grace.tenancy.registry import Tenant, get_registry
from grace.tenancy.standing import suspended
from grace.whatsapp.delivery import SUSPENDED, close_providers, provider_for
from grace.whatsapp.http import ProviderError
from grace.whatsapp.provider import Provider, Template

log = logging.getLogger("grace.whatsapp.broadcasting")

BROADCAST = "broadcast"  # OutboundMessage.kind of a broadcast's messages
BROADCAST_TEST = "broadcast_test"  # the owner's test send: not the broadcast's, so not in its report
# Messages of one claim in flight at once: a provider answering in a quarter of a second then takes 20 a second,
# above the highest pace an owner may set (1,000 a minute is under 17 a second), without opening many connections.
SEND_CONCURRENCY = 5


def template_of(broadcast: Broadcast) -> Template:
    return Template.from_mapping(broadcast.template or {})


def _fits(provider: Provider, template: Template) -> bool:
    return bool(template.meta_name if provider.channel == "meta_whatsapp" else template.twilio_content_sid)


def provider_for_template(tenant: Tenant, template: Template, channel: str | None) -> tuple[Provider, str] | None:
    """The provider (and the business's sender on it) to send this template through: the one the contact last
    wrote from, else the business's usual one, else its other one; only one the template names."""
    for wanted in (channel, None, "whatsapp", "meta_whatsapp"):
        chosen = provider_for(tenant, wanted)
        if chosen is not None and _fits(chosen[0], template):
            return chosen
    return None


# The outbox worker's pass -------------------------------------------------------------------------------


def _tenant(tenant_id: str) -> Tenant | None:
    try:
        return get_registry().get(tenant_id)
    except GraceError as exc:  # a business whose files do not load waits; the others' broadcasts go on
        log.error("broadcasts of %s wait: its files do not load (%s)", tenant_id, exc)
        return None


def _due(now: datetime) -> list[tuple[int, str]]:
    with session_scope() as session:
        return due_broadcasts(session, now)


def _sending() -> list[tuple[int, str]]:
    with session_scope() as session:
        return sending_broadcasts(session)


def _start(tenant: Tenant, broadcast_id: int, now: datetime) -> int | None:
    with session_scope() as session:
        return start_broadcast(session, tenant, broadcast_id, now)


@dataclass
class Batch:
    template: Template
    deliveries: list[Delivery]


def _claim(tenant: Tenant, broadcast_id: int, now: datetime) -> Batch | None:
    """Claim (committed, so other workers see it) then prepare the recipients; None when there are none now."""
    with session_scope() as session:
        claim = claim_recipients(session, broadcast_id, now)
    if not claim.recipients:
        return None
    with session_scope() as session:
        broadcast = get_broadcast(session, tenant, broadcast_id)
        return Batch(template_of(broadcast), prepare(session, tenant, broadcast, claim.recipients))


def _record(broadcast_id: int, results: list[Result], now: datetime) -> str:
    with session_scope() as session:
        return record_results(session, broadcast_id, results, now)


async def send_broadcasts(now: datetime | None = None) -> int:
    """One round: start the broadcasts due, then send each broadcast's next claim. Returns how many messages
    the providers took. `now` is the clock (tests drive it; the worker passes none)."""
    moment = now or utcnow()
    for broadcast_id, tenant_id in await off_loop(_due, moment):
        tenant = _tenant(tenant_id)
        if tenant is None or quiet_until(tenant, moment) is not None or await off_loop(suspended, tenant_id):
            continue  # a suspended business's broadcast waits, as in quiet hours, and goes on once resumed
        started = await off_loop(_start, tenant, broadcast_id, moment)
        if started is not None:
            log.info("broadcast %s of %s started: %d recipients", broadcast_id, tenant_id, started)
    sent = 0
    for broadcast_id, tenant_id in await off_loop(_sending):
        tenant = _tenant(tenant_id)
        if tenant is None or quiet_until(tenant, moment) is not None or await off_loop(suspended, tenant_id):
            continue  # a suspended business's broadcast waits, as in quiet hours, and goes on once resumed
        sent += await send_next(tenant, broadcast_id, moment)
    return sent


async def send_next(tenant: Tenant, broadcast_id: int, now: datetime) -> int:
    """Send one claim of the broadcast; how many messages the provider took."""
    batch = await off_loop(_claim, tenant, broadcast_id, now)
    if batch is None:
        return 0
    slow_down = asyncio.Event()  # the provider said "too many requests": the rest of the claim waits
    limit = asyncio.Semaphore(SEND_CONCURRENCY)
    results = await asyncio.gather(*(_send_one(tenant, broadcast_id, batch.template, d, slow_down, limit)
                                     for d in batch.deliveries))
    status = await off_loop(_record, broadcast_id, list(results), now)
    took = sum(1 for r in results if r.result == SENT_RESULT)
    if slow_down.is_set():
        log.warning("broadcast %s of %s paused: the provider asked to slow down", broadcast_id, tenant.id)
    if status != "sending":
        log.info("broadcast %s of %s is %s", broadcast_id, tenant.id, status)
    return took


async def _send_one(tenant: Tenant, broadcast_id: int, template: Template, delivery: Delivery,
                    slow_down: asyncio.Event, limit: asyncio.Semaphore) -> Result:
    if delivery.skip:
        return Result(delivery.recipient_id, SKIP, delivery.skip)
    async with limit:
        if slow_down.is_set():
            return Result(delivery.recipient_id, NOT_TRIED)
        chosen = provider_for_template(tenant, template, delivery.channel)
        if chosen is None:
            return Result(delivery.recipient_id, SKIP, "no WhatsApp provider configured for this template")
        provider, sender = chosen
        try:
            with sending(tenant.id, BROADCAST, broadcast_id=broadcast_id):
                took = await provider.send_template(sender, delivery.phone, template, delivery.variables)
        except ProviderError as exc:
            code, message = exc.refusal()
            if exc.status == 429 or code in RATE_LIMIT_CODES:
                slow_down.set()
                return Result(delivery.recipient_id, RATE_LIMITED, str(exc)[:300], code)
            if exc.status == 400:  # the provider judged the message itself: the same request fails again
                return Result(delivery.recipient_id, FAILED_RESULT, message, code)
            return Result(delivery.recipient_id, RETRY, str(exc)[:300], code)
        except Exception as exc:  # a bug must not leave the claim hanging: tried again, then failed
            log.exception("broadcast %s: sending to %s failed", broadcast_id, delivery.phone)
            return Result(delivery.recipient_id, RETRY, f"{type(exc).__name__}: {exc}"[:300])
    if not took:
        return Result(delivery.recipient_id, SKIP, "the template cannot go through this provider")
    return Result(delivery.recipient_id, SENT_RESULT)


# The owner's test send ----------------------------------------------------------------------------------


class TestSendRefused(GraceError):
    """A test send that cannot go (not the business's own number, no provider, the provider refused);
    the message says why."""

    __test__ = False  # a business error, not a test case for pytest


@dataclass(frozen=True)
class TestSent:
    __test__ = False

    to: str
    variables: list[str]
    as_for: str  # whose contact fields filled the variables ("" when nobody matches: placeholders)


def owner_number(tenant: Tenant, typed: str | None = None) -> str:
    """Where a test send goes: the number the owner typed, which must be one of the business's own ops numbers
    (never any number from the form: a test send is no way to write to strangers), else the first of them."""
    if not tenant.ops:
        raise TestSendRefused("the business has no ops number to send the test to: add one in Settings")
    if not typed or not typed.strip():
        return tenant.ops[0]
    try:
        number = normalise_phone(tenant, typed)
    except ContactError as exc:
        raise TestSendRefused(str(exc)) from None
    if number not in tenant.ops:
        raise TestSendRefused(f"a test goes only to the business's own ops numbers ({', '.join(tenant.ops)}), "
                              f"not {number}")
    return number


def send_test_message(tenant: Tenant, broadcast_id: int, typed_number: str | None = None) -> TestSent:
    """Send the broadcast's template once to the owner's number, filled in as for the first contact it would
    reach; no recipient is made and it is not counted in the broadcast's report. Blocking: call it off any
    event loop. TestSendRefused says why it did not go."""
    if suspended(tenant.id):  # a suspended business writes to no one, its own numbers included
        raise TestSendRefused(f"{SUSPENDED}: nothing is sent until the platform resumes it")
    to = owner_number(tenant, typed_number)
    with session_scope() as session:
        broadcast = get_broadcast(session, tenant, broadcast_id)
        template = template_of(broadcast)
        variables, as_for = sample_variables(session, tenant, broadcast)
        channel = may_message(session, tenant.id, to).channel
    asyncio.run(_send_test(tenant, template, to, variables, channel))
    log.info("test of broadcast %s of %s sent to %s", broadcast_id, tenant.id, to)
    return TestSent(to, variables, as_for)


async def _send_test(tenant: Tenant, template: Template, to: str, variables: list[str], channel: str | None) -> None:
    try:
        chosen = provider_for_template(tenant, template, channel)
        if chosen is None:
            raise TestSendRefused("no WhatsApp provider is configured for this template")
        provider, sender = chosen
        try:
            with sending(tenant.id, BROADCAST_TEST):
                took = await provider.send_template(sender, to, template, variables)
        except ProviderError as exc:
            code, message = exc.refusal()
            if exc.status == 429 or code in RATE_LIMIT_CODES:
                raise TestSendRefused("the provider asks to slow down: try again in a minute") from None
            said = f"error {code}: {message}" if code else message
            raise TestSendRefused(f"the provider refused it: {said}") from None
        if not took:
            raise TestSendRefused("the template cannot go through this provider")
    finally:  # this loop ends with the call: its HTTP sessions with it
        await close_providers()
