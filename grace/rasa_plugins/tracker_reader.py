"""Read access to Rasa's tracker store (its `events` table) for the dashboard, analytics and the
learning loop: one engine per database for the process, never a file created by looking."""
from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from grace.store.db import ping_when_idle

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def tracker_engine(url: str) -> Engine | None:
    """The engine for the tracker database at `url`; None when it is a SQLite file that does not
    exist yet (no conversation so far), since connecting would create an empty file where Rasa
    keeps its own."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return None
    with _lock:
        if url not in _engines:
            connect_args = {"timeout": 30} if parsed.get_backend_name() == "sqlite" else {}
            _engines[url] = ping_when_idle(create_engine(url, future=True, connect_args=connect_args))
        return _engines[url]
