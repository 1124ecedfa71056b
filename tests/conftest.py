from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from grace.store.db import make_engine
from grace.store.migrate import upgrade
from tests.fakes.s3_api import FakeS3
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import chromium, make_tenants, use_bucket
from tests.running import grace  # noqa: F401  (the running Grace, for tests/e2e and tests/security)

# Tests that need this machine's PostgreSQL, Redis or Chromium run in `make services-tests`, so that
# `make unit` needs none of them. Marked here by the fixtures (and parameters) that reach them.
SERVICE_FIXTURES = {"pg_url", "browser", "page", "redis_inbox", "postgres_tracker_url", "key_prefix"}
SERVICE_PARAMS = ("postgresql", "redis")


def pytest_collection_modifyitems(items):
    for item in items:
        params = getattr(getattr(item, "callspec", None), "id", "") or ""
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) or any(p in params for p in SERVICE_PARAMS):
            item.add_marker(pytest.mark.services)


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (SQLite's backup API: whatever its WAL still holds included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory) -> Path:
    """An empty store at the schema's head, made once: each test starts from a copy of it instead of running
    every migration again (about 0.1 s a test). tests/test_migrations.py migrates stores of its own."""
    path = tmp_path_factory.mktemp("migrated") / "grace.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def grace_env(tmp_path, monkeypatch, migrated_store):
    """A fresh store (SQLite file, empty, at the schema's head) and tenants folder for each test."""
    copy_store(migrated_store, tmp_path / "var" / "grace.db")
    tenants = make_tenants(tmp_path)
    monkeypatch.setenv("GRACE_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("GRACE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GRACE_DEFAULT_TENANT", "akanraby")
    monkeypatch.delenv("GRACE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)  # a developer's shell must not move the SQL inbox to Redis
    return tmp_path


@pytest.fixture
def s3(grace_env, monkeypatch):
    """A local S3 API where Grace keeps media (set through the environment)."""
    with FakeS3() as fake:
        use_bucket(monkeypatch, fake)
        yield fake


@pytest.fixture
def twilio(grace_env, monkeypatch):
    """A local Twilio API the production clients talk to (set through the environment)."""
    with FakeTwilio() as fake:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
        monkeypatch.setenv("TWILIO_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
        yield fake


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url():
    """A throwaway PostgreSQL database on this machine's server, dropped afterwards. Fails (never
    skips) when PostgreSQL is down: `make unit` starts it."""
    name = f"grace_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module (tests/helpers.py chromium)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A fresh browser page (no cookies) for one test. Pages that wait on Rasa may take a while."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()
