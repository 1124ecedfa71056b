"""Schema migrations of the app store, on SQLite and on the real PostgreSQL of this machine."""
from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from grace.store.db import get_engine, make_engine, session_scope
from grace.store.migrate import BASELINE, current_revision, differences, downgrade, head_revision, main, upgrade
from grace.store.models import Customer


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grace.db'}"
    return request.getfixturevalue("pg_url")


def test_an_empty_database_is_migrated_to_a_schema_that_matches_the_models(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        # The guard for every later model change: a column added to models.py without a
        # migration (or the reverse) shows up here.
        assert differences(connection) == []
    engine.dispose()


def test_a_database_made_by_create_all_is_adopted_with_its_rows(db_url):
    # Before migrations, get_engine() ran create_all: the baseline schema without alembic_version.
    engine = make_engine(db_url)
    upgrade(engine, BASELINE)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text(
            "INSERT INTO customers (tenant_id, phone, name, preferences, first_seen_at, last_seen_at) "
            "VALUES ('akanraby', '+2348011111111', 'Ada', '{}', '2026-01-02 03:04:05', '2026-01-02 03:04:05')"))
    engine.dispose()

    get_engine(db_url)  # what every process does on start
    with session_scope(db_url) as session:
        customer = session.execute(select(Customer).where(Customer.tenant_id == "akanraby")).scalar_one()
        assert (customer.phone, customer.name) == ("+2348011111111", "Ada")
    engine, _ = get_engine(db_url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert differences(connection) == []
    engine.dispose()


def test_downgrade_to_nothing_and_back_again(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    with engine.connect() as connection:
        assert differences(connection) == []
    engine.dispose()


def test_accounts_made_before_emails_were_per_business_stay_and_the_rule_becomes_per_business(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0003_accounts")  # an email was unique across all businesses
    add = text("INSERT INTO users (tenant_id, email, role, password_hash, must_change_password, created_at) "
               "VALUES (:tenant, 'ada@example.test', 'owner', 'x', 0, '2026-01-02 03:04:05')")
    with engine.begin() as connection:
        connection.execute(add, {"tenant": "akanraby"})
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(add, {"tenant": "kentehouse"})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(add, {"tenant": "akanraby"})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT tenant_id FROM users ORDER BY tenant_id")).scalars().all() == [
            "akanraby", "kentehouse"]
    # Down again once no email has accounts at two businesses: unique across them again.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE tenant_id = 'kentehouse'"))
    downgrade(engine, "0003_accounts")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(add, {"tenant": "kentehouse"})
    engine.dispose()


def _open_store(url: str) -> str | None:
    engine, _ = get_engine(url)
    with engine.connect() as connection:
        return current_revision(connection)


def test_processes_starting_together_migrate_once_and_all_start(db_url):
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        revisions = pool.map(_open_store, [db_url] * 3)
    assert revisions == [head_revision()] * 3


def test_the_operators_check_tells_a_database_behind_the_code(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'grace.db'}"
    upgrade(make_engine(url), BASELINE)
    assert main(["check", "--url", url]) == 1
    assert f"at {BASELINE}, head is {head_revision()}" in capsys.readouterr().out
    assert main(["upgrade", "--url", url]) == 0
    assert main(["check", "--url", url]) == 0
    assert "the schema matches the models" in capsys.readouterr().out


def test_the_second_sqlite_file_for_message_ids_still_works(grace_env):
    from grace.messaging.inbox import first_delivery

    assert first_delivery("akanraby", "whatsapp", "SM1") is True
    assert first_delivery("akanraby", "whatsapp", "SM1") is False
    assert (grace_env / "var" / "inbound.db").exists()


def test_the_operators_check_says_when_the_database_cannot_be_reached(capsys):
    assert main(["check", "--url", "postgresql://postgres:pw@127.0.0.1:1/grace"]) == 2
    error = capsys.readouterr().err
    assert "cannot use the database" in error and "pw" not in error
