"""The profile switch: which services Rasa's endpoints name, read back the way Rasa reads them."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import create_engine, text

from grace.config import load_settings
from grace.rasa_plugins.event_broker import AnalyticsEventBroker
from grace.rasa_plugins.lock_store import AtomicRedisLockStore
from grace.rasa_plugins.profile import ProfileError, load_profile, write_endpoints
from grace.store.db import get_engine
from grace.store.migrate import differences

ACTIONS = "http://127.0.0.1:5055/webhook"
SECRET_DB = "postgresql://grace:s3cret@db.internal:5432/grace"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("GRACE_PROFILE", "GRACE_DATABASE_URL", "DATABASE_URL", "GRACE_TRACKER_DATABASE_URL", "REDIS_URL",
                 "SANIC_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRACE_ACTIONS_TOKEN", "actions-secret")  # Rasa refuses endpoints naming an unset one
    return monkeypatch


def written(tmp_path, name: str = "endpoints.yml"):
    path = write_endpoints(tmp_path / name, load_profile(), ACTIONS, tmp_path / "var" / "tracker.db")
    return str(path)


def test_embedded_by_default_sqlite_tracker_in_memory_lock_no_broker(clean_env, tmp_path):
    assert load_profile().name == "embedded"
    path = written(tmp_path)
    tracker = read_endpoint_config(path, "tracker_store")
    assert (tracker.type, tracker.kwargs["dialect"], tracker.kwargs["db"]) == (
        "grace.rasa_plugins.tracker_store.GraceSQLTrackerStore", "sqlite", str(tmp_path / "var" / "tracker.db"))
    assert read_endpoint_config(path, "action_endpoint").url == ACTIONS
    assert read_endpoint_config(path, "lock_store") is None
    assert read_endpoint_config(path, "event_broker") is None


def test_scaled_names_postgresql_redis_and_the_broker_without_writing_secrets(clean_env, tmp_path):
    clean_env.setenv("GRACE_PROFILE", "scaled")
    clean_env.setenv("DATABASE_URL", SECRET_DB)
    clean_env.setenv("REDIS_URL", "redis://:r3dis@cache.internal:6379/2")
    assert load_profile().name == "scaled"
    path = written(tmp_path)
    assert "s3cret" not in open(path).read() and "r3dis" not in open(path).read()
    # Rasa expands ${...} from its environment when it reads the file.
    tracker = read_endpoint_config(path, "tracker_store")
    assert (tracker.type, tracker.url) == ("grace.rasa_plugins.tracker_store.GraceSQLTrackerStore", SECRET_DB)
    lock = read_endpoint_config(path, "lock_store")
    assert (lock.type, lock.url) == ("grace.rasa_plugins.lock_store.AtomicRedisLockStore", "redis://:r3dis@cache.internal:6379/2")
    broker = read_endpoint_config(path, "event_broker")
    assert (broker.type, broker.url) == ("grace.rasa_plugins.event_broker.AnalyticsEventBroker", SECRET_DB)


def test_one_variable_moves_only_its_service(clean_env, tmp_path):
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_profile().name == "scaled"
    path = written(tmp_path)
    assert read_endpoint_config(path, "lock_store").type == "grace.rasa_plugins.lock_store.AtomicRedisLockStore"
    assert read_endpoint_config(path, "tracker_store").kwargs["dialect"] == "sqlite"
    assert read_endpoint_config(path, "event_broker") is None


def test_the_tracker_may_have_a_database_of_its_own(clean_env, tmp_path):
    clean_env.setenv("GRACE_TRACKER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/conversations")
    path = written(tmp_path)
    assert read_endpoint_config(path, "tracker_store").url == "postgresql://postgres@127.0.0.1:5432/conversations"
    assert read_endpoint_config(path, "event_broker") is None  # the app store is still SQLite


@pytest.mark.parametrize("env, names", [
    ({"GRACE_PROFILE": "scaled"}, ["DATABASE_URL", "REDIS_URL"]),
    ({"GRACE_PROFILE": "scaled", "DATABASE_URL": SECRET_DB}, ["REDIS_URL"]),
    ({"GRACE_PROFILE": "scaled", "DATABASE_URL": "sqlite:////tmp/g.db", "REDIS_URL": "redis://x"}, ["DATABASE_URL"]),
    ({"GRACE_PROFILE": "embedded", "REDIS_URL": "redis://x"}, ["REDIS_URL"]),
    ({"GRACE_PROFILE": "scaledd"}, ["embedded, scaled"]),
    ({"SANIC_WORKERS": "2"}, ["SANIC_WORKERS=2", "REDIS_URL"]),
])
def test_a_profile_without_its_services_is_refused_with_what_is_missing(clean_env, env, names):
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ProfileError) as refused:
        load_profile()
    for name in names:
        assert name in str(refused.value)


def test_several_workers_are_allowed_with_redis(clean_env):
    clean_env.setenv("SANIC_WORKERS", "4")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_profile().redis_variable == "REDIS_URL"


def test_rasa_builds_the_scaled_services_from_the_file_and_they_share_one_database(clean_env, tmp_path, pg_url):  # noqa: F811
    clean_env.setenv("GRACE_PROFILE", "scaled")
    clean_env.setenv("DATABASE_URL", "postgres://" + pg_url.removeprefix("postgresql://"))  # as Heroku hands it out
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/13")
    assert load_settings().database_url == pg_url  # Grace reads it as SQLAlchemy needs it; Rasa's plug-ins too
    path = written(tmp_path)
    engine, _ = get_engine(pg_url)  # the app store, migrated, in the same database

    async def one_turn() -> None:
        broker = await EventBroker.create(read_endpoint_config(path, "event_broker"))
        assert isinstance(broker, AnalyticsEventBroker)
        tracker_store = TrackerStore.create(read_endpoint_config(path, "tracker_store"), Domain.empty(), broker)
        tracker = DialogueStateTracker.from_events("akanraby:+2348011111111", [UserUttered("abeg how much")])
        await tracker_store.save(tracker)
        broker.engine.dispose()
        tracker_store.engine.dispose()

    asyncio.run(one_turn())
    lock_store = LockStore.create(read_endpoint_config(path, "lock_store"))
    assert isinstance(lock_store, AtomicRedisLockStore)
    conversation = f"profiletest:{uuid.uuid4().hex}"
    assert lock_store.issue_ticket(conversation, 5) == 0
    lock_store.cleanup(conversation, 0)

    check = create_engine(pg_url, future=True)
    with check.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events WHERE type_name = 'user'")).scalar() == 1
        assert "abeg how much" in connection.execute(text("SELECT data FROM analytics_events")).scalar()
        assert differences(connection) == []  # Rasa's tables do not confuse the app store's check
    check.dispose()
    engine.dispose()


def test_containers_write_their_endpoints_with_the_command_and_are_told_what_is_missing(clean_env, tmp_path, capsys):
    from grace.rasa_plugins.profile import main

    clean_env.setenv("GRACE_PROFILE", "scaled")
    assert main([str(tmp_path / "endpoints.yml"), "--actions-url", "http://actions:5055/webhook"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err
    assert not (tmp_path / "endpoints.yml").exists()
    clean_env.setenv("DATABASE_URL", SECRET_DB)
    clean_env.setenv("REDIS_URL", "redis://redis:6379/0")
    assert main([str(tmp_path / "var" / "endpoints.yml"), "--actions-url", "http://actions:5055/webhook"]) == 0
    endpoints = str(tmp_path / "var" / "endpoints.yml")
    assert read_endpoint_config(endpoints, "action_endpoint").url == "http://actions:5055/webhook"
    assert read_endpoint_config(endpoints, "lock_store").url == "redis://redis:6379/0"
