"""What a scaled run needs on this machine, kept apart from a developer's data: a throwaway PostgreSQL
database, an empty Redis db, tenants with stock for hundreds of buyers. Used by tests/scale and
tests/bench/per_core.py."""
from __future__ import annotations

import csv
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL

REDIS_DBS = (11, 10, 9, 8)  # apart from Rasa's default lock db (1) and the lock store tests' (13)
MAX_STOCK = "100000"  # the catalog parser's largest


@contextmanager
def throwaway_database(prefix: str = "grace_scale") -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards (connections still open are ended)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    # pre-ping: the server may have been restarted (by a test) since this engine's connection was opened
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True, pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        ensure_postgres()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def empty_redis_db() -> Iterator[str]:
    """The URL of a Redis db with no keys, emptied afterwards."""
    for db in REDIS_DBS:
        client = redis.Redis(host="127.0.0.1", port=6379, db=db)
        if client.dbsize() == 0:
            try:
                yield f"redis://127.0.0.1:6379/{db}"
            finally:
                client.flushdb()
            return
    raise RuntimeError(f"no empty Redis db among {REDIS_DBS}")


def _pg_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True,
                   capture_output=True, timeout=120)


def restart_postgres() -> None:
    _pg_ctl("restart")


def ensure_postgres() -> None:
    """PostgreSQL up again whatever a test did to it."""
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        _pg_ctl("start")


def plenty_of_stock(tenants: Path) -> None:
    """Hundreds of customers buy the same fabric in a load; the shipped stock would sell out (a reply of its own)."""
    for catalog in tenants.glob("*/catalog.csv"):
        with catalog.open(newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            row["stock"] = MAX_STOCK
        with catalog.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
