"""The admin area (/admin): the platform operator's own login, never a business user's; the businesses with their
standing, numbers and usage; suspending with a reason (the owners still sign in, read, and see why), resuming,
creating a business, assigning numbers and plans, each in the business's audit log."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from grace.store import session_scope
from grace.store.audit import entries
from grace.store.models import UsageCount
from grace.tenancy.admins import create_admin
from grace.tenancy.registry import get_registry
from grace.tenancy.standing import account_of, set_plan, suspended
from tests.web.conftest import PASSWORD, csrf_token, login
from web.app import create_app

ADMIN = "ama@platform.test"
NEW_BUSINESS = {"tenant_id": "adire", "name": "Adire Ibadan", "currency": "NGN", "timezone": "Africa/Lagos",
                "ops": "+2348099990000", "whatsapp": "", "deposit_percent": "40", "bank_name": "GTBank",
                "account_name": "Adire Ibadan Ltd", "account_number": "0123456789", "returns": "Within 7 days.",
                "delivery": "Lagos and Ibadan in 3 days."}


@pytest.fixture
def admin(web_env):
    with session_scope() as session:
        create_admin(session, ADMIN, PASSWORD)
    return ADMIN


def admin_login(client, email: str = ADMIN, password: str = PASSWORD):
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_token(client, "/admin/login")})


def post(client, path: str, data: dict | None = None):
    """A form of the admin area, with the CSRF token of the admin's own session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/admin")})


def logged(tenant_id: str) -> list[tuple[str, str, dict]]:
    with session_scope() as session:
        return [(e.actor, e.action, e.detail) for e in reversed(entries(session, tenant_id))]


def test_the_admin_area_has_its_own_login_and_business_users_are_refused(client, admin):
    assert client.get("/admin").headers["Location"].endswith("/admin/login")
    login(client, "owner@akanraby.test")
    assert client.get("/").status_code == 200
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/businesses/akanraby").status_code == 403
    refused = admin_login(client, "owner@akanraby.test")  # a business's owner is no platform admin
    assert refused.status_code == 401 and "Wrong email or password" in refused.get_data(as_text=True)
    assert client.get("/admin").status_code == 403


def test_a_platform_admin_sees_no_business_page(client, admin):
    assert admin_login(client).headers["Location"].endswith("/admin")
    assert client.get("/admin").status_code == 200
    for page in ("/", "/orders", "/settings"):
        assert "/login" in client.get(page).headers["Location"]
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin")})
    assert client.get("/admin").headers["Location"].endswith("/admin/login")


def test_the_businesses_with_their_plan_standing_numbers_and_usage_this_month(client, admin):
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    with session_scope() as session:
        session.add(UsageCount(tenant_id="akanraby", month=month, metric="messages", count=1234))
        session.add(UsageCount(tenant_id="akanraby", month="2020-01", metric="messages", count=99))
        set_plan(session, "kentehouse", "pro", ADMIN)
    admin_login(client)
    page = client.get("/admin").get_data(as_text=True)
    akanraby = page[page.index('id="business-akanraby"'):page.index('id="business-kentehouse"')]
    assert "AkanrabyAtuche" in akanraby and "+2349010000001" in akanraby and "active" in akanraby
    assert "messages 1,234 of 20,000" in akanraby and "99" not in akanraby  # this month's, on the default plan
    kente = page[page.index('id="business-kentehouse"'):]
    kente = kente[:kente.index("</tr>")]
    assert "+233200000001" in kente and "<td>pro</td>" in kente and "messages 0 of 200,000" in kente


def test_a_suspension_needs_a_reason_and_the_owners_still_sign_in_read_and_see_why(app, admin):
    platform, owner, other = app.test_client(), app.test_client(), app.test_client()
    admin_login(platform)
    refused = post(platform, "/admin/businesses/akanraby/suspend", {"reason": "  "})
    assert refused.status_code == 422 and "say why" in refused.get_data(as_text=True)
    assert not suspended("akanraby")

    done = post(platform, "/admin/businesses/akanraby/suspend", {"reason": "unpaid invoice for October"})
    assert done.status_code == 302 and suspended("akanraby")
    page = platform.get("/admin/businesses/akanraby").get_data(as_text=True)
    assert "suspended" in page and f"by {ADMIN}: unpaid invoice for October" in page
    assert logged("akanraby")[-1] == (f"platform {ADMIN}", "business_suspended",
                                      {"reason": "unpaid invoice for October"})

    assert login(owner, "owner@akanraby.test").status_code == 302  # still signs in
    for path in ("/", "/orders", "/customers"):
        shown = owner.get(path)
        assert shown.status_code == 200
        assert "suspended by the platform: unpaid invoice for October" in shown.get_data(as_text=True)
    login(other, "owner@kentehouse.test")
    assert "suspended by the platform" not in other.get("/").get_data(as_text=True)

    assert post(platform, "/admin/businesses/akanraby/resume").status_code == 302
    assert not suspended("akanraby")
    assert "suspended by the platform" not in owner.get("/").get_data(as_text=True)
    assert [a for _, a, _ in logged("akanraby") if a != "login"] == ["business_suspended", "business_resumed"]
    again = post(platform, "/admin/businesses/akanraby/resume")
    assert again.status_code == 422 and "akanraby is not suspended" in again.get_data(as_text=True)


def test_a_form_without_the_admins_csrf_token_changes_nothing(client, admin):
    admin_login(client)
    assert client.post("/admin/businesses/akanraby/suspend", data={"reason": "x"}).status_code == 400
    assert not suspended("akanraby")


def test_creating_a_business_refuses_what_grace_tenants_create_refuses_and_keeps_the_form(client, admin):
    admin_login(client)
    refused = post(client, "/admin/businesses/new", {**NEW_BUSINESS, "currency": "", "bank_name": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing was created" in page and page.count("missing") == 2
    assert 'value="Adire Ibadan Ltd"' in page  # what was typed is kept
    assert not get_registry().exists("adire")

    created = post(client, "/admin/businesses/new", NEW_BUSINESS)
    assert created.headers["Location"].endswith("/admin/businesses/adire")
    tenant = get_registry().get("adire")
    assert (tenant.name, tenant.currency, tenant.deposit_percent) == ("Adire Ibadan", "NGN", 40)
    assert logged("adire") == [(f"platform {ADMIN}", "business_created", {"name": "Adire Ibadan"})]
    taken = post(client, "/admin/businesses/new", NEW_BUSINESS)
    assert taken.status_code == 422 and "adire already exists" in taken.get_data(as_text=True)


def test_a_number_another_business_holds_is_refused_naming_it_a_free_one_is_assigned_and_released(client, admin):
    admin_login(client)
    refused = post(client, "/admin/businesses/kentehouse/numbers", {"whatsapp": "+2349010000001", "action": "assign"})
    assert refused.status_code == 422
    assert "+2349010000001 belongs to another business (akanraby)" in refused.get_data(as_text=True)
    assert get_registry().by_whatsapp_number("whatsapp:+2349010000001").id == "akanraby"

    assert post(client, "/admin/businesses/kentehouse/numbers",
                {"whatsapp": "+233200000002", "action": "assign"}).status_code == 302
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002").id == "kentehouse"
    assert "+233200000002" in client.get("/admin/businesses/kentehouse").get_data(as_text=True)
    assert post(client, "/admin/businesses/kentehouse/numbers",
                {"whatsapp": "+233200000002", "action": "release"}).status_code == 302
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002") is None
    assert [(a, act) for a, act, _ in logged("kentehouse")] == [(f"platform {ADMIN}", "number_assigned"),
                                                                (f"platform {ADMIN}", "number_released")]


def test_a_plan_is_chosen_from_the_plans_and_an_unknown_one_is_refused(client, admin):
    admin_login(client)
    page = client.get("/admin/businesses/kentehouse").get_data(as_text=True)
    assert all(f"<option>{name}</option>" in page for name in ("basic", "pro", "enterprise"))
    refused = post(client, "/admin/businesses/kentehouse/plan", {"plan": "gold"})
    assert refused.status_code == 422 and "no plan called &#39;gold&#39;" in refused.get_data(as_text=True)
    assert post(client, "/admin/businesses/kentehouse/plan", {"plan": "pro"}).status_code == 302
    with session_scope() as session:
        assert account_of(session, "kentehouse").plan == "pro"
    assert logged("kentehouse") == [(f"platform {ADMIN}", "plan_changed", {"from": "default", "to": "pro"})]


def test_unknown_businesses_are_not_found(client, admin):
    admin_login(client)
    assert client.get("/admin/businesses/nosuch").status_code == 404
    assert post(client, "/admin/businesses/nosuch/suspend", {"reason": "x"}).status_code == 404


def test_admin_logins_are_rate_limited(web_env, admin):
    client = create_app({"TESTING": True, "LOGIN_LIMIT": "3 per minute"}).test_client()
    codes = [admin_login(client, password="wrong password!").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert admin_login(client).status_code == 429  # the right password waits too


def test_a_changed_password_ends_the_admins_other_sessions(app, admin):
    first, second = app.test_client(), app.test_client()
    admin_login(first)
    admin_login(second)
    changed = post(first, "/admin/password", {"current": PASSWORD, "new": "a brand new password",
                                              "confirm": "a brand new password"})
    assert changed.status_code == 302 and first.get("/admin").status_code == 200
    assert second.get("/admin").headers["Location"].endswith("/admin/login")
