"""The audit log in the store: kept per business, newest first, and append-only in the database itself."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from grace.store.audit import entries, record
from grace.store.db import session_scope


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grace.db'}"
    return request.getfixturevalue("pg_url")


def test_entries_are_listed_newest_first_and_only_for_their_business(db_url):
    with session_scope(db_url) as session:
        record(session, "akanraby", "ada@akanraby.test", "login", ip="203.0.113.9")
        record(session, "kentehouse", "kofi@kentehouse.test", "login")
        record(session, "akanraby", "api-key grk_abc123", "payment_verified", "AK-1001", {"payment": 7})
        record(session, "akanraby", "ada@akanraby.test", "settings_changed", detail={"fields": ["hours"]})
    with session_scope(db_url) as session:
        listed = entries(session, "akanraby")
        assert [(e.action, e.actor, e.target) for e in listed] == [
            ("settings_changed", "ada@akanraby.test", ""), ("payment_verified", "api-key grk_abc123", "AK-1001"),
            ("login", "ada@akanraby.test", "")]
        assert listed[1].detail == {"payment": 7} and listed[2].ip == "203.0.113.9"
        assert [e.actor for e in entries(session, "kentehouse")] == ["kofi@kentehouse.test"]
        assert [e.action for e in entries(session, "akanraby", action="login")] == ["login"]
        assert [e.action for e in entries(session, "akanraby", actor="api-key grk_abc123")] == ["payment_verified"]
        # Paging: the next page starts below the last entry shown.
        first = entries(session, "akanraby", limit=2)
        assert [e.action for e in entries(session, "akanraby", before_id=first[-1].id)] == ["login"]


def test_an_entry_is_kept_only_with_the_change_it_records(db_url):
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        record(session, "akanraby", "ada@akanraby.test", "settings_changed")
        raise RuntimeError("the change failed")
    with session_scope(db_url) as session:
        assert entries(session, "akanraby") == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_to_change_or_remove_an_entry(db_url, statement):
    with session_scope(db_url) as session:
        record(session, "akanraby", "ada@akanraby.test", "payment_rejected", "12")
    with pytest.raises(DatabaseError, match="append-only"), session_scope(db_url) as session:
        session.execute(text(statement))
    with session_scope(db_url) as session:
        assert [(e.actor, e.action) for e in entries(session, "akanraby")] == [
            ("ada@akanraby.test", "payment_rejected")]


def test_a_payment_decided_from_an_ops_whatsapp_is_logged_with_the_number_in_the_decisions_transaction(grace_env):
    from grace.shop.ops import answer_ops
    from grace.tenancy.registry import get_registry
    from tests.test_outbox import OPS, send_proof

    tenant = get_registry().get("akanraby")
    reference = send_proof()
    refused = answer_ops(tenant, OPS, f"REJECT {reference}")  # no reason: refused, nothing decided
    assert reference in refused
    with session_scope() as session:
        assert entries(session, "akanraby") == []
    answer_ops(tenant, OPS, f"APPROVE {reference}")
    with session_scope() as session:
        [entry] = entries(session, "akanraby")
        assert (entry.actor, entry.action, entry.target) == (f"whatsapp {OPS}", "payment_verified", reference)
        assert entries(session, "kentehouse") == []
