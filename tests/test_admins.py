"""Platform admin accounts: made with a fit email and password, found by email and password only, an unknown
email as slow as a wrong password, and a changed password ending the old sessions."""
from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import PlatformAdmin, User
from grace.tenancy.accounts import create_user
from grace.tenancy.admins import (
    AdminError,
    admin_for_token,
    authenticate,
    change_password,
    create_admin,
    session_token,
)

PASSWORD = "a long platform password"


def test_an_admin_signs_in_with_their_password_only(grace_env):
    with session_scope() as session:
        create_admin(session, "  Ama@Platform.TEST ", PASSWORD)
    with session_scope() as session:
        admin = authenticate(session, "ama@platform.test", PASSWORD)
        assert admin is not None and admin.email == "ama@platform.test" and admin.last_login_at is not None
        assert authenticate(session, "ama@platform.test", PASSWORD + "!") is None
        assert authenticate(session, "kofi@platform.test", PASSWORD) is None
        stored = session.scalars(select(PlatformAdmin.password_hash)).one()
        assert PASSWORD not in stored and stored.startswith("$argon2id$")


def test_a_business_owner_is_not_a_platform_admin(grace_env):
    with session_scope() as session:
        create_user(session, "akanraby", "owner@akanraby.test", "owner", PASSWORD)
    with session_scope() as session:
        assert authenticate(session, "owner@akanraby.test", PASSWORD) is None
        assert session.scalars(select(PlatformAdmin)).all() == []
        assert session.scalars(select(User.email)).all() == ["owner@akanraby.test"]


@pytest.mark.parametrize("email, password, problem", [
    ("not-an-email", PASSWORD, "not an email address"),
    ("ama@platform.test", "short", "at least 10 characters"),
])
def test_a_bad_email_or_password_is_refused_and_nothing_is_kept(grace_env, email, password, problem):
    with pytest.raises(AdminError, match=problem), session_scope() as session:
        create_admin(session, email, password)
    with session_scope() as session:
        assert session.scalars(select(PlatformAdmin)).all() == []


def test_one_account_per_email(grace_env):
    with session_scope() as session:
        create_admin(session, "ama@platform.test", PASSWORD)
    with pytest.raises(AdminError, match="already a platform admin"), session_scope() as session:
        create_admin(session, "AMA@platform.test", "another long password")
    with session_scope() as session:
        assert authenticate(session, "ama@platform.test", PASSWORD) is not None


def test_an_unknown_email_takes_as_long_as_a_wrong_password(grace_env):
    with session_scope() as session:
        create_admin(session, "ama@platform.test", PASSWORD)

    def timed(email: str) -> float:
        runs = []
        for _ in range(5):
            with session_scope() as session:
                start = time.perf_counter()
                assert authenticate(session, email, "wrong password!") is None
                runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    wrong_password, unknown_email = timed("ama@platform.test"), timed("nobody@platform.test")
    # An argon2 verification takes tens of milliseconds; answering an unknown email without one takes well
    # under one. Half the time is far from either, so the machine's load does not decide the outcome.
    assert unknown_email > wrong_password / 2


def test_a_changed_password_ends_the_old_sessions(grace_env):
    with session_scope() as session:
        admin = create_admin(session, "ama@platform.test", PASSWORD)
        old_token = session_token(admin)
    with session_scope() as session:
        admin = admin_for_token(session, old_token)
        assert admin is not None
        with pytest.raises(AdminError, match="current password is wrong"):
            change_password(session, admin, "not it at all", "a new long password")
        with pytest.raises(AdminError, match="at least 10"):
            change_password(session, admin, PASSWORD, "short")
    with session_scope() as session:
        assert admin_for_token(session, old_token) is not None  # the refusals changed nothing
        change_password(session, admin_for_token(session, old_token), PASSWORD, "a new long password")
    with session_scope() as session:
        assert admin_for_token(session, old_token) is None
        assert authenticate(session, "ama@platform.test", "a new long password") is not None
        assert authenticate(session, "ama@platform.test", PASSWORD) is None
        assert admin_for_token(session, "1:forged") is None and admin_for_token(session, None) is None
