"""Remember processed message ids so a redelivered webhook is handled once (also after a restart).

Webhooks are acknowledged only after the id is recorded, so this write is on
the path providers time. With REDIS_URL set (the scaled profile) ids and
pending turns live in Redis (grace/messaging/inbox_redis.py): one round trip, shared by
every replica. Otherwise in SQL: with SQLite the ids live in a database file of
their own (var/inbound.db): the main store's single writer lock is busy with
turns, and SQLite's busy waits would add up to a hundred milliseconds to an
ack. On a server database (PostgreSQL) they share the app store.
GRACE_DEDUPE_DATABASE_URL overrides both.

When Redis fails, that call uses SQL instead, and so do the calls of the next
30 s (GRACE_REDIS_BREAK_S) without trying Redis, so an acknowledged message is
never lost: its pending turn is replayed from SQL too (claim_unfinished always
looks there). The price is rare: a provider redelivering the same message
across Redis's failure or recovery gets it answered twice.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta

from redis import RedisError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from grace.config import load_settings
from grace.messaging import inbox_redis
from grace.store import session_scope
from grace.store.models import InboundMessage, PendingTurn, utcnow

log = logging.getLogger("grace.messaging.inbox")
MAX_ID = inbox_redis.MAX_ID
# Pending turns this process recorded in SQL while REDIS_URL is set (Redis failed): their finish_turn
# must cross them off there. Those of a process that died are claimed from SQL by the next start.
_kept_in_sql: set[tuple[str, str]] = set()


_redis_failed_at = float("-inf")


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def redis_up() -> bool:
    """False for a while after Redis failed (a circuit breaker): a Redis that hangs would otherwise cost
    every webhook its 2-second timeout before SQL takes over."""
    return time.monotonic() >= _redis_failed_at + float(os.environ.get("GRACE_REDIS_BREAK_S", "30"))


def redis_failed() -> None:
    global _redis_failed_at
    _redis_failed_at = time.monotonic()


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
    url = redis_url()
    if url and redis_up():
        try:
            return inbox_redis.first_delivery(url, tenant_id, channel, message_id, pending, pending_id)
        except RedisError as error:
            redis_failed()
            log.error("Redis failed recording message %s on %s (%s): recorded in SQL instead", message_id,
                      channel, error)
    first = _sql_first_delivery(tenant_id, channel, message_id, pending, pending_id)
    if url and first and pending is not None:
        _kept_in_sql.add((channel, (pending_id or message_id)[:MAX_ID]))
    return first


def finish_turn(channel: str, message_id: str) -> None:
    url = redis_url()
    if url and redis_up():
        try:
            inbox_redis.finish_turn(url, channel, message_id)
        except RedisError as error:
            redis_failed()
            log.error("Redis failed crossing off message %s on %s (%s): the next start may answer it again",
                      message_id, channel, error)
        if (channel, message_id[:MAX_ID]) not in _kept_in_sql:
            return
        _kept_in_sql.discard((channel, message_id[:MAX_ID]))
    _sql_finish_turn(channel, message_id)


def claim_unfinished(channel: str, older_than: timedelta) -> list[dict]:
    """Payloads of turns left unfinished (their process died), each claimed by exactly one caller."""
    claimed: list[dict] = []
    url = redis_url()
    if url and redis_up():
        try:
            claimed = inbox_redis.claim_unfinished(url, channel, older_than)
        except RedisError as error:
            redis_failed()
            log.error("Redis failed listing unfinished %s turns (%s): they wait for the next start", channel, error)
    # SQL too with Redis: turns admitted while Redis failed, or before the switch to Redis.
    return claimed + _sql_claim_unfinished(channel, older_than)


def pending_since(channel: str, message_id: str) -> datetime | None:
    """When the unfinished turn of this message was started (or last taken over); None once it is done."""
    url = redis_url()
    if url and redis_up():
        try:
            since = inbox_redis.pending_since(url, channel, message_id)
            if since is not None:
                return since
        except RedisError as error:
            redis_failed()
            log.error("Redis failed reading message %s on %s (%s): looking in SQL", message_id, channel, error)
    return _sql_pending_since(channel, message_id)


def take_over(channel: str, message_id: str, seen: datetime) -> bool:
    """Claim an unfinished turn whose process died, as last seen at `seen` (pending_since): True for exactly
    one of several callers; the turn stays pending (under the new time) until finish_turn."""
    url = redis_url()
    if url and redis_up():
        try:
            outcome = inbox_redis.take_over(url, channel, message_id, seen)
            if outcome != inbox_redis.ABSENT:
                return outcome == inbox_redis.TAKEN
        except RedisError as error:
            redis_failed()
            log.error("Redis failed taking over message %s on %s (%s): trying SQL", message_id, channel, error)
    taken = _sql_take_over(channel, message_id, seen)
    if url and taken:
        _kept_in_sql.add((channel, message_id[:MAX_ID]))
    return taken


def forget_pending_in_redis(tenant_id: str, words: str) -> int:
    """An erased customer's unfinished turns kept in Redis (the scaled profile), removed; how many. The SQL
    ones are rows of pending_turns, which the erasure removes with the rest of the store."""
    url = redis_url()
    return inbox_redis.forget_pending(url, tenant_id, words) if url else 0


def _sql_first_delivery(tenant_id: str, channel: str, message_id: str, pending: dict | None,
                        pending_id: str | None) -> bool:
    try:
        with session_scope(dedupe_database_url()) as session:
            session.add(InboundMessage(tenant_id=tenant_id, channel=channel, message_id=message_id[:MAX_ID]))
            if pending is not None:
                session.add(PendingTurn(tenant_id=tenant_id, channel=channel,
                                        message_id=(pending_id or message_id)[:MAX_ID],
                                        payload=pending))
    except IntegrityError:
        return False
    return True


def _sql_finish_turn(channel: str, message_id: str) -> None:
    with session_scope(dedupe_database_url()) as session:
        session.execute(delete(PendingTurn).where(PendingTurn.channel == channel,
                                                  PendingTurn.message_id == message_id[:MAX_ID]))


def _sql_claim_unfinished(channel: str, older_than: timedelta) -> list[dict]:
    claimed = []
    with session_scope(dedupe_database_url()) as session:
        rows = session.execute(select(PendingTurn.id, PendingTurn.payload).where(
            PendingTurn.channel == channel, PendingTurn.created_at < utcnow() - older_than)).all()
        for row_id, payload in rows:
            if session.execute(delete(PendingTurn).where(PendingTurn.id == row_id)).rowcount == 1:
                claimed.append(payload)
    return claimed


def _sql_pending_since(channel: str, message_id: str) -> datetime | None:
    with session_scope(dedupe_database_url()) as session:
        return session.execute(select(PendingTurn.created_at).where(
            PendingTurn.channel == channel, PendingTurn.message_id == message_id[:MAX_ID])).scalar_one_or_none()


def _sql_take_over(channel: str, message_id: str, seen: datetime) -> bool:
    with session_scope(dedupe_database_url()) as session:
        return session.execute(update(PendingTurn).where(
            PendingTurn.channel == channel, PendingTurn.message_id == message_id[:MAX_ID],
            PendingTurn.created_at == seen).values(created_at=utcnow())).rowcount == 1
