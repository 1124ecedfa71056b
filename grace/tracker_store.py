"""Rasa's SQL tracker store, tuned for SQLite (endpoints.yml `type: grace.tracker_store.GraceSQLTrackerStore`).

Rasa opens SQLite with its defaults: a rollback journal and a full sync on
every commit, i.e. a disk flush for each turn. WAL with synchronous=NORMAL
keeps the database consistent on a crash (a power cut may lose the last
turns, never corrupt the file) and lets reads run beside the writer.
Any other dialect (PostgreSQL) is Rasa's store unchanged.
"""
from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import event

from grace.store.db import sqlite_pragmas


class GraceSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)
            self.engine.dispose()  # connections opened during set-up get the pragmas when reopened
