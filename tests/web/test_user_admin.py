"""Owners change users' roles and remove users: effective on the user's next request, never on
themselves, never leaving the business without an owner, never across tenants."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import User
from grace.tenancy.accounts import AccountError, change_role, create_user, remove_user
from tests.web.conftest import PASSWORD, login, post_form


def user_id(email: str) -> int:
    with session_scope() as session:
        return session.scalars(select(User).where(User.email == email)).one().id


def role_of(email: str) -> str | None:
    with session_scope() as session:
        user = session.scalars(select(User).where(User.email == email)).first()
        return user.role if user else None


def signed_in(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_a_new_role_applies_to_the_users_open_session_at_once(client, app):
    ops = signed_in(app, "ops@akanraby.test")
    viewer = signed_in(app, "viewer@akanraby.test")
    assert ops.get("/simulator").status_code == 200 and viewer.get("/users").status_code == 403
    login(client, "owner@akanraby.test")
    post_form(client, f"/users/{user_id('ops@akanraby.test')}/role", {"role": "viewer"}, page="/users")
    assert "ops@akanraby.test is now viewer." in client.get("/users").get_data(as_text=True)
    post_form(client, f"/users/{user_id('viewer@akanraby.test')}/role", {"role": "owner"}, page="/users")
    assert ops.get("/simulator").status_code == 403
    assert viewer.get("/users").status_code == 200
    assert (role_of("ops@akanraby.test"), role_of("viewer@akanraby.test")) == ("viewer", "owner")


def test_a_removed_user_is_signed_out_at_once_and_cannot_log_in(client, app):
    ops = signed_in(app, "ops@akanraby.test")
    login(client, "owner@akanraby.test")
    removed = post_form(client, f"/users/{user_id('ops@akanraby.test')}/remove", page="/users")
    assert removed.status_code == 302
    assert "ops@akanraby.test was removed" in client.get("/users").get_data(as_text=True)
    response = ops.get("/payments")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert login(app.test_client(), "ops@akanraby.test").status_code == 401
    assert role_of("ops@akanraby.test") is None


def test_an_old_session_never_becomes_the_account_that_reuses_its_id(client, app):
    with session_scope() as session:
        create_user(session, "akanraby", "temp@akanraby.test", "ops", PASSWORD)
    temp = signed_in(app, "temp@akanraby.test")
    old_id = user_id("temp@akanraby.test")
    login(client, "owner@akanraby.test")
    post_form(client, f"/users/{old_id}/remove", page="/users")
    with session_scope() as session:
        newcomer = create_user(session, "akanraby", "boss@akanraby.test", "owner", PASSWORD)
        new_id = newcomer.id
    assert new_id == old_id  # SQLite gives the freed highest id to the next account
    assert temp.get("/users").status_code == 302


def test_a_password_change_ends_the_users_other_sessions(app):
    phone, laptop = signed_in(app, "ops@akanraby.test"), signed_in(app, "ops@akanraby.test")
    changed = post_form(laptop, "/account/password", {"current": PASSWORD, "new": "another long secret",
                                                       "confirm": "another long secret"}, page="/account/password")
    assert changed.status_code == 302
    assert laptop.get("/payments").status_code == 200
    assert phone.get("/payments").status_code == 302


def test_owners_cannot_change_or_remove_themselves(client):
    login(client, "owner@akanraby.test")
    me = user_id("owner@akanraby.test")
    page = client.get("/users").get_data(as_text=True)
    assert f'id="user-{me}"' in page and f"/users/{me}/remove" not in page  # no buttons on one's own row
    post_form(client, f"/users/{me}/role", {"role": "viewer"}, page="/users")
    assert "cannot change or remove your own account" in client.get("/users").get_data(as_text=True)
    post_form(client, f"/users/{me}/remove", page="/users")
    assert role_of("owner@akanraby.test") == "owner"
    assert client.get("/users").status_code == 200


def test_a_business_always_keeps_an_owner(web_env):
    """Two owners demoting each other: the first change passes, the second would leave no owner."""
    first, second = user_id("owner@akanraby.test"), user_id("ops@akanraby.test")
    with session_scope() as session:
        change_role(session, "akanraby", second, "owner", first)
    with session_scope() as session:
        change_role(session, "akanraby", first, "viewer", second)
    with session_scope() as session:
        for change in (lambda: change_role(session, "akanraby", second, "ops", first),
                       lambda: remove_user(session, "akanraby", second, first)):
            with pytest.raises(AccountError, match="ops@akanraby.test is the last owner"):
                change()
    assert (role_of("owner@akanraby.test"), role_of("ops@akanraby.test")) == ("viewer", "owner")


def test_a_bad_role_is_refused_with_a_clear_message(client):
    login(client, "owner@akanraby.test")
    post_form(client, f"/users/{user_id('ops@akanraby.test')}/role", {"role": "admin"}, page="/users")
    assert "unknown role" in client.get("/users").get_data(as_text=True)
    assert role_of("ops@akanraby.test") == "ops"


def test_only_owners_change_users_and_only_their_own_tenants(client, app):
    target = user_id("viewer@akanraby.test")
    for role in ("ops", "viewer"):
        other = signed_in(app, f"{role}@akanraby.test")
        assert post_form(other, f"/users/{target}/role", {"role": "owner"}).status_code == 403
        assert post_form(other, f"/users/{target}/remove").status_code == 403
    login(client, "owner@kentehouse.test")
    assert post_form(client, f"/users/{target}/role", {"role": "owner"}, page="/users").status_code == 404
    assert post_form(client, f"/users/{target}/remove", page="/users").status_code == 404
    assert "viewer@akanraby.test" not in client.get("/users").get_data(as_text=True)
    assert role_of("viewer@akanraby.test") == "viewer"


def test_owners_demoting_each_other_at_once_on_postgresql(grace_env, pg_url, monkeypatch):
    """Each sees two owners when starting; the owners' rows are locked, so the second waits for the
    first and then finds itself about to remove the last owner."""
    monkeypatch.setenv("GRACE_DATABASE_URL", pg_url)
    with session_scope() as session:
        first = create_user(session, "akanraby", "a@akanraby.test", "owner", PASSWORD).id
        second = create_user(session, "akanraby", "b@akanraby.test", "owner", PASSWORD).id
    outcome: dict[str, str] = {}

    def second_demotes_first() -> None:
        try:
            with session_scope() as session:
                change_role(session, "akanraby", first, "viewer", second)
            outcome["second"] = "done"
        except AccountError as exc:
            outcome["second"] = str(exc)

    with session_scope() as session:
        change_role(session, "akanraby", second, "ops", first)  # not committed yet
        other = threading.Thread(target=second_demotes_first)
        other.start()
        other.join(timeout=2)  # without the lock it would finish here, seeing two owners
    other.join(timeout=60)
    assert outcome == {"second": "a@akanraby.test is the last owner; make someone else owner first"}
    assert (role_of("a@akanraby.test"), role_of("b@akanraby.test")) == ("owner", "ops")
