"""A customer's conversation: what Rasa's tracker store keeps (table `events`, read only), with the
team's own replies (outbox rows of kind ops_reply, which Rasa never sees) in their place by time."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grace.config import load_settings
from grace.messaging.inbound import MEDIA_INTENT, conversation_id
from grace.messaging.notifications import OPS_REPLY
from grace.messaging.takeover import AUTHOR
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.store.models import Notification

MAX_TURNS = 200
EXTERNAL_PREFIX = "EXTERNAL: "  # Rasa's text for an intent triggered through its API (rasa.shared.core.constants)


def history(tenant_id: str, phone: str, url: str | None = None) -> list[dict]:
    """The last messages of the conversation, oldest first: {"who": "customer"|"grace"|"ops", "text", "at",
    "image"} (image: a picture's http(s) URL, or ""; "ops": a person's reply during a takeover, with "by").
    Empty when the tracker store has none (or does not exist yet)."""
    engine = tracker_engine(url or load_settings().tracker_database_url)
    if engine is None:
        return []
    query = text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :sender "
                 "AND type_name IN ('user', 'bot') ORDER BY id DESC LIMIT :n")
    try:
        with engine.connect() as connection:
            rows = connection.execute(query, {"sender": conversation_id(tenant_id, phone), "n": MAX_TURNS}).all()
    except SQLAlchemyError:  # no tracker table yet: Rasa creates it on its first turn
        return []
    turns = []
    for type_name, timestamp, data in reversed(rows):
        event = json.loads(data) if isinstance(data, str) else (data or {})
        if type_name == "user" and str(event.get("text") or "").startswith(EXTERNAL_PREFIX):
            continue  # Grace's own trigger (a payment verified...), not the customer's words; her answer follows
        image = _image_of(event, type_name)
        body = words_of(event, type_name) or ("" if image else _unshown_attachment(event, type_name))
        at = datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)
        turn = {"who": "customer" if type_name == "user" else "grace", "text": body, "at": at, "image": image}
        author = (event.get("metadata") or {}).get(AUTHOR) if type_name == "bot" else None
        if author:  # a person of the team replied during a takeover (sent at once, from the inbox API)
            turn.update(who="ops", by=str(author), status="sent", problem="")
        turns.append(turn)
    return turns


def words_of(event: dict, type_name: str) -> str:
    """The turn's words as written: Rasa reads a customer's picture as an intent literal (their caption is
    in the metadata) and keeps only the start of a long message."""
    words = str(event.get("text") or "")
    if type_name != "user":
        return words
    metadata = event.get("metadata") or {}
    if words == MEDIA_INTENT:
        return str(metadata.get("caption") or "")
    return str(metadata.get("full_text") or words)


def _unshown_attachment(event: dict, type_name: str) -> str:
    """A placeholder for a file the turn carried that the page cannot show (private, or a voice note)."""
    if type_name == "bot":
        return "[image]" if (event.get("data") or {}).get("image") else ""
    return "[attachment]" if (event.get("metadata") or {}).get("media") else ""


def _image_of(event: dict, type_name: str) -> str:
    """The picture a turn carried, when it is one a page can show (http(s)): Grace's fabric images, a
    customer's upload when the media base URL makes it public."""
    if type_name == "bot":
        url = str((event.get("data") or {}).get("image") or "")
    else:
        media = (event.get("metadata") or {}).get("media") or []
        url = str(media[0].get("url") or "") if media and isinstance(media[0], dict) else ""
    return url if url.startswith(("https://", "http://")) else ""


def ops_replies(session: Session, tenant_id: str, phone: str) -> list[dict]:
    """The team's replies to the customer, oldest first, with whether each reached them."""
    # Recipients is a JSON list, which PostgreSQL's json type cannot compare: the tenant's replies are
    # few (people type them), so they are picked out here.
    rows = session.scalars(select(Notification).where(
        Notification.tenant_id == tenant_id, Notification.audience == "customer", Notification.kind == OPS_REPLY,
    ).order_by(Notification.id))
    recipient = conversation_id(tenant_id, phone)
    return [{"who": "ops", "text": row.payload.get("text", ""), "at": row.created_at.replace(tzinfo=timezone.utc),
             "by": row.payload.get("by", ""), "status": row.status, "problem": row.last_error or ""}
            for row in rows if row.recipients == [recipient]]


def conversation(session: Session, tenant_id: str, phone: str, url: str | None = None) -> list[dict]:
    """The conversation and the team's replies, oldest first (see `history` and `ops_replies`)."""
    turns = history(tenant_id, phone, url) + ops_replies(session, tenant_id, phone)
    return sorted(turns, key=lambda turn: turn["at"])
