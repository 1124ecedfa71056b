"""The owner's pages: inviting users (one-time password) and API keys (shown once)."""
from __future__ import annotations

import re

from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import ApiKey, User
from tests.web.conftest import login, post_form


def test_only_owners_manage_users_and_keys(client):
    for role in ("ops", "viewer"):
        login(client, f"{role}@akanraby.test")
        for path in ("/users", "/keys"):
            assert client.get(path).status_code == 403, (role, path)
        assert post_form(client, "/users", {"email": "x@y.test", "role": "owner"}).status_code == 403
        assert post_form(client, "/keys", {"label": "x"}).status_code == 403
        assert "API keys" not in client.get("/").get_data(as_text=True)
        post_form(client, "/logout")
    with session_scope() as session:
        assert session.scalars(select(User).where(User.email == "x@y.test")).first() is None


def test_owner_invites_a_user_who_logs_in_with_the_one_time_password(client, app):
    login(client, "owner@akanraby.test")
    page = client.get("/users").get_data(as_text=True)
    assert "ops@akanraby.test" in page and "ops@kentehouse.test" not in page
    created = post_form(client, "/users", {"email": "Ngozi@Akanraby.test", "role": "ops"}, page="/users")
    text = created.get_data(as_text=True)
    password = re.search(r'<code class="once">([^<]+)</code>', text).group(1)
    assert "ngozi@akanraby.test" in text
    assert password not in client.get("/users").get_data(as_text=True)  # shown once
    taken = post_form(client, "/users", {"email": "OPS@akanraby.test", "role": "viewer"}, page="/users")
    assert taken.status_code == 302 and "already has an account here" in client.get("/users").get_data(as_text=True)
    bad_role = post_form(client, "/users", {"email": "z@akanraby.test", "role": "admin"}, page="/users")
    assert bad_role.status_code == 302 and "unknown role" in client.get("/users").get_data(as_text=True)

    newcomer = app.test_client()
    response = login(newcomer, "ngozi@akanraby.test", password)
    assert response.headers["Location"] == "/account/password"
    with session_scope() as session:
        user = session.scalars(select(User).where(User.email == "ngozi@akanraby.test")).one()
        assert user.tenant_id == "akanraby" and user.role == "ops" and user.must_change_password


def test_owner_creates_a_key_shown_once_and_revokes_it(client):
    login(client, "owner@akanraby.test")
    created = post_form(client, "/keys", {"label": "accounting <sync>"}, page="/keys").get_data(as_text=True)
    key = re.search(r'<code class="once">([^<]+)</code>', created).group(1)
    assert "accounting &lt;sync&gt;" in created
    assert key not in client.get("/keys").get_data(as_text=True)
    assert client.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 200
    with session_scope() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.label == "accounting <sync>")).one()
        kente_key = session.scalars(select(ApiKey).where(ApiKey.tenant_id == "kentehouse")).one().id
    assert post_form(client, f"/keys/{kente_key}/revoke", page="/keys").status_code == 404
    post_form(client, f"/keys/{row.id}/revoke", page="/keys")
    assert client.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 401
    with session_scope() as session:
        assert session.get(ApiKey, kente_key).revoked_at is None
