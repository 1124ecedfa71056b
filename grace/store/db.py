"""Engines per database URL and one short-lived session per unit of work."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from grace.config import load_settings
from grace.store.migrate import upgrade

_engines: dict[str, tuple[Engine, sessionmaker]] = {}
_lock = threading.Lock()


def sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; the timeout makes writers queue
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, an app crash
    # loses nothing. FULL would flush the disk on every commit of every turn.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None, future: bool = True) -> Engine:
    """An engine for `url` (default: the configured store) with Grace's settings; the schema untouched.
    `future=False` for code written against SQLAlchemy 1.3's API (Rasa's tracker store)."""
    url = url or load_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pooled, not SQLAlchemy 1.4's default NullPool for SQLite files: a connection per unit of work
        # paid for the pragmas on open and, on close, a WAL checkpoint (about 1.5 ms a write, much more
        # on a busy disk; measured on the webhook's ack).
        engine = create_engine(url, future=future, poolclass=QueuePool, pool_size=5, max_overflow=15,
                               connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", sqlite_pragmas)
        return engine
    return create_engine(url, future=future, pool_pre_ping=True)


def get_engine(url: str | None = None) -> tuple[Engine, sessionmaker]:
    """The engine and session factory for `url` (default: the configured store), schema migrated to head."""
    url = url or load_settings().database_url
    found = _engines.get(url)  # every unit of work asks: no lock once the engine is there
    if found is not None:
        return found
    with _lock:
        if url in _engines:
            return _engines[url]
        engine = make_engine(url)
        upgrade(engine)
        factory = sessionmaker(engine, future=True, expire_on_commit=False)
        _engines[url] = (engine, factory)
        return engine, factory


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session for one unit of work: committed on success, rolled back on error."""
    _, factory = get_engine(url)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
