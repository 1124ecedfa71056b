"""Logging in and out, CSRF, the login rate limit, the secret key, passwords of invited users."""
from __future__ import annotations

import stat

from grace.store import session_scope
from grace.store.models import User
from grace.tenancy.accounts import create_user
from tests.web.conftest import PASSWORD, csrf_token, login, post_form
from web.app import create_app


def test_pages_need_a_login(client):
    for path in ("/", "/payments", "/orders", "/customers", "/handoffs", "/users", "/keys"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_login_with_the_right_password_then_logout(client):
    response = login(client, "ops@akanraby.test")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "Akanraby" in home.get_data(as_text=True)
    post_form(client, "/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_or_unknown_email_is_refused_alike(client):
    wrong = login(client, "ops@akanraby.test", "not the password")
    unknown = login(client, "nobody@akanraby.test")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_passwords_are_stored_as_argon2_hashes(web_env):
    with session_scope() as session:
        user = session.query(User).filter_by(email="owner@akanraby.test").one()
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_a_form_without_the_csrf_token_is_refused(client):
    refused = client.post("/login", data={"email": "ops@akanraby.test", "password": PASSWORD})
    assert refused.status_code == 400 and "form expired" in refused.get_data(as_text=True)
    login(client, "ops@akanraby.test")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_login_attempts_are_rate_limited(web_env):
    app = create_app({"TESTING": True, "LOGIN_LIMIT": "3 per minute"})
    client = app.test_client()
    token = csrf_token(client)
    codes = [client.post("/login", data={"email": "ops@akanraby.test", "password": "guess", "csrf_token": token})
             .status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right password waits now.
    assert client.post("/login", data={"email": "ops@akanraby.test", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 429


def test_redirect_after_login_stays_on_this_site(client):
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data={
        "email": "ops@akanraby.test", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"
    post_form(client, "/logout")
    response = client.post("/login?next=/orders", data={
        "email": "ops@akanraby.test", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/orders"


def test_secret_key_is_made_once_and_kept_private(web_env, grace_env):
    first = create_app().config["SECRET_KEY"]
    path = grace_env / "var" / "web_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first and len(first) >= 32


def test_secret_key_from_the_environment(web_env, monkeypatch):
    monkeypatch.setenv("GRACE_WEB_SECRET_KEY", "from-the-env-" * 3)
    assert create_app().config["SECRET_KEY"] == "from-the-env-" * 3


def test_an_invited_user_must_choose_a_password_first(client):
    with session_scope() as session:
        create_user(session, "akanraby", "new@akanraby.test", "ops", "one-time-pass", must_change_password=True)
    response = login(client, "new@akanraby.test", "one-time-pass")
    assert response.headers["Location"] == "/account/password"
    assert client.get("/payments").headers["Location"] == "/account/password"
    short = post_form(client, "/account/password", {"current": "one-time-pass", "new": "short", "confirm": "short"},
                      page="/account/password")
    assert short.status_code == 400 and "at least 10" in short.get_data(as_text=True)
    done = post_form(client, "/account/password", {"current": "one-time-pass", "new": "my own password",
                                                   "confirm": "my own password"}, page="/account/password")
    assert done.status_code == 302
    assert client.get("/payments").status_code == 200
    post_form(client, "/logout")
    assert login(client, "new@akanraby.test", "one-time-pass").status_code == 401
    assert login(client, "new@akanraby.test", "my own password").status_code == 302


def test_pages_allow_only_the_apps_own_scripts_and_no_framing(client):
    login(client, "ops@akanraby.test")
    headers = client.get("/payments").headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"  # no inline, no CDN
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_logging_in_starts_a_new_session(client):
    with client.session_transaction() as planted:
        planted["planted_by_an_attacker"] = "x"  # e.g. a session cookie set on the victim's browser
    login(client, "owner@akanraby.test")
    with client.session_transaction() as session:
        assert "planted_by_an_attacker" not in session and session.get("_user_id")
