"""`grace admin`: the platform operator's commands, each change in the business's audit log as "platform <who>"."""
from __future__ import annotations

import io

from sqlalchemy import select

from grace.run.cli import main
from grace.store import session_scope
from grace.store.audit import entries
from grace.store.models import TenantCredential
from grace.store.secrets import seal, unseal
from grace.tenancy.admins import authenticate
from grace.tenancy.registry import get_registry
from grace.tenancy.standing import account_of, suspended

NEW_BUSINESS = ["--name", "Adire Ibadan", "--currency", "NGN", "--timezone", "Africa/Lagos", "--ops", "+2348099990000",
                "--bank-name", "GTBank", "--account-name", "Adire Ibadan Ltd", "--account-number", "0123456789",
                "--returns", "Within 7 days, uncut.", "--delivery", "Lagos and Ibadan in 3 days."]


def logged(tenant_id: str) -> list[tuple[str, str, str]]:
    with session_scope() as session:
        return [(e.actor, e.action, e.target) for e in reversed(entries(session, tenant_id))]


def test_add_admin_reads_the_password_from_stdin_and_refuses_a_short_one(grace_env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "add-admin", "ama@platform.test", "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long platform password\n"))
    assert main(["admin", "add-admin", "ama@platform.test", "--password-stdin"]) == 0
    assert "ama@platform.test can now log in to the admin area" in capsys.readouterr().out
    with session_scope() as session:
        assert authenticate(session, "ama@platform.test", "a long platform password") is not None


def test_suspend_resume_and_plan_change_the_business_and_are_audited(grace_env, capsys):
    assert main(["admin", "suspend", "akanraby", "--reason", "unpaid invoice", "--by", "ama@platform.test"]) == 0
    assert "akanraby is suspended" in capsys.readouterr().out and suspended("akanraby")
    assert main(["admin", "suspend", "akanraby", "--reason", "again"]) == 2
    assert "already suspended" in capsys.readouterr().err

    assert main(["admin", "businesses"]) == 0
    listed = capsys.readouterr().out
    akanraby = listed[listed.index("akanraby"):listed.index("kentehouse")]
    assert "SUSPENDED" in akanraby and "by ama@platform.test: unpaid invoice" in akanraby
    assert "+2349010000001" in akanraby and "plan default" in akanraby
    kente = listed[listed.index("kentehouse"):]
    assert "active" in kente.splitlines()[0] and "+233200000001" in kente

    assert main(["admin", "plan", "kentehouse", "gold"]) == 2
    assert "no plan called 'gold'" in capsys.readouterr().err
    assert main(["admin", "plan", "kentehouse", "pro", "--by", "ama@platform.test"]) == 0
    assert main(["admin", "resume", "akanraby", "--by", "kofi@platform.test"]) == 0
    assert not suspended("akanraby")
    with session_scope() as session:
        assert account_of(session, "kentehouse").plan == "pro"
    assert logged("akanraby") == [("platform ama@platform.test", "business_suspended", "akanraby"),
                                  ("platform kofi@platform.test", "business_resumed", "akanraby")]
    assert logged("kentehouse") == [("platform ama@platform.test", "plan_changed", "kentehouse")]


def test_create_business_is_the_tenant_creation_path_and_refuses_what_it_refuses(grace_env, capsys):
    assert main(["admin", "create-business", "adire", "--name", "Adire"]) == 2
    err = capsys.readouterr().err
    assert "currency: missing" in err and "payment.bank_name: missing" in err
    assert not get_registry().exists("adire")

    assert main(["admin", "create-business", "adire", *NEW_BUSINESS, "--by", "ama@platform.test"]) == 0
    assert "Created adire (Adire Ibadan)" in capsys.readouterr().out
    assert get_registry().get("adire").currency == "NGN"
    assert logged("adire") == [("platform ama@platform.test", "business_created", "adire")]
    assert main(["admin", "create-business", "adire", *NEW_BUSINESS]) == 2
    assert "adire already exists" in capsys.readouterr().err


def test_assign_number_refuses_a_number_another_business_holds_naming_it(grace_env, capsys):
    assert main(["admin", "assign-number", "kentehouse", "--whatsapp", "+2349010000001"]) == 2
    assert "belongs to another business (akanraby)" in capsys.readouterr().err
    assert get_registry().by_whatsapp_number("whatsapp:+2349010000001").id == "akanraby"

    assert main(["admin", "assign-number", "kentehouse", "--whatsapp", "+233200000002", "--by", "ama@p.test"]) == 0
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002").id == "kentehouse"
    assert main(["admin", "assign-number", "akanraby", "--whatsapp", "+233200000002", "--release"]) == 2
    assert "not akanraby's to release" in capsys.readouterr().err
    assert main(["admin", "assign-number", "kentehouse", "--whatsapp", "+233200000002", "--release",
                 "--by", "ama@p.test"]) == 0
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002") is None
    assert logged("kentehouse") == [("platform ama@p.test", "number_assigned", "+233200000002"),
                                    ("platform ama@p.test", "number_released", "+233200000002")]
    assert logged("akanraby") == []


def test_new_key_prints_a_key_and_rotate_key_seals_the_stored_accounts_with_the_newest(grace_env, monkeypatch,
                                                                                      capsys):
    assert main(["admin", "new-key"]) == 0
    old = capsys.readouterr().out.strip()
    assert main(["admin", "new-key"]) == 0
    new = capsys.readouterr().out.strip()
    assert old != new
    monkeypatch.setenv("GRACE_SECRET_KEY", old)
    with session_scope() as session:
        session.add(TenantCredential(tenant_id="kentehouse", kind="twilio", sealed=seal({"auth_token": "tok"})))
    monkeypatch.setenv("GRACE_SECRET_KEY", f"{new},{old}")  # the new key first, the old still opens
    assert main(["admin", "rotate-key"]) == 0
    assert "1 provider account sealed again with the newest key" in capsys.readouterr().out
    monkeypatch.setenv("GRACE_SECRET_KEY", new)  # the old key dropped: the account still opens
    with session_scope() as session:
        sealed = session.scalars(select(TenantCredential.sealed)
                                 .where(TenantCredential.tenant_id == "kentehouse")).one()
    assert unseal(sealed) == {"auth_token": "tok"}
