"""A customer's conversation as Rasa's tracker store keeps it (table `events`), read only."""
from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from grace.config import load_settings
from grace.inbound import conversation_id

MAX_TURNS = 200


@functools.lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    return create_engine(url, future=True, pool_pre_ping=True)


def history(tenant_id: str, phone: str, url: str | None = None) -> list[dict]:
    """The last messages of the conversation, oldest first: {"who": "customer"|"grace", "text", "at"}.
    Empty when the tracker store has none (or does not exist yet)."""
    url = url or load_settings().tracker_database_url
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        return []
    query = text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :sender "
                 "AND type_name IN ('user', 'bot') ORDER BY id DESC LIMIT :n")
    try:
        with _engine(url).connect() as connection:
            rows = connection.execute(query, {"sender": conversation_id(tenant_id, phone), "n": MAX_TURNS}).all()
    except SQLAlchemyError:  # no tracker table yet: Rasa creates it on its first turn
        return []
    turns = []
    for type_name, timestamp, data in reversed(rows):
        event = json.loads(data) if isinstance(data, str) else (data or {})
        body = event.get("text") or ("[image]" if (event.get("data") or {}).get("image") else "")
        at = datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)
        turns.append({"who": "customer" if type_name == "user" else "grace", "text": body, "at": at})
    return turns


def _sqlite_file_exists(url: str) -> bool:
    path = url.split("///", 1)[-1]
    return bool(path) and Path(path).exists()
