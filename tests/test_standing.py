"""A business's standing with the platform: a suspension is kept with its reason and lifted by resume, both in the
business's audit log; refusals change nothing; the turn path's answer is kept a few seconds per process, at once
in the process that suspends; a plan is one that plans.yml names."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from grace.store import session_scope
from grace.store.audit import entries
from grace.tenancy.standing import StandingError, account_of, resume, set_plan, suspend, suspended
from tests.helpers import ROOT


def audit_of(tenant_id: str) -> list[tuple[str, str, dict]]:
    with session_scope() as session:
        return [(e.actor, e.action, e.detail) for e in reversed(entries(session, tenant_id))]


def test_a_suspension_is_kept_with_its_reason_and_lifted_by_resume_both_in_the_audit_log(grace_env):
    assert not suspended("akanraby")
    with session_scope() as session:
        suspend(session, "akanraby", "  unpaid   invoice for October ", "ama@platform.test")
    assert suspended("akanraby") and not suspended("kentehouse")  # at once here; the other business untouched
    with session_scope() as session:
        account = account_of(session, "akanraby")
        assert (account.suspended_reason, account.suspended_by) == ("unpaid invoice for October", "ama@platform.test")
        assert account.suspended_at is not None
    with session_scope() as session:
        resume(session, "akanraby", "kwame@platform.test")
    assert not suspended("akanraby")
    suspended_entry, resumed_entry = audit_of("akanraby")
    assert suspended_entry == ("platform ama@platform.test", "business_suspended",
                               {"reason": "unpaid invoice for October"})
    assert resumed_entry[:2] == ("platform kwame@platform.test", "business_resumed")
    assert resumed_entry[2]["reason"] == "unpaid invoice for October"
    assert audit_of("kentehouse") == []


@pytest.mark.parametrize("reason, problem", [("   ", "say why"), ("x" * 201, "over 200 characters")])
def test_a_suspension_without_a_fit_reason_is_refused_and_nothing_changes(grace_env, reason, problem):
    with pytest.raises(StandingError, match=problem), session_scope() as session:
        suspend(session, "akanraby", reason, "ama@platform.test")
    assert not suspended("akanraby") and audit_of("akanraby") == []


def test_suspending_twice_resuming_an_active_business_or_an_unknown_one_are_refused(grace_env):
    with session_scope() as session:
        suspend(session, "akanraby", "fraud report", "ama@platform.test")
    with pytest.raises(StandingError, match="already suspended .*fraud report"), session_scope() as session:
        suspend(session, "akanraby", "another reason", "ama@platform.test")
    with pytest.raises(StandingError, match="kentehouse is not suspended"), session_scope() as session:
        resume(session, "kentehouse", "ama@platform.test")
    with pytest.raises(StandingError, match="no business called 'nosuch'"), session_scope() as session:
        suspend(session, "nosuch", "fraud", "ama@platform.test")
    with session_scope() as session:
        assert account_of(session, "akanraby").suspended_reason == "fraud report"
        assert account_of(session, "nosuch") is None
    assert [action for _, action, _ in audit_of("akanraby")] == ["business_suspended"]


def test_the_turn_paths_answer_is_kept_in_the_process_and_renewed_by_this_process_changes(grace_env, monkeypatch):
    monkeypatch.setenv("GRACE_STANDING_CACHE_S", "600")
    assert not suspended("akanraby")
    with session_scope() as session:  # as another process would write it: this one is not told
        session.execute(text("INSERT INTO tenant_accounts (tenant_id, suspended_at, created_at) "
                             "VALUES ('akanraby', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    assert not suspended("akanraby")  # the kept answer: no store query on every message
    with session_scope() as session:
        resume(session, "akanraby", "ama@platform.test")  # this process changed it: asked again at once
    assert not suspended("akanraby")
    with session_scope() as session:
        suspend(session, "akanraby", "fraud report", "ama@platform.test")
    assert suspended("akanraby")


def test_a_change_that_rolls_back_leaves_the_answer_as_it_was(grace_env):
    with pytest.raises(RuntimeError), session_scope() as session:
        suspend(session, "akanraby", "fraud report", "ama@platform.test")
        raise RuntimeError("the request failed after the suspension")
    assert not suspended("akanraby")
    with session_scope() as session:
        assert account_of(session, "akanraby") is None


def test_a_suspension_made_by_another_process_takes_effect_here_within_the_cache_time(grace_env, monkeypatch):
    monkeypatch.setenv("GRACE_STANDING_CACHE_S", "1")
    assert not suspended("akanraby")
    cli = subprocess.run([sys.executable, "-m", "grace.run.cli", "admin", "suspend", "akanraby", "--reason",
                          "chargebacks", "--by", "ama@platform.test"], cwd=ROOT, env=dict(os.environ),
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    done = time.monotonic()
    deadline = done + 5
    while not suspended("akanraby") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert suspended("akanraby") and time.monotonic() - done < 2


def test_a_plan_is_one_plans_yml_names_or_the_default(grace_env):
    with session_scope() as session:
        set_plan(session, "kentehouse", "pro", "ama@platform.test")
    with pytest.raises(StandingError, match="no plan called 'gold'; the plans are basic, pro, enterprise"), \
            session_scope() as session:
        set_plan(session, "kentehouse", "gold", "ama@platform.test")
    with session_scope() as session:
        assert account_of(session, "kentehouse").plan == "pro"
        set_plan(session, "kentehouse", "default", "ama@platform.test")
    with session_scope() as session:
        assert account_of(session, "kentehouse").plan is None
    assert [(a, act, d) for a, act, d in audit_of("kentehouse")] == [
        ("platform ama@platform.test", "plan_changed", {"from": "default", "to": "pro"}),
        ("platform ama@platform.test", "plan_changed", {"from": "pro", "to": "default"})]
