"""Plans (plans.yml): what each plan allows, a bad file refused with file and field named, a business on a plan
the file does not know falls back to the default, and team seats limited by the plan."""
from __future__ import annotations

import logging

import pytest

from grace.store import session_scope
from grace.store.models import TenantAccount, User
from grace.tenancy.accounts import AccountError, create_user, remove_user
from grace.tenancy.plans import LIMITS, PlansFileError, load_plans, parse_plans, plan_of
from tests.helpers import ROOT

PASSWORD = "a-long-enough-password"


def plans_file(tmp_path, monkeypatch, body: str):
    path = tmp_path / "plans.yml"
    path.write_text(body)
    monkeypatch.setenv("GRACE_PLANS_FILE", str(path))
    return path


def test_the_shipped_plans_grow_from_basic_to_an_unlimited_enterprise():
    plans = parse_plans(ROOT / "plans.yml")
    assert plans.default == "basic" and list(plans.plans) == ["basic", "pro", "enterprise"]
    basic, pro, enterprise = (plans.plans[k] for k in ("basic", "pro", "enterprise"))
    assert (basic.name, pro.name, enterprise.name) == ("Basic", "Pro", "Enterprise")
    for limit in LIMITS:
        assert basic.limit(limit) is not None and pro.limit(limit) > basic.limit(limit)
        assert enterprise.limit(limit) is None


@pytest.mark.parametrize("body, field, words", [
    ("default: basic\nplans:\n  basic:\n    messages: -5\n", "plans.basic.messages", "not a whole number"),
    ("default: basic\nplans:\n  basic:\n    messages: lots\n", "plans.basic.messages", "not a whole number"),
    ("default: basic\nplans:\n  basic:\n    messages: true\n", "plans.basic.messages", "not a whole number"),
    ("default: basic\nplans:\n  basic:\n    mesages: 10\n", "plans.basic.mesages", "unknown limit"),
    ("default: gold\nplans:\n  basic:\n    messages: 10\n", "default", "'gold' is not one of the plans"),
    ("default: basic\nplans: []\n", "plans", "expected a mapping of plans"),
    ("default: basic\nplans:\n  basic: [1]\n", "plans.basic", "expected a mapping of limits"),
    ("default: basic\nplans:\n  basic: {}\nextra: 1\n", "extra", "unknown setting"),
    ("default: basic\nplans:\n  basic: {messages: [\n", "(syntax)", ""),
    ("- basic\n", "(file)", "expected a mapping"),
])
def test_a_bad_plans_file_is_refused_naming_the_file_and_the_field(tmp_path, monkeypatch, body, field, words):
    path = plans_file(tmp_path, monkeypatch, body)
    with pytest.raises(PlansFileError) as refused:
        load_plans()
    assert refused.value.path == str(path) and refused.value.field == field and words in refused.value.problem
    assert str(path) in str(refused.value)


def test_a_missing_plans_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GRACE_PLANS_FILE", str(tmp_path / "nowhere.yml"))
    with pytest.raises(PlansFileError, match="nowhere.yml: \\(file\\): not found"):
        load_plans()


def test_the_file_is_read_again_when_it_changes(tmp_path, monkeypatch):
    path = plans_file(tmp_path, monkeypatch, "default: basic\nplans:\n  basic:\n    messages: 10\n")
    assert load_plans().plans["basic"].limit("messages") == 10
    path.write_text("default: basic\nplans:\n  basic:\n    messages: 250\n")
    assert load_plans().plans["basic"].limit("messages") == 250


def test_a_business_gets_the_operators_plan_and_an_unknown_name_falls_back_to_the_default(grace_env, caplog):
    with session_scope() as session:
        assert plan_of(session, "akanraby").key == "basic"  # nothing set: the default
        session.add(TenantAccount(tenant_id="akanraby", plan="pro"))
        session.add(TenantAccount(tenant_id="kentehouse", plan="platinum"))
    with session_scope() as session, caplog.at_level(logging.WARNING, "grace.tenancy.plans"):
        assert plan_of(session, "akanraby").key == "pro"
        assert plan_of(session, "kitengenairobi").key == "basic"
        assert plan_of(session, "kentehouse").key == "basic"
    assert "kentehouse is on plan 'platinum'" in caplog.text and "default plan 'basic' applies" in caplog.text


def test_team_seats_stop_at_the_plans_and_free_up_when_someone_leaves(grace_env, tmp_path, monkeypatch):
    plans_file(tmp_path, monkeypatch, "default: small\nplans:\n  small:\n    name: Small\n    seats: 2\n"
                                      "  big:\n    seats: 3\n")
    with session_scope() as session:
        owner = create_user(session, "akanraby", "owner@akanraby.test", "owner", PASSWORD)
        create_user(session, "akanraby", "ops@akanraby.test", "ops", PASSWORD)
        create_user(session, "kentehouse", "owner@kentehouse.test", "owner", PASSWORD)  # another business's seats
    with session_scope() as session, pytest.raises(AccountError) as refused:
        create_user(session, "akanraby", "third@akanraby.test", "viewer", PASSWORD)
    assert str(refused.value) == ("all 2 team seats of the Small plan are taken: remove someone's account first, "
                                  "or ask for a bigger plan")
    with session_scope() as session:
        assert sorted(u.email for u in session.query(User).filter(User.tenant_id == "akanraby")) == [
            "ops@akanraby.test", "owner@akanraby.test"]  # nobody lost
        ops = session.query(User).filter(User.email == "ops@akanraby.test").one()
        remove_user(session, "akanraby", ops.id, owner.id)
    with session_scope() as session:
        create_user(session, "akanraby", "third@akanraby.test", "viewer", PASSWORD)
        session.add(TenantAccount(tenant_id="akanraby", plan="big"))
    with session_scope() as session:
        create_user(session, "akanraby", "fourth@akanraby.test", "viewer", PASSWORD)  # the bigger plan's seat
