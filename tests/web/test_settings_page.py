"""Business settings from the dashboard: validated, saved to tenant.yml with history, undoable; owner only."""
from __future__ import annotations

import html
import re
from datetime import time

from grace.tenancy.registry import get_registry
from tests.web.conftest import csrf_token, login, post_form


def form_of(client) -> dict[str, str]:
    """The settings form as the browser would send it unchanged."""
    page = client.get("/settings").get_data(as_text=True)
    form = page.split('action="/settings"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'<input type="text" name="([^"]+)" value="([^"]*)"', form))
    fields |= dict(re.findall(r'<textarea name="([^"]+)" rows="\d+">([^<]*)</textarea>', form))
    for name, options in re.findall(r'<select name="([^"]+)">(.*?)</select>', form, re.S):
        fields[name] = re.search(r'<option value="([^"]*)" selected>', options).group(1)
    return {k: html.unescape(v) for k, v in fields.items()}


def test_owner_changes_settings_the_conversation_sees_them_and_can_undo(client):
    before = get_registry().get("akanraby")
    login(client, "owner@akanraby.test")
    form = form_of(client)
    assert form["payment.account_number"] == before.payment.account_number
    assert form["takeover_idle_minutes"] == "120"
    form.update({"deposit_percent": "40", "payment.bank_name": "Zenith <Bank>", "takeover_idle_minutes": "45",
                 "ops": "+2349010000009\n+2349010000010"})
    blank = next(i for i in range(20) if f"faq.{i}.q" in form and not form[f"faq.{i}.q"])
    form.update({f"faq.{blank}.q": "Do you sew?", f"faq.{blank}.a": "Yes, in 5 days."})
    saved = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    tenant = get_registry().get("akanraby")
    assert tenant.deposit_percent == 40 and tenant.payment.bank_name == "Zenith <Bank>"
    assert tenant.takeover_idle_minutes == 45
    assert len(tenant.ops) == 2 and any(f.q == "Do you sew?" for f in tenant.faq)
    page = client.get("/settings").get_data(as_text=True)
    assert "Zenith &lt;Bank&gt;" in page and "owner@akanraby.test" in page
    entry = re.search(r'action="/settings/undo/([^"]+)"', page).group(1)
    post_form(client, f"/settings/undo/{entry}", page="/settings")
    tenant = get_registry().get("akanraby")
    assert tenant.deposit_percent == before.deposit_percent and tenant.payment.bank_name == before.payment.bank_name


def test_bad_settings_are_named_and_nothing_is_saved(client, grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    before = path.read_text()
    login(client, "owner@akanraby.test")
    form = form_of(client) | {"deposit_percent": "lots", "hours.mon": "9am till late"}
    refused = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing was saved" in page and "deposit_percent" in page
    assert 'value="9am till late"' in page  # the owner's input is kept to fix
    assert path.read_text() == before


def test_only_the_owner_sees_or_changes_settings(client, grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    before = path.read_text()
    for role in ("ops", "viewer"):
        login(client, f"{role}@akanraby.test")
        assert client.get("/settings").status_code == 403
        assert post_form(client, "/settings", {"deposit_percent": "10"}).status_code == 403
        post_form(client, "/logout")
    assert path.read_text() == before
    login(client, "owner@kentehouse.test")
    assert post_form(client, "/settings/undo/nope", page="/settings").status_code == 302
    assert path.read_text() == before


def test_the_owner_edits_pickup_zones_and_the_deposit_rule_and_grace_uses_them(client):
    login(client, "owner@akanraby.test")
    page = client.get("/settings").get_data(as_text=True)
    assert "never the key itself" in page and "name of an environment variable" in page
    form = form_of(client)
    assert form["delivery.zones.1.name"] == "Lekki & Ajah"
    assert form["delivery.zones.1.fee"] == "4500" and "Ajah" in form["delivery.zones.1.areas"].splitlines()
    assert form["deposit_includes_delivery"] == "yes" and form["payment_links"] == "paystack"
    blank = next(i for i in range(20) if f"delivery.zones.{i}.name" in form and not form[f"delivery.zones.{i}.name"])
    form.update({"delivery.zones.1.fee": "5,000", f"delivery.zones.{blank}.name": "Epe",
                 f"delivery.zones.{blank}.areas": "Epe\nEleko", f"delivery.zones.{blank}.fee": "7000",
                 f"delivery.zones.{blank}.days": "3", "delivery.free_above": "250,000",
                 "deposit_includes_delivery": "no", "payment_links": "none"})
    saved = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    tenant = get_registry().get("akanraby")
    assert tenant.delivery is not None and tenant.delivery.free_above_minor == 25_000_000
    assert [(z.name, z.fee_minor) for z in tenant.delivery.zones][1] == ("Lekki & Ajah", 500_000)
    assert tenant.delivery.zones[-1].areas == ("Epe", "Eleko") and tenant.delivery.zones[-1].days == "3"
    assert not tenant.deposit_includes_delivery and tenant.payment_links == ""
    assert tenant.delivery.pickup is not None  # untouched fields stay


def test_a_blank_delivery_group_means_no_delivery_and_a_bad_fee_is_refused(client, grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    login(client, "owner@akanraby.test")
    form = form_of(client)
    before = path.read_text()
    refused = client.post("/settings", data={**form, "delivery.zones.0.fee": "cheap",
                                             "csrf_token": csrf_token(client, "/settings")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "delivery.zones.0.fee" in page and "expected a number" in page
    assert path.read_text() == before
    cleared = {k: ("" if k.startswith("delivery.") else v) for k, v in form.items()}
    saved = client.post("/settings", data={**cleared, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    assert get_registry().get("akanraby").delivery is None


def test_the_owner_sets_follow_ups_on_the_page_and_the_business_uses_them(client):
    login(client, "owner@akanraby.test")
    form = form_of(client)
    assert form["follow_ups.quiet_hours"] == "21:00-08:00" and form["follow_ups.restock_alerts"] == "yes"
    form.update({"follow_ups.quiet_hours": "22:00-07:00", "follow_ups.summary_nudge_minutes": "30",
                 "follow_ups.restock_alerts": "no"})
    saved = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    follow_ups = get_registry().get("akanraby").follow_ups
    assert follow_ups.quiet_hours == (time(22, 0), time(7, 0)) and follow_ups.summary_nudge_minutes == 30
    assert not follow_ups.restock_alerts
