"""Every page, for every role: allowed (200) or refused (403), never another tenant's data."""
from __future__ import annotations

import uuid

import pytest

from tests.web.conftest import PASSWORD, csrf_token, login, paid_order
from web.app import create_app

EVERYONE = ("owner", "ops", "viewer")
PAGES = {  # path -> roles that may open it
    "/": EVERYONE, "/payments": EVERYONE, "/payments?status=verified": EVERYONE, "/orders": EVERYONE,
    "/orders/{ref}": EVERYONE, "/customers": EVERYONE, "/handoffs": EVERYONE, "/catalog": EVERYONE,
    "/catalog/export.csv": EVERYONE, "/analytics": EVERYONE, "/account/password": EVERYONE,
    "/contacts": EVERYONE, "/broadcasts": EVERYONE, "/broadcasts/new": ("owner",),
    "/simulator": ("owner", "ops"),
    "/catalog/fabric/AK-001": ("owner",), "/settings": ("owner",), "/users": ("owner",), "/keys": ("owner",),
    "/audit": ("owner",),
}


@pytest.mark.parametrize("role", EVERYONE)
def test_each_role_opens_its_pages_and_is_refused_the_others(client, role):
    reference = paid_order("akanraby", "+2348011111111")
    login(client, f"{role}@akanraby.test")
    for path, allowed in PAGES.items():
        status = client.get(path.format(ref=reference)).status_code
        assert status == (200 if role in allowed else 403), (role, path, status)


@pytest.mark.services  # this machine's Redis
def test_login_limit_is_shared_through_redis_by_every_dashboard_process(web_env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix = f"grace-test-{uuid.uuid4().hex}"
    first, second = (create_app({"LOGIN_LIMIT": "2 per minute", "RATELIMIT_KEY_PREFIX": prefix}).test_client()
                     for _ in range(2))
    assert first.application.config["RATELIMIT_STORAGE_URI"].startswith("redis://")

    def attempt(client):
        return client.post("/login", data={"email": "ops@akanraby.test", "password": "guess",
                                           "csrf_token": csrf_token(client)}).status_code

    assert [attempt(first), attempt(second)] == [401, 401]
    assert attempt(first) == 429 and attempt(second) == 429
    assert login(create_app({"RATELIMIT_KEY_PREFIX": f"{prefix}-other"}).test_client(),
                 "ops@akanraby.test", PASSWORD).status_code == 302


@pytest.mark.parametrize("proxies, other_client_limited", [("1", False), ("0", True)])
def test_behind_a_proxy_the_login_limit_is_per_client_only_when_the_proxies_are_configured(
        web_env, monkeypatch, proxies, other_client_limited):
    monkeypatch.setenv("GRACE_WEB_PROXIES", proxies)
    client = create_app({"LOGIN_LIMIT": "2 per minute"}).test_client()

    def attempt(address: str) -> int:  # every request reaches the app from the proxy's own address
        return client.post("/login", data={"email": "ops@akanraby.test", "password": "guess",
                                           "csrf_token": csrf_token(client)},
                           headers={"X-Forwarded-For": address}).status_code

    assert [attempt("203.0.113.1"), attempt("203.0.113.1"), attempt("203.0.113.1")] == [401, 401, 429]
    assert (attempt("198.51.100.7") == 429) == other_client_limited


def test_a_forgotten_proxy_is_reported_once(web_env, monkeypatch, caplog):
    import web.app

    monkeypatch.setenv("GRACE_WEB_PROXIES", "0")
    monkeypatch.setattr(web.app, "_proxy_warned", False)
    client = create_app().test_client()
    with caplog.at_level("WARNING", logger="grace.web"):
        client.get("/login")
        assert not caplog.records  # a direct request: nothing to say
        for _ in range(3):
            client.get("/login", headers={"X-Forwarded-For": "203.0.113.1"})
    [warning] = caplog.records
    assert "GRACE_WEB_PROXIES" in warning.getMessage()
