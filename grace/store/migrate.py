"""Schema migrations of the app store (Alembic), run by every process that opens the store.

`get_engine()` calls `upgrade()` once per database per process. Several processes may start at
once (Rasa, action server, gateway, outbox, replicas), so the migration runs under a lock: a
file lock beside a SQLite database, `pg_advisory_lock` on PostgreSQL. A database created before
migrations existed (tables, no `alembic_version`) is stamped with the baseline, then upgraded:
its rows stay.

Operators: `python -m grace.store.migrate [upgrade|current|check] [--url URL]`.
"""
from __future__ import annotations

import argparse
import fcntl
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
# Tables the baseline creates: finding any of them without `alembic_version` means an install
# made by create_all. Other tables (Rasa's `events`) say nothing about the app store.
BASELINE_TABLES = frozenset({
    "contacts", "customers", "fallback_log", "inbound_messages", "notifications", "pending_turns",
    "reply_choices", "stock_locks", "handoffs", "orders", "feedback", "order_lines", "payments",
    "stock_reservations"})
# One advisory lock key for every Grace process migrating the same PostgreSQL database.
ADVISORY_LOCK_KEY = zlib.crc32(b"grace.store.migrate")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Compare only the app's tables: a reflected table unknown to the models belongs to someone
    else (Rasa's tracker store or event broker share the database in the scaled profile)."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    # Parsing the version files is most of Alembic's cost; the answer is the same all process long.
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection held while no other process migrates the same database."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
            with engine.connect() as connection:
                yield connection
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
    else:
        with engine.connect() as connection:
            yield connection


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (adopting a create_all install first); cheap when it is there."""
    with migration_lock(engine) as connection:
        current = current_revision(connection)
        if current is None and BASELINE_TABLES & set(inspect(connection).get_table_names()):
            command.stamp(alembic_config(connection), BASELINE)
            connection.commit()
            current = BASELINE
        if revision == "head" and current == head_revision():
            return
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    with migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        connection.commit()


def differences(connection: Connection) -> list:
    """What the models have that the database has not (or the reverse); empty when they agree."""
    context = MigrationContext.configure(connection, opts={"include_object": include_object, "compare_type": True})
    from grace.store.models import Base

    return compare_metadata(context, Base.metadata)


def main(argv: list[str] | None = None) -> int:
    from grace.store.db import make_engine

    parser = argparse.ArgumentParser(prog="python -m grace.store.migrate", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["upgrade", "current", "check"], nargs="?", default="upgrade")
    parser.add_argument("--url", help="database URL (default: GRACE_DATABASE_URL / DATABASE_URL / var/grace.db)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if args.action == "upgrade":
            upgrade(engine)
            print(f"{where}: at {head_revision()}")
            return 0
        with engine.connect() as connection:
            current = current_revision(connection)
            if args.action == "current":
                print(current or "empty (no migrations applied)")
                return 0
            problems = [f"at {current or 'nothing'}, head is {head_revision()}"] if current != head_revision() else []
            problems += [str(diff) for diff in differences(connection)] if current else []
    except OperationalError as error:
        print(f"{where}: cannot use the database: {error.orig}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if not problems:
        print(f"at {head_revision()}; the schema matches the models")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
