"""Remember processed message ids so a redelivered webhook is handled once (also after a restart).

Webhooks are acknowledged only after the id is recorded, so this write is on
the path providers time. With SQLite the ids live in a database file of their
own (var/inbound.db): the main store's single writer lock is busy with turns,
and SQLite's busy waits would add up to a hundred milliseconds to an ack. On a
server database (PostgreSQL) they share the app store. GRACE_DEDUPE_DATABASE_URL
overrides both.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from grace.config import load_settings
from grace.store import session_scope
from grace.store.models import InboundMessage, PendingTurn, utcnow


def dedupe_database_url() -> str:
    explicit = os.environ.get("GRACE_DEDUPE_DATABASE_URL")
    if explicit:
        return explicit
    settings = load_settings()
    if settings.database_url.startswith("sqlite"):
        return f"sqlite:///{settings.var_dir / 'inbound.db'}"
    return settings.database_url


def first_delivery(tenant_id: str, channel: str, message_id: str, pending: dict | None = None,
                   pending_id: str | None = None) -> bool:
    """True the first time a (tenant, channel, message id) is seen; False for repeats. With `pending`
    the message is also kept until its turn is done (finish_turn), so a crash after the provider
    was answered loses nothing: the next start replays it. `pending_id` (default: the message id) names
    the pending turn where message ids are unique per tenant only (REST senders choose theirs)."""
    try:
        with session_scope(dedupe_database_url()) as session:
            session.add(InboundMessage(tenant_id=tenant_id, channel=channel, message_id=message_id[:128]))
            if pending is not None:
                session.add(PendingTurn(tenant_id=tenant_id, channel=channel,
                                        message_id=(pending_id or message_id)[:128],
                                        payload=pending))
    except IntegrityError:
        return False
    return True


def finish_turn(channel: str, message_id: str) -> None:
    with session_scope(dedupe_database_url()) as session:
        session.execute(delete(PendingTurn).where(PendingTurn.channel == channel,
                                                  PendingTurn.message_id == message_id[:128]))


def claim_unfinished(channel: str, older_than: timedelta) -> list[dict]:
    """Payloads of turns left unfinished (their process died), each claimed by exactly one caller."""
    claimed = []
    with session_scope(dedupe_database_url()) as session:
        rows = session.execute(select(PendingTurn.id, PendingTurn.payload).where(
            PendingTurn.channel == channel, PendingTurn.created_at < utcnow() - older_than)).all()
        for row_id, payload in rows:
            if session.execute(delete(PendingTurn).where(PendingTurn.id == row_id)).rowcount == 1:
                claimed.append(payload)
    return claimed


def pending_since(channel: str, message_id: str) -> datetime | None:
    """When the unfinished turn of this message was started (or last taken over); None once it is done."""
    with session_scope(dedupe_database_url()) as session:
        return session.execute(select(PendingTurn.created_at).where(
            PendingTurn.channel == channel, PendingTurn.message_id == message_id[:128])).scalar_one_or_none()


def take_over(channel: str, message_id: str, seen: datetime) -> bool:
    """Claim an unfinished turn whose process died, as last seen at `seen` (pending_since): True for exactly
    one of several callers; the turn stays pending (under the new time) until finish_turn."""
    with session_scope(dedupe_database_url()) as session:
        return session.execute(update(PendingTurn).where(
            PendingTurn.channel == channel, PendingTurn.message_id == message_id[:128],
            PendingTurn.created_at == seen).values(created_at=utcnow())).rowcount == 1
