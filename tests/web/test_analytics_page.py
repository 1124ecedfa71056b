"""Analytics over a date range as charts; each tenant sees only its own figures."""
from __future__ import annotations

import base64
import re

from grace.tenancy.registry import get_registry
from tests.web.conftest import login, paid_order


def charts_of(page: str) -> dict[str, str]:
    return {name: base64.b64decode(data).decode() for data, name in
            re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="(\w+) chart"', page)}


def test_charts_for_the_range_with_this_tenants_deposits_only(client):
    paid_order("akanraby", "+2348011111111")
    paid_order("kentehouse", "+233200000099")
    login(client, "viewer@akanraby.test")
    today = get_registry().get("akanraby").now().date()
    response = client.get(f"/analytics?start={today.replace(day=1)}&end={today}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    charts = charts_of(page)
    assert {"conversations", "funnel", "deposits"} <= set(charts)
    assert all(svg.lstrip().startswith("<svg") and "<script" not in svg for svg in charts.values())
    assert re.search(r"<strong>[^<]+</strong> in 1 verified deposits", page)


def test_default_range_and_bad_dates(client):
    login(client, "ops@akanraby.test")
    assert client.get("/analytics").status_code == 200
    bad = client.get("/analytics?start=yesterday")
    assert bad.status_code == 400 and "must be a date like" in bad.get_data(as_text=True)
    backwards = client.get("/analytics?start=2026-03-10&end=2026-03-01")
    assert backwards.status_code == 400 and "after it ends" in backwards.get_data(as_text=True)
    assert charts_of(backwards.get_data(as_text=True)) == {}
