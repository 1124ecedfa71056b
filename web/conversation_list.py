"""A tenant's WhatsApp conversations as the team sees them (/api/v1/conversations): what Rasa's tracker store
keeps (table `events`, read only), with who of the team has each one (grace.messaging.takeover) and whether
the customer asked for a person.

Only WhatsApp conversations are listed: a person can answer those (REST and simulator senders have no number
to write to). A conversation is named by Grace's own id, "<tenant>:<phone>"; one of another tenant, or one
that does not exist, is simply not found.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import and_, func, not_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grace.config import load_settings
from grace.messaging.conversation_events import TRACKER_EVENTS
from grace.messaging.inbound import (
    REST_NAMESPACE,
    SIMULATOR_NAMESPACE,
    conversation_id,
    is_whatsapp_customer,
    split_conversation_id,
)
from grace.messaging.takeover import AUTHOR, HELD, HELD_FOR, idle_limit, is_active, needing_a_person
from grace.messaging.team_notes import labels_of
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.store.models import Customer, Takeover, utcnow
from web.conversations import EXTERNAL_PREFIX, ops_replies, words_of

EVENTS = TRACKER_EVENTS
MAX_MESSAGES = 200


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat().replace("+00:00", "Z")


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _at(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)


def _whatsapp_turns_of(tenant_id: str):
    prefix = conversation_id(tenant_id, "")
    return and_(EVENTS.c.sender_id.startswith(prefix, autoescape=True),
                not_(EVENTS.c.sender_id.startswith(prefix + REST_NAMESPACE, autoescape=True)),
                not_(EVENTS.c.sender_id.startswith(prefix + SIMULATOR_NAMESPACE, autoescape=True)),
                EVENTS.c.type_name.in_(("user", "bot")))


def _engine():
    return tracker_engine(load_settings().tracker_database_url)


def is_conversation(tenant_id: str, conversation: str) -> bool:
    """A WhatsApp conversation of this tenant that the tracker store holds."""
    owner, customer = split_conversation_id(conversation)
    if owner != tenant_id or not customer or not is_whatsapp_customer(customer):
        return False
    engine = _engine()
    if engine is None:
        return False
    try:
        with engine.connect() as connection:
            return connection.execute(select(EVENTS.c.id).where(EVENTS.c.sender_id == conversation).limit(1)
                                      ).first() is not None
    except SQLAlchemyError:  # no tracker table yet: Rasa creates it on its first turn
        return False


def message_json(type_name: str, timestamp: float | None, data: str | dict | None) -> dict | None:
    """One tracker event as the team reads it, or None for Grace's own triggers (an ops verdict reaching the
    conversation is not the customer's words). who: customer, grace or person (a reply of the team)."""
    event = json.loads(data) if isinstance(data, str) else (data or {})
    text = str(event.get("text") or "")
    metadata = event.get("metadata") or {}
    if type_name == "user":
        if text.startswith(EXTERNAL_PREFIX):
            return None
        media = [m for m in metadata.get("media") or [] if isinstance(m, dict)]
        words = words_of(event, type_name)
        message = {"who": "customer", "text": words, "at": _iso(_at(timestamp)),
                   "media": [{"url": m.get("url"), "content_type": m.get("content_type")} for m in media],
                   "held": bool(metadata.get(HELD_FOR))}
        if metadata.get("media_problems"):
            message["media_problems"] = list(metadata["media_problems"])
        return message
    author = metadata.get(AUTHOR)
    return {"who": "person" if author else "grace", "text": text, "at": _iso(_at(timestamp)),
            "image": str((event.get("data") or {}).get("image") or ""), "author": author or None}


def takeover_json(row: Takeover | None, now: datetime) -> dict | None:
    if row is None or not is_active(row, idle_limit(row.tenant_id), now):
        return None
    return {"user_id": row.user_id, "by": row.taken_by, "since": _iso(row.taken_at),
            "last_human_activity_at": _iso(row.last_human_at)}


def _takeovers(session: Session, tenant_id: str) -> dict[str, Takeover]:
    rows = session.scalars(select(Takeover).where(Takeover.tenant_id == tenant_id, HELD))
    return {row.conversation_id: row for row in rows}


def _names(session: Session, tenant_id: str, phones: list[str]) -> dict[str, str | None]:
    if not phones:
        return {}
    rows = session.execute(select(Customer.phone, Customer.name).where(Customer.tenant_id == tenant_id,
                                                                       Customer.phone.in_(phones)))
    return {phone: name for phone, name in rows}


def summary_json(conversation: str, name: str | None, last: dict | None, last_at: float | None,
                 takeover: Takeover | None, needs_person: bool, now: datetime, labels: list[str]) -> dict:
    _, phone = split_conversation_id(conversation)
    return {"id": conversation, "customer": {"phone": phone, "name": name}, "last_message": last,
            "last_activity_at": _iso(_at(last_at)) if last_at is not None else None,
            "taken_over": takeover_json(takeover, now), "needs_person": needs_person, "labels": labels}


def conversations(session: Session, tenant_id: str, limit: int = 50, now: datetime | None = None,
                  only: set[str] | None = None) -> list[dict]:
    """The tenant's WhatsApp conversations, newest activity first (of the `only` ones when given)."""
    engine = _engine()
    if engine is None or only == set():
        return []
    turns = _whatsapp_turns_of(tenant_id)
    if only is not None:
        turns = and_(turns, EVENTS.c.sender_id.in_(sorted(only)))
    last = (select(EVENTS.c.sender_id, func.max(EVENTS.c.id).label("last_id")).where(turns)
            .group_by(EVENTS.c.sender_id).subquery())
    query = (select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
             .join(last, EVENTS.c.id == last.c.last_id)
             .order_by(EVENTS.c.timestamp.desc(), EVENTS.c.id.desc()).limit(limit))
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError:  # no tracker table yet
        return []
    now = now or utcnow()
    takeovers, asked = _takeovers(session, tenant_id), needing_a_person(session, tenant_id)
    names = _names(session, tenant_id, [split_conversation_id(sender)[1] for sender, *_ in rows])
    labels = labels_of(session, tenant_id, [sender for sender, *_ in rows])
    return [summary_json(sender, names.get(split_conversation_id(sender)[1]), message_json(kind, at, data), at,
                         takeovers.get(sender), sender in asked, now, labels.get(sender, []))
            for sender, kind, at, data in rows]


def conversation_summary(session: Session, tenant_id: str, conversation: str, now: datetime | None = None) -> dict:
    """One conversation as the list shows it (it must exist: is_conversation)."""
    now = now or utcnow()
    messages = transcript(session, tenant_id, conversation, limit=1, with_team_replies=False)
    last = messages[-1] if messages else None
    _, phone = split_conversation_id(conversation)
    last_at = _parse(last["at"]).timestamp() if last else None
    return summary_json(conversation, _names(session, tenant_id, [phone]).get(phone), last, last_at,
                        _takeovers(session, tenant_id).get(conversation),
                        conversation in needing_a_person(session, tenant_id), now,
                        labels_of(session, tenant_id, [conversation]).get(conversation, []))


def transcript(session: Session, tenant_id: str, conversation: str, limit: int = MAX_MESSAGES,
               with_team_replies: bool = True) -> list[dict]:
    """The conversation's last messages, oldest first: the customer's (those kept for a person while it was
    taken over marked `held`), Grace's, and the team's (a reply during a takeover, or a handoff answered from
    the dashboard, with whether it reached the customer)."""
    engine = _engine()
    messages: list[dict] = []
    if engine is not None:
        query = (select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
                 .where(EVENTS.c.sender_id == conversation, EVENTS.c.type_name.in_(("user", "bot")))
                 .order_by(EVENTS.c.id.desc()).limit(limit))
        try:
            with engine.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError:
            rows = []
        messages = [m for m in (message_json(*row) for row in reversed(rows)) if m is not None]
    if with_team_replies:
        _, phone = split_conversation_id(conversation)
        for reply in ops_replies(session, tenant_id, phone):
            messages.append({"who": "person", "text": reply["text"], "at": _iso(reply["at"]), "image": "",
                             "author": reply["by"] or None, "delivery": reply["status"],
                             "problem": reply["problem"] or None})
        messages.sort(key=lambda m: _parse(m["at"]))
    return messages


SEARCHED_EVENTS = 20_000  # the newest turns a search reads: months of a small business's conversations


def conversations_mentioning(tenant_id: str, words: str) -> set[str]:
    """The tenant's WhatsApp conversations in which the customer, Grace or the team wrote `words` (any case,
    among the newest SEARCHED_EVENTS turns), or whose customer's number has them."""
    engine = _engine()
    words = words.strip().lower()
    if engine is None or not words:
        return set()
    query = (select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.data).where(_whatsapp_turns_of(tenant_id))
             .order_by(EVENTS.c.id.desc()).limit(SEARCHED_EVENTS))
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError:
        return set()
    found = set()
    for sender, type_name, data in rows:
        if sender in found:
            continue
        # The words as written, not the event's JSON (whose keys and intent names would match too).
        event = json.loads(data) if isinstance(data, str) else (data or {})
        if words in words_of(event, type_name).lower() or (words.lstrip("+").isdigit() and words in sender):
            found.add(sender)
    return found
