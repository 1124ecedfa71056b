"""WhatsApp's rules for writing first: the 24-hour window and opt-outs.

Free text may only go to a number that wrote to the business in the last 24
hours; outside it only an approved template may. "STOP" ends proactive messages
until the person writes again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.store import session_scope
from grace.store.models import Contact, utcnow

WINDOW = timedelta(hours=24)
STOP_WORDS = {"stop", "unsubscribe", "stop all", "opt out", "optout", "cancel messages"}


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
    """The number wrote: its window opens; a STOP opts it out, anything else opts it back in."""
    with session_scope() as session:
        row = _contact(session, tenant_id, phone, channel)
        row.last_inbound_at, row.channel = utcnow(), channel
        row.opted_out_at = utcnow() if stop else None


@dataclass
class Permission:
    free_text: bool
    why_not: str = ""  # opted_out / outside_24h_window
    channel: str | None = None  # where the number last wrote from: answer on the same provider


def may_message(session: Session, tenant_id: str, phone: str, now: datetime | None = None) -> Permission:
    """Whether free text may go to the number now, and if not why (opted out, or outside the window)."""
    row = session.scalars(select(Contact).where(Contact.tenant_id == tenant_id, Contact.phone == phone)).first()
    channel = row.channel if row is not None else None
    if row is not None and row.opted_out_at is not None:
        return Permission(False, "opted_out", channel)
    if row is None or row.last_inbound_at is None or (now or utcnow()) - row.last_inbound_at > WINDOW:
        return Permission(False, "outside_24h_window", channel)
    return Permission(True, "", channel)
