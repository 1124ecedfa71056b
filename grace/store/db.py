"""Engines per database URL and one short-lived session per unit of work."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from grace.config import load_settings
from grace.store.migrate import upgrade

_engines: dict[str, tuple[Engine, sessionmaker]] = {}
_lock = threading.Lock()
# A pooled connection to a server may be dead: the server restarted or failed over, or something between
# closed it while idle. SQLAlchemy's pre-ping asks before every checkout, a round trip per unit of work (about
# 2.6 a turn). A connection in steady use has just answered; one idle for longer than this is asked first.
IDLE_PING_S = 5.0


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
    return ping_when_idle(create_engine(url, future=future))


def ping_when_idle(engine: Engine) -> Engine:
    """Has `engine`'s pool ask a connection idle for IDLE_PING_S or more whether it is alive before handing
    it out; if it is closed, the pool replaces it and every connection opened before it, and the caller never
    sees it. A connection that dies while in steady use fails the unit of work using it, and SQLAlchemy then
    replaces every connection the pool opened before."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def idle_from(_dbapi_connection, record) -> None:
        record.info["grace_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def alive_if_idle(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop("grace_idle_since", None)  # None: pooled before this engine was watched
        if since is not None and time.monotonic() - since < IDLE_PING_S:
            return
        if not dialect.do_ping(dbapi_connection):  # False: closed (another error is raised as it is)
            # the others idle as long are likely closed too (a restart): the pool replaces all of them
            raise InvalidatePoolError("an idle connection was found closed")
    return engine


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
