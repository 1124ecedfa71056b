"""WhatsApp's rules for writing first: the 24-hour window and opt-outs.

Free text may only go to a number that wrote to the business in the last 24
hours; outside it only an approved template may. "STOP" ends proactive messages
until the person writes again.

Consent to proactive messages (broadcasts) is kept with the number: when, and how it was given. Writing
first is consent; so is a box ticked at checkout, or a list the business imports saying the person agreed.
Consent once recorded is kept as it was (its first time and way); STOP withdraws it, and only the person
writing again gives it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.store import session_scope
from grace.store.models import Broadcast, BroadcastRecipient, Contact, utcnow

WINDOW = timedelta(hours=24)
STOP_WORDS = {"stop", "unsubscribe", "stop all", "opt out", "optout", "cancel messages"}
# How a number's consent was given: it wrote first, ticked a box at checkout, came in a list the business
# imported saying it agreed, or a person of the team recorded it.
CONSENT_SOURCES = ("wrote_first", "checkout", "import", "team")
# A message from a broadcast's recipient within this long of it counts as its reply (the broadcast's report).
BROADCAST_REPLY_WINDOW = timedelta(hours=72)


def is_stop_request(text: str) -> bool:
    return text.strip().strip("!.").lower() in STOP_WORDS


def _contact(session: Session, tenant_id: str, phone: str, channel: str) -> Contact:
    row = session.scalars(select(Contact).where(Contact.tenant_id == tenant_id, Contact.phone == phone)).first()
    if row is None:
        try:
            with session.begin_nested():
                row = Contact(tenant_id=tenant_id, phone=phone, channel=channel)
                session.add(row)
        except IntegrityError:  # the same number's other message got there first
            row = session.scalars(select(Contact).where(Contact.tenant_id == tenant_id,
                                                        Contact.phone == phone)).one()
    return row


def record_inbound(tenant_id: str, phone: str, channel: str, *, stop: bool = False) -> None:
    """The number wrote: its window opens; a STOP opts it out, anything else opts it back in. Writing (but not
    STOP) is consent when none is recorded; after a STOP, writing again is fresh consent, given now."""
    with session_scope() as session:
        row = _contact(session, tenant_id, phone, channel)
        now = utcnow()
        row.last_inbound_at, row.channel = now, channel
        if stop:
            row.opted_out_at = now
            return
        if row.opted_in_at is None or row.opted_out_at is not None:
            row.opted_in_at, row.opt_in_source = now, "wrote_first"
        row.opted_out_at = None
        note_broadcast_reply(session, tenant_id, phone, now)


def note_broadcast_reply(session: Session, tenant_id: str, phone: str, now: datetime) -> None:
    """The number's first message after a broadcast it got within BROADCAST_REPLY_WINDOW is that broadcast's
    reply (nothing else changes: the customer is in the normal conversation). Only the business's broadcasts
    still sending or finished within the window are looked at, so the (broadcast, phone) index does the rest."""
    since = now - BROADCAST_REPLY_WINDOW
    recent = select(Broadcast.id).where(Broadcast.tenant_id == tenant_id, Broadcast.started_at.is_not(None),
                                        or_(Broadcast.finished_at.is_(None), Broadcast.finished_at >= since))
    session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id.in_(recent), BroadcastRecipient.phone == phone,
        BroadcastRecipient.status == "sent", BroadcastRecipient.sent_at >= since,
        BroadcastRecipient.replied_at.is_(None)).values(replied_at=now).execution_options(synchronize_session=False))


def record_consent(session: Session, tenant_id: str, phone: str, source: str, *, channel: str = "") -> Contact:
    """Consent given another way than writing (checkout, an import, the team). An earlier consent is kept
    as it was, and a number that said STOP stays opted out: only its own message opts it back in.
    `channel` is "" for a number that never wrote (no provider of its own yet)."""
    if source not in CONSENT_SOURCES:
        raise ValueError(f"unknown consent source {source!r}; one of {', '.join(CONSENT_SOURCES)}")
    row = _contact(session, tenant_id, phone, channel)
    if takes_consent(row):
        row.opted_in_at, row.opt_in_source = utcnow(), source
    return row


def takes_consent(row: Contact | None) -> bool:
    """Whether consent given another way than writing is recorded for this number (None: new to the business):
    only when none is recorded yet and the number has not sent STOP."""
    return row is None or (row.opted_in_at is None and row.opted_out_at is None)


@dataclass
class Permission:
    free_text: bool
    why_not: str = ""  # opted_out / outside_24h_window
    channel: str | None = None  # where the number last wrote from: answer on the same provider


def may_message(session: Session, tenant_id: str, phone: str, now: datetime | None = None) -> Permission:
    """Whether free text may go to the number now, and if not why (opted out, or outside the window)."""
    row = session.scalars(select(Contact).where(Contact.tenant_id == tenant_id, Contact.phone == phone)).first()
    # An imported number that never wrote has no provider of its own (""): the tenant's usual one is used.
    channel = (row.channel or None) if row is not None else None
    if row is not None and row.opted_out_at is not None:
        return Permission(False, "opted_out", channel)
    if row is None or row.last_inbound_at is None or (now or utcnow()) - row.last_inbound_at > WINDOW:
        return Permission(False, "outside_24h_window", channel)
    return Permission(True, "", channel)
