"""Rasa's SQL tracker store, tuned for SQLite.

endpoints.yml: `type: grace.rasa_plugins.tracker_store.GraceSQLTrackerStore`.

Rasa opens SQLite with its defaults: a rollback journal and a full sync on
every commit, i.e. a disk flush for each turn, and a new connection for each
read and write. Grace's SQLite engine (grace/store/db.py) uses WAL with
synchronous=NORMAL, which keeps the database consistent on a crash (a power
cut may lose the last turns, never corrupt the file) and lets reads run beside
the writer, and keeps its connections pooled. Any other dialect (PostgreSQL)
is Rasa's store unchanged.
"""
from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from grace.config import sqlalchemy_url
from grace.store.db import make_engine


class GraceSQLTrackerStore(SQLTrackerStore):
    engine: Engine  # set by SQLTrackerStore.__init__; declared here as Rasa's is inferred from an untyped call

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("host"), str):  # endpoints.yml `url: ${DATABASE_URL}` arrives as the host
            kwargs["host"] = sqlalchemy_url(kwargs["host"])
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url.render_as_string(hide_password=False)
            self.engine.dispose()
            self.engine = make_engine(url, future=False)  # as Rasa's: its queries use SQLAlchemy 1.3's API
            self.sessionmaker = sessionmaker(bind=self.engine)
