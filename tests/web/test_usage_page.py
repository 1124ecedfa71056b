"""The Usage page (owners only) and GET /api/v1/usage: this month's counts against the business's plan; the
owners' banner on every page once a limit is near; every business sees its own only."""
from __future__ import annotations

import re

from grace.store import session_scope
from grace.store.models import TenantAccount
from grace.tenancy.usage import meter_message, month_name, month_of
from tests.web.conftest import login
from tests.web.test_api import call


def tight_plans(tmp_path, monkeypatch) -> None:
    path = tmp_path / "plans.yml"
    path.write_text("default: tight\nplans:\n  tight:\n    name: Tight\n    messages: 5\n    conversations: 100\n"
                    "    model_calls: 50\n    seats: 4\n  gold:\n    name: Gold\n")
    monkeypatch.setenv("GRACE_PLANS_FILE", str(path))


def customers_write(tenant_id: str, messages: int) -> None:
    for n in range(messages):
        meter_message(tenant_id, f"{tenant_id}:+23480100000{n % 2}")


def cells(page: str, metric: str) -> list[str]:
    row = re.search(rf'<tr id="usage-{metric}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {metric}"
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                                  row.group(1), re.S)]


def test_owners_read_this_months_usage_against_their_plan(client, web_env, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch)
    customers_write("akanraby", 3)
    customers_write("kentehouse", 1)
    login(client, web_env["akanraby"].email("owner"))
    page = client.get("/usage").get_data(as_text=True)
    assert "Your plan: <strong>Tight</strong>" in page and month_name(month_of()) in page
    assert cells(page, "messages")[1:] == ["3", "5", "60% 60%"]
    assert cells(page, "conversations")[1:] == ["2", "100", "2% 2%"]
    assert cells(page, "broadcast_messages")[1:] == ["0", "unlimited", "no limit"]
    assert cells(page, "seats")[1:4] == ["3", "4", "75% 75%"]  # owner, ops and viewer
    assert 'id="plan-banner"' not in page  # nothing near a limit yet


def test_viewers_and_ops_cannot_open_it(client, web_env):
    for role in ("ops", "viewer"):
        login(client, web_env["akanraby"].email(role))
        assert client.get("/usage").status_code == 403
        client.post("/logout")


def test_owners_see_the_banner_on_every_page_at_80_percent_and_others_do_not(client, web_env, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch)
    customers_write("akanraby", 4)  # 80% of 5
    login(client, web_env["akanraby"].email("owner"))
    for path in ("/usage", "/contacts", "/orders"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="plan-banner"' in page and "80% of your Tight plan&#39;s 5 customer messages" in page, path
    customers_write("akanraby", 1)
    page = client.get("/orders").get_data(as_text=True)
    assert "customer messages for" in page and "are used up (5)" in page and "80%" not in page
    client.post("/logout")
    login(client, web_env["akanraby"].email("ops"))
    assert 'id="plan-banner"' not in client.get("/orders").get_data(as_text=True)
    client.post("/logout")
    login(client, web_env["kentehouse"].email("owner"))  # another business, far from its limits
    assert 'id="plan-banner"' not in client.get("/orders").get_data(as_text=True)


def test_the_api_gives_the_plan_month_and_each_metrics_use_and_limit(client, web_env, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch)
    customers_write("akanraby", 2)
    answer = call(client, "GET", "/api/v1/usage", web_env["akanraby"].api_key)
    assert answer.status_code == 200
    assert answer.get_json() == {"plan": "tight", "plan_name": "Tight", "month": month_of(), "metrics": {
        "conversations": {"used": 2, "limit": 100}, "messages": {"used": 2, "limit": 5},
        "model_calls": {"used": 0, "limit": 50}, "model_tokens": {"used": 0, "limit": None},
        "broadcast_messages": {"used": 0, "limit": None}, "seats": {"used": 3, "limit": 4}}}
    with session_scope() as session:
        session.add(TenantAccount(tenant_id="kentehouse", plan="gold"))
    kente = call(client, "GET", "/api/v1/usage", web_env["kentehouse"].api_key).get_json()
    assert kente["plan"] == "gold" and kente["metrics"]["messages"] == {"used": 0, "limit": None}
    assert call(client, "GET", "/api/v1/usage", None).status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/usage"]


def test_a_broken_plans_file_is_said_plainly(client, web_env, tmp_path, monkeypatch):
    path = tmp_path / "plans.yml"
    path.write_text("default: nope\nplans:\n  basic: {}\n")
    monkeypatch.setenv("GRACE_PLANS_FILE", str(path))
    login(client, web_env["akanraby"].email("owner"))
    page = client.get("/usage")
    assert page.status_code == 503 and "default: &#39;nope&#39; is not one of the plans" in page.get_data(as_text=True)
    answer = call(client, "GET", "/api/v1/usage", web_env["akanraby"].api_key)
    assert answer.status_code == 503 and "is not one of the plans" in answer.get_json()["error"]
