"""The audit log page: what the team did in the dashboard and the API, shown to the business's owners only."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import Customer
from tests.web.conftest import csrf_token, login, paid_order, pending_payment, post_form
from tests.web.test_api_conversations import named, talk
from tests.web.test_settings_page import form_of

ROW = re.compile(r'<tr id="audit-\d+">.*?<td class="actor">(.*?)</td>\s*<td class="action">(.*?)</td>'
                 r'<td class="target">(.*?)</td>', re.S)


def logged(client, query: str = "") -> list[tuple[str, str, str]]:
    """(who, action, on what) of each entry on the owner's audit page, newest first."""
    page = client.get(f"/audit{query}")
    assert page.status_code == 200
    return [tuple(html.unescape(cell) for cell in row) for row in ROW.findall(page.get_data(as_text=True))]


def test_logins_settings_and_payment_decisions_appear_for_the_owner_with_who_and_on_what(client, app):
    stranger = app.test_client()
    assert login(stranger, "ops@akanraby.test", "a wrong guess").status_code == 401
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    assert login(client, "ops@akanraby.test").status_code == 302
    assert post_form(client, f"/payments/{payment_id}/verify", page="/payments").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    assert login(client, "owner@akanraby.test").status_code == 302
    form = form_of(client)
    form["deposit_percent"] = "40"
    assert client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")}).status_code == 302

    entries = logged(client)
    assert entries[0] == ("owner@akanraby.test", "settings_changed", "")
    assert entries[1] == ("owner@akanraby.test", "login", "")
    assert entries[2] == ("ops@akanraby.test", "logout", "")
    assert entries[3] == ("ops@akanraby.test", "payment_verified", reference)
    assert entries[4:] == [("ops@akanraby.test", "login", ""), ("ops@akanraby.test", "login_failed", "")]
    page = client.get("/audit").get_data(as_text=True)
    assert "fields: [&#39;deposit_percent&#39;]" in page and f"payment: {payment_id}" in page
    assert "a wrong guess" not in page  # never the password tried
    assert 'href="/audit"' in client.get("/").get_data(as_text=True)

    # Filters: one action, one person.
    assert logged(client, "?action=login") == [("owner@akanraby.test", "login", ""), ("ops@akanraby.test", "login", "")]
    assert {who for who, _, _ in logged(client, "?actor=ops@akanraby.test")} == {"ops@akanraby.test"}


def test_another_business_never_sees_these_entries(client, app):
    assert login(app.test_client(), "ops@akanraby.test").status_code == 302
    assert login(client, "owner@kentehouse.test").status_code == 302
    assert logged(client) == [("owner@kentehouse.test", "login", "")]


@pytest.mark.parametrize("role", ["ops", "viewer"])
def test_only_owners_open_the_audit_log(client, role):
    login(client, f"{role}@akanraby.test")
    assert client.get("/audit").status_code == 403
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


def test_an_api_call_is_recorded_under_the_keys_prefix_never_the_key(client, web_env):
    key = web_env["akanraby"].api_key
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    answer = client.post(f"/api/v1/payments/{payment_id}/reject", headers={"X-API-Key": key},
                         json={"reason": "blurry screenshot"})
    assert answer.status_code == 200
    login(client, "owner@akanraby.test")
    assert (f"api-key {key[:10]}", "payment_rejected", reference) in logged(client)
    page = client.get("/audit").get_data(as_text=True)
    assert "reason: blurry screenshot" in page and key not in page


def test_the_teams_other_changes_are_recorded_and_a_refused_one_is_not(client):
    reference = paid_order("akanraby", "+2348011111111")
    login(client, "owner@akanraby.test")
    post_form(client, f"/orders/{reference}/status", {"status": "in_production"}, page=f"/orders/{reference}")
    # Refused (it is in production already): its entry is rolled back with the change.
    post_form(client, f"/orders/{reference}/status", {"status": "in_production"}, page=f"/orders/{reference}")
    assert client.get("/contacts/export.csv").status_code == 200
    post_form(client, "/users", {"email": "ngozi@akanraby.test", "role": "ops"}, page="/users")
    created = post_form(client, "/keys", {"label": "books"}, page="/keys").get_data(as_text=True)
    prefix = re.search(r'<code class="once">([^<]+)</code>', created).group(1)[:10]
    assert [(action, target) for who, action, target in logged(client) if who == "owner@akanraby.test"] == [
        ("api_key_created", prefix), ("user_added", "ngozi@akanraby.test"), ("contacts_exported", ""),
        ("order_status", reference), ("login", "")]


def test_a_takeover_and_hand_back_through_the_api_name_the_key_and_the_person(client, web_env, rasa):
    key = web_env["akanraby"].api_key
    conversation = "akanraby:+2348033333333"
    talk(conversation, [("customer", "hello"), ("grace", "Welcome")])
    named("akanraby", "+2348033333333", "Ada")
    for verb in ("takeover", "handback"):
        assert client.post(f"/api/v1/conversations/{conversation}/{verb}", headers={"X-API-Key": key},
                           json={"user": "ops@akanraby.test"}).status_code == 200
    login(client, "owner@akanraby.test")
    with session_scope() as session:  # the log names the customer's row, never their number
        customer = session.scalars(select(Customer).where(Customer.tenant_id == "akanraby",
                                                          Customer.phone == "+2348033333333")).one()
    assert logged(client)[1:3] == [(f"api-key {key[:10]}", "handback", f"customer {customer.id}"),
                                   (f"api-key {key[:10]}", "takeover", f"customer {customer.id}")]
    assert "+2348033333333" not in client.get("/audit").get_data(as_text=True)
    assert "user: ops@akanraby.test" in client.get("/audit?action=takeover").get_data(as_text=True)


def test_a_balance_request_is_recorded_from_the_dashboard_and_the_api_and_a_refused_one_is_not(client, web_env):
    reference = paid_order("akanraby", "+2348011111111")
    login(client, "ops@akanraby.test")
    assert post_form(client, f"/orders/{reference}/request-balance", page=f"/orders/{reference}").status_code == 302
    again = post_form(client, f"/orders/{reference}/request-balance", page=f"/orders/{reference}")  # refused: asked
    assert again.status_code == 302
    other = paid_order("akanraby", "+2348022222222", name="Bisi")
    key = web_env["akanraby"].api_key
    answer = client.post(f"/api/v1/orders/{other}/request-balance", headers={"X-API-Key": key},
                         json={"user": "ops@akanraby.test"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "owner@akanraby.test")
    requested = [entry for entry in logged(client) if entry[1] == "balance_requested"]
    assert requested == [(f"api-key {key[:10]}", "balance_requested", other),
                         ("ops@akanraby.test", "balance_requested", reference)]
