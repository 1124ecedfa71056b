"""What became of each WhatsApp message Grace or the team sent: accepted, sent, delivered, read, or failed.

Every message a provider accepts is kept with the id the provider gave it (Twilio's SM..., Meta's wamid),
its business, recipient and kind. The provider then reports on it (Twilio's status callbacks, the
`statuses` of Meta's webhook) and `apply_status` moves its state, forward only: callbacks arrive out of
order and are retried, so a late "delivered" must never undo a "read". A failure the provider explains
as "this number cannot receive WhatsApp messages" marks the number unreachable (`is_unreachable`): the
outbox then stops writing to it instead of retrying, until the number shows it is on WhatsApp after all
(it writes to the business, or a later message reaches it).

The senders (grace.whatsapp.delivery) say who is sending with `sending(...)`; the provider clients, which
alone see the provider's ids, record each message under it (`note_sent`, `note_refused`).
"""
from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from grace.concurrency import off_loop
from grace.store import session_scope
from grace.store.models import Contact, OutboundMessage, utcnow

log = logging.getLogger("grace.messaging.message_states")

TWILIO, META = "twilio", "meta"  # OutboundMessage.channel
ACCEPTED, SENT, DELIVERED, READ, FAILED = "accepted", "sent", "delivered", "read", "failed"
STATES = (ACCEPTED, SENT, DELIVERED, READ, FAILED)
# The states each state may be reached from. Forward only; "failed" is final and wins over a message
# still on its way (accepted, sent, even delivered: WhatsApp reports a failure after a delivery when the
# recipient's other device could not take it), but a message already read did not fail.
REACHABLE_FROM = {
    SENT: (ACCEPTED,),
    DELIVERED: (ACCEPTED, SENT),
    READ: (ACCEPTED, SENT, DELIVERED),
    FAILED: (ACCEPTED, SENT, DELIVERED),
}
# The providers' words for the states. Twilio: queued/accepted/scheduled/sending are still on Twilio's side;
# "undelivered" is WhatsApp refusing the message, "failed" Twilio unable to send it: both failures with an
# ErrorCode. Meta reports sent, delivered, read and failed only (and "deleted"/"warning", not states of
# delivery, which are ignored like any word not listed).
PROVIDER_STATES = {
    TWILIO: {"accepted": ACCEPTED, "queued": ACCEPTED, "scheduled": ACCEPTED, "sending": ACCEPTED, "sent": SENT,
             "delivered": DELIVERED, "read": READ, "undelivered": FAILED, "failed": FAILED},
    META: {"sent": SENT, "delivered": DELIVERED, "read": READ, "failed": FAILED},
}
# The provider's error codes meaning the number cannot receive WhatsApp messages at all, so that sending
# again (or retrying) is pointless:
#   Twilio 63003 "Channel could not find To address": not a WhatsApp user, or an inactive one;
#   Twilio 63024 "Invalid message recipient": Meta says the number is not an active WhatsApp user (Twilio's
#     name for Meta's 131026);
#   Twilio 21211 "Invalid 'To' Phone Number" and 21614 "'To' number is not a valid mobile number": not a
#     number a WhatsApp account can have;
#   Meta 131026 "Message undeliverable": not on WhatsApp, or on a client too old or without WhatsApp's
#     current terms accepted.
# Not in the list, because writing later (or otherwise) can work: 63016 / 131047 (outside the 24-hour
# window), 131049 (Meta's per-user marketing limit), 63018 / 130429 (rate limits), 131050 (the user stopped
# marketing messages: an opt-out, not an unreachable number).
UNREACHABLE_CODES = {TWILIO: frozenset({"63003", "63024", "21211", "21614"}), META: frozenset({"131026"})}
# The providers' "slow down" beside HTTP 429: Twilio 63018 (the sender's rate limit), Meta 130429 (Cloud API
# throughput reached) and 131056 (too many messages from this business to this number). Such a refusal is no
# failed message: the sender tries it again later.
RATE_LIMIT_CODES = frozenset({"63018", "130429", "131056"})
NOT_ON_WHATSAPP = "not a WhatsApp number"
REFUSED_PREFIX = "refused:"  # provider_id of a send the provider refused outright: it gave the message no id


@dataclass(frozen=True)
class Sending:
    """Who is sending, for the messages sent meanwhile (set by `sending`)."""

    tenant_id: str
    kind: str = "reply"
    notification_id: int | None = None
    broadcast_id: int | None = None


_sending: ContextVar[Sending | None] = ContextVar("grace_sending", default=None)


@contextmanager
def sending(tenant_id: str, kind: str = "reply", notification_id: int | None = None,
            broadcast_id: int | None = None) -> Iterator[Sending]:
    """Messages sent inside the block (in this task) are recorded as this business's, of this kind. A
    context variable, because the provider clients that see the ids are shared by every business."""
    who = Sending(tenant_id, kind, notification_id, broadcast_id)
    token = _sending.set(who)
    try:
        yield who
    finally:
        _sending.reset(token)


def record_sent(tenant_id: str, channel: str, provider_id: str, to_phone: str, kind: str = "reply",
                notification_id: int | None = None, broadcast_id: int | None = None) -> None:
    """Keep a message the provider accepted. Recording the same (channel, provider_id) again changes nothing."""
    with session_scope() as session:
        try:
            with session.begin_nested():
                session.add(OutboundMessage(tenant_id=tenant_id, channel=channel, provider_id=provider_id,
                                            to_phone=to_phone, kind=kind, notification_id=notification_id,
                                            broadcast_id=broadcast_id, status=ACCEPTED))
        except IntegrityError:  # already recorded (a retried record): its state stays as the provider left it
            pass


def record_refused(tenant_id: str, channel: str, to_phone: str, error_code: str, error_detail: str,
                   kind: str = "reply", notification_id: int | None = None,
                   broadcast_id: int | None = None) -> None:
    """Keep a send the provider refused outright (no id given), as failed with its error code: a number it
    refused as unreachable is then known to be (is_unreachable), and a broadcast counts the failure."""
    with session_scope() as session:
        session.add(OutboundMessage(tenant_id=tenant_id, channel=channel, provider_id=REFUSED_PREFIX + uuid.uuid4().hex,
                                    to_phone=to_phone, kind=kind, notification_id=notification_id,
                                    broadcast_id=broadcast_id, status=FAILED, error_code=error_code[:20],
                                    error_detail=error_detail[:1000] or None))


async def note_sent(channel: str, provider_id: str, to_phone: str) -> None:
    """Record a message the provider just accepted, for whoever `sending` says is sending (one insert, off the
    event loop). The message is out whatever happens here: a failure to record it is logged, never raised,
    or the caller would send it again."""
    who = _sending.get()
    if who is None or not provider_id:
        log.warning("a %s message to %s was sent outside `sending`: its receipts will not be kept", channel, to_phone)
        return
    try:
        await off_loop(record_sent, who.tenant_id, channel, provider_id, to_phone, who.kind, who.notification_id,
                       who.broadcast_id)
    except SQLAlchemyError:
        log.exception("could not record %s message %s to %s", channel, provider_id, to_phone)


async def note_refused(channel: str, to_phone: str, error_code: str, error_detail: str) -> None:
    """Record a send the provider refused with an error code (see record_refused); never raises."""
    who = _sending.get()
    if who is None or not error_code or error_code in RATE_LIMIT_CODES:
        return
    try:
        await off_loop(record_refused, who.tenant_id, channel, to_phone, error_code, error_detail, who.kind,
                       who.notification_id, who.broadcast_id)
    except SQLAlchemyError:
        log.exception("could not record the refused %s message to %s", channel, to_phone)


@dataclass(frozen=True)
class Receipt:
    """What a provider now says of one message Grace sent (with `tenant_id`: only that business's message)."""

    channel: str
    provider_id: str
    status: str
    error_code: str | None = None
    error_detail: str | None = None
    tenant_id: str | None = None


def apply_status(channel: str, provider_id: str, status: str, error_code: str | None = None,
                 error_detail: str | None = None, tenant_id: str | None = None) -> bool:
    """Move a message to what its provider now says of it; True when its state changed (see apply_receipts)."""
    return apply_receipts([Receipt(channel, provider_id, status, error_code, error_detail, tenant_id)])[0]


def apply_receipts(receipts: Sequence[Receipt]) -> list[bool]:
    """Each receipt applied in turn, all in one transaction (a provider sends three for every message: the
    webhook gateway gathers those that arrive together); for each, True when its message's state changed.
    A word that is no state, a message Grace did not send (or, with `tenant_id`, another business's), or a
    state that is not ahead of the current one change nothing. One conditional UPDATE each, so two
    callbacks racing for the same message cannot move it backwards."""
    changed = [False] * len(receipts)
    moves = [(n, receipt, state) for n, receipt in enumerate(receipts)
             if (state := PROVIDER_STATES.get(receipt.channel, {}).get((receipt.status or "").strip().lower()))
             not in (None, ACCEPTED) and receipt.provider_id]
    if not moves:
        return changed
    with session_scope() as session:
        now = utcnow()
        for n, receipt, state in moves:
            values = {"b_channel": receipt.channel, "b_provider_id": receipt.provider_id,
                      "b_tenant_id": receipt.tenant_id, "b_updated_at": now}
            if state == FAILED:
                values["b_error_code"] = (receipt.error_code or "")[:20] or None
                values["b_error_detail"] = (receipt.error_detail or "")[:1000] or None
            statement = _advance(state, receipt.tenant_id is not None)
            changed[n] = session.execute(statement, values).rowcount == 1
            if not changed[n]:
                log.debug("%s status %r for %s changed nothing", receipt.channel, receipt.status, receipt.provider_id)
    return changed


@functools.cache
def _advance(state: str, of_one_business: bool) -> Update:
    """The UPDATE that moves a message to `state`, built once: building it per callback was a third of the
    cost of applying one (py-spy, `make bench`)."""
    conditions = [OutboundMessage.channel == bindparam("b_channel"),
                  OutboundMessage.provider_id == bindparam("b_provider_id"),
                  OutboundMessage.status.in_(REACHABLE_FROM[state])]
    if of_one_business:
        conditions.append(OutboundMessage.tenant_id == bindparam("b_tenant_id"))
    values = {"status": state, "updated_at": bindparam("b_updated_at")}
    if state == FAILED:
        values.update(error_code=bindparam("b_error_code"), error_detail=bindparam("b_error_detail"))
    return update(OutboundMessage).where(*conditions).values(**values)


def counts(session: Session, tenant_id: str, broadcast_id: int) -> dict[str, int]:
    """How many of a broadcast's messages are in each state (every state named, 0 included)."""
    found = dict(session.execute(
        select(OutboundMessage.status, func.count()).where(
            OutboundMessage.tenant_id == tenant_id, OutboundMessage.broadcast_id == broadcast_id,
        ).group_by(OutboundMessage.status)).all())
    return {state: int(found.get(state, 0)) for state in STATES}


def _said_unreachable() -> ColumnElement[bool]:
    """A failure whose code says the number cannot receive WhatsApp messages (UNREACHABLE_CODES)."""
    return and_(OutboundMessage.status == FAILED,
                or_(*(and_(OutboundMessage.channel == channel, OutboundMessage.error_code.in_(codes))
                      for channel, codes in UNREACHABLE_CODES.items())))


def unreachable_among(session: Session, tenant_id: str, phones: set[str]) -> set[str]:
    """Which of `phones` are known not to be on WhatsApp (is_unreachable), asking about each number only
    when a failure saying so was ever recorded for it (one query for the rest)."""
    if not phones:
        return set()
    candidates = set(session.scalars(select(OutboundMessage.to_phone).distinct().where(
        OutboundMessage.tenant_id == tenant_id, _said_unreachable())))
    return {phone for phone in candidates & phones if is_unreachable(session, tenant_id, phone)}


def is_unreachable(session: Session, tenant_id: str, phone: str) -> bool:
    """True when the provider said this number cannot receive WhatsApp messages (UNREACHABLE_CODES) and
    nothing since shows otherwise: neither a message sent after that failure reached it, nor did the
    number write to the business after it (numbers join WhatsApp, clients get updated)."""
    failure = session.scalars(select(OutboundMessage).where(
        OutboundMessage.tenant_id == tenant_id, OutboundMessage.to_phone == phone, _said_unreachable(),
    ).order_by(OutboundMessage.updated_at.desc()).limit(1)).first()
    if failure is None:
        return False
    reached_later = session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.tenant_id == tenant_id, OutboundMessage.to_phone == phone,
        OutboundMessage.status.in_((DELIVERED, READ)), OutboundMessage.created_at > failure.created_at,
    ).limit(1)).first()
    if reached_later is not None:
        return False
    wrote = session.scalars(select(Contact.last_inbound_at).where(Contact.tenant_id == tenant_id,
                                                                 Contact.phone == phone)).first()
    return not (wrote is not None and wrote > failure.updated_at)
