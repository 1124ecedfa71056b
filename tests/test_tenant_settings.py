"""Owners change their business settings from the dashboard: validated first, seen at once, kept in a history."""
from __future__ import annotations

import json
import threading

import pytest

from grace.errors import UnknownTenant
from grace.tenancy.files import tenant_folder
from grace.tenancy.registry import get_registry
from grace.tenancy.settings import SettingsError, create_tenant, current_settings, history, undo, update_settings


def tenant_yml(tenant_id: str = "akanraby"):
    return tenant_folder(tenant_id) / "tenant.yml"


def test_a_change_is_seen_at_once_keeps_the_owners_comments_and_is_recorded(grace_env):
    tenant = update_settings("akanraby", {"payment": {"bank_name": "Zenith Bank", "account_number": "0012345678"},
                                          "deposit_percent": "40", "ops": "+2349010000009, +2349010000010",
                                          "name": "AkanrabyAtuche"}, by="ada@akanraby.example")
    assert tenant.payment.bank_name == "Zenith Bank" and tenant.payment.account_number == "0012345678"
    assert tenant.deposit_percent == 40 and tenant.ops == ("+2349010000009", "+2349010000010")
    assert get_registry().get("akanraby").payment.bank_name == "Zenith Bank"  # no restart, no training
    assert tenant.payment.account_name == "AkanrabyAtuche Fabrics Ltd (SAMPLE)"  # the rest of the group is kept
    text = tenant_yml().read_text(encoding="utf-8")
    assert "# NOTE: phone numbers and bank details below are SAMPLE data" in text and "😄" in text
    [entry] = history("akanraby")
    assert entry.by == "ada@akanraby.example"
    assert entry.summary == "changed payment.bank_name, payment.account_number, deposit_percent, ops"


def test_texts_yaml_would_misread_stay_texts(grace_env):
    tenant = update_settings("kentehouse", {"voice": {"redirects": {"flattery": "Yes\nNo\n\n0123"}},
                                            "policies": {"returns": "on"}}, by="kofi")
    assert tenant.voice.redirects["flattery"] == ("Yes", "No", "0123")
    assert tenant.policies["returns"] == "on" and tenant.voice.redirects["trivia"]  # other lines untouched


@pytest.mark.parametrize("changes, field", [
    ({"timezone": "Lagos"}, "timezone"),
    ({"deposit_percent": "half"}, "deposit_percent"),
    ({"deposit_percent": 150}, "deposit_percent"),
    ({"hours": {"mon": "9am-5pm"}}, "hours.mon"),
    ({"ops": ["08012345678"]}, "ops"),
    ({"payment": {"bank_name": "  "}}, "payment.bank_name"),
    ({"payment": {"sample": False}}, "payment.sample"),
    ({"currency": "USD"}, "currency"),
    ({"secret_sauce": "x"}, "secret_sauce"),
    ({"image_base_url": "media.example/fabrics"}, "image_base_url"),
    ({"promotions": [{"code": "NEW5", "percent_off": "5", "valid_until": "soon"}]}, "promotions[0].valid_until"),
    ({"faq": [{"q": "Open on Sunday?", "a": ""}]}, "faq[0].a"),
])
def test_bad_settings_are_refused_by_field_and_nothing_is_written(grace_env, changes, field):
    before = tenant_yml().read_bytes()
    with pytest.raises(SettingsError) as refused:
        update_settings("akanraby", changes, by="ada")
    assert field in refused.value.errors and refused.value.errors[field]
    assert tenant_yml().read_bytes() == before and history("akanraby") == []


def test_lists_are_edited_whole_and_a_forms_blank_rows_are_dropped(grace_env):
    tenant = update_settings("akanraby", {
        "faq": [{"q": "Open on Sunday?", "a": "No, Monday to Saturday."}, {"q": "", "a": ""}],
        "promotions": [{"code": "NEW5", "description": "5% off", "percent_off": "5", "valid_until": "2030-01-31"}],
        "currency": "ngn", "order_prefix": "AKA",  # read-only values sent back unchanged are fine
    }, by="ada")
    assert [(f.q, f.a) for f in tenant.faq] == [("Open on Sunday?", "No, Monday to Saturday.")]
    assert tenant.promotion("new5").percent_off == 5 and str(tenant.promotion("NEW5").valid_until) == "2030-01-31"


def test_current_settings_are_what_the_form_shows_and_can_send_back(grace_env):
    settings = current_settings("akanraby")
    json.dumps(settings)  # JSON-ready: dates as text
    assert settings["id"] == "akanraby" and settings["currency"] == "NGN" and settings["order_prefix"] == "AKA"
    assert settings["payment"]["account_number"] == "0123456789" and "sample" not in settings["payment"]
    assert settings["promotions"][0]["valid_until"] == "2027-06-30"
    assert settings["hours"]["sun"] == "closed" and settings["hold_hours"] == 48
    before = tenant_yml().read_bytes()
    update_settings("akanraby", settings, by="ada")  # sent back unchanged: nothing to write
    assert tenant_yml().read_bytes() == before and history("akanraby") == []


def test_undo_restores_the_file_as_it_was_and_is_itself_recorded(grace_env):
    original = tenant_yml().read_text(encoding="utf-8")
    update_settings("akanraby", {"name": "Akanraby Fabrics"}, by="ada")
    update_settings("akanraby", {"hold_hours": 24}, by="tunde")
    first = history("akanraby")[-1]

    tenant = undo("akanraby", first.id, by="boss")

    assert tenant_yml().read_text(encoding="utf-8") == original
    assert get_registry().get("akanraby").name == "AkanrabyAtuche" and tenant.hold_hours == 48
    entries = history("akanraby")
    assert [e.by for e in entries] == ["boss", "tunde", "ada"] and "undid" in entries[0].summary
    assert entries[0].at >= entries[1].at >= entries[2].at
    undo("akanraby", entries[0].id, by="boss")  # the undo can be undone
    assert get_registry().get("akanraby").hold_hours == 24
    for bad in ("nope", "../../tenant", "../kentehouse/tenant"):
        with pytest.raises(SettingsError, match="no saved change"):
            undo("akanraby", bad, by="boss")


def test_tenant_ids_never_walk_the_file_system(grace_env):
    for bad in ("../akanraby", "akanraby/../kentehouse", "", "AKANRABY"):
        with pytest.raises(UnknownTenant):
            update_settings(bad, {"name": "x"}, by="ada")
        with pytest.raises(UnknownTenant):
            current_settings(bad)
    for bad in ("../x", "x/y", "Bad Id", ".hidden"):
        with pytest.raises(SettingsError, match="lower-case"):
            create_tenant(bad, "X", currency="NGN")
    assert not (grace_env / "x").exists() and not (grace_env / "tenants" / "x").exists()


def test_a_new_business_gets_a_valid_tenant_and_an_empty_catalog(grace_env):
    with pytest.raises(SettingsError) as refused:
        create_tenant("sokoni", "Sokoni Vitambaa", currency="KES")
    assert set(refused.value.errors) == {"timezone", "payment.bank_name", "payment.account_name",
                                         "payment.account_number", "ops", "policies.returns", "policies.delivery"}
    facts = dict(currency="KES", timezone="Africa/Nairobi", ops="+254700000009",
                 payment={"bank_name": "Sample Bank", "account_name": "Sokoni Ltd", "account_number": "0100200300"},
                 policies={"returns": "Exchanges within 7 days.", "delivery": "Nairobi in 2 days."})
    with pytest.raises(SettingsError) as refused:
        create_tenant("sokoni", "Sokoni Vitambaa", **{**facts, "timezone": "Nairobi"})
    assert "timezone" in refused.value.errors

    tenant = create_tenant("sokoni", "Sokoni Vitambaa", **facts)

    assert get_registry().get("sokoni").name == "Sokoni Vitambaa" and "sokoni" in get_registry().ids()
    assert tenant.currency == "KES" and tenant.order_prefix == "SOK" and tenant.catalog.fabrics == []
    assert tenant.payment.account_number == "0100200300" and tenant.hours.describe_day("sun") == "Sunday: closed"
    with pytest.raises(SettingsError, match="already exists"):
        create_tenant("sokoni", "Again", **facts)
    assert sorted(p.name for p in (grace_env / "tenants").iterdir()) == ["akanraby", "kentehouse", "kitengenairobi",
                                                                         "sokoni"]


def test_two_owners_saving_at_once_both_keep_their_change(grace_env):
    barrier = threading.Barrier(2)

    def save(changes: dict, by: str) -> None:
        barrier.wait()
        update_settings("akanraby", changes, by=by)

    threads = [threading.Thread(target=save, args=({"hold_hours": 12}, "ada")),
               threading.Thread(target=save, args=({"policies": {"delivery": "Lagos in 1 day."}}, "tunde"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tenant = get_registry().get("akanraby")
    assert tenant.hold_hours == 12 and tenant.policies["delivery"] == "Lagos in 1 day."
    assert sorted(e.by for e in history("akanraby")) == ["ada", "tunde"]


def test_changing_one_business_never_touches_another(grace_env):
    other = tenant_folder("kentehouse")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in other.iterdir()}
    update_settings("akanraby", {"name": "Akanraby Fabrics"}, by="ada")
    undo("akanraby", history("akanraby")[0].id, by="ada")
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in other.iterdir()} == before
    assert history("kentehouse") == [] and get_registry().get("kentehouse").name == "Kente House Accra"


# ---------------------------------------------------------------- pickup and delivery, payment links

def test_delivery_zones_and_the_deposit_rule_are_edited_and_seen_at_once(grace_env):
    settings = current_settings("kentehouse")
    zones = settings["delivery"]["zones"]
    zones[2]["fee"] = "95"  # Tema costs more now
    zones.append({"name": "Kasoa", "areas": "Kasoa, Weija\nBortianor", "fee": "70", "days": "2"})
    tenant = update_settings("kentehouse", {"delivery": settings["delivery"], "deposit_includes_delivery": "yes"},
                             by="kofi")
    assert tenant.delivery is not None and [z.fee_minor for z in tenant.delivery.zones] == [4000, 6000, 9500, 12000,
                                                                                             7000]
    assert tenant.delivery.zones[-1].areas == ("Kasoa", "Weija", "Bortianor") and tenant.deposit_includes_delivery
    assert tenant.delivery.pickup is not None and tenant.delivery.pickup.address.startswith("No. 7 Loom Lane")
    assert history("kentehouse")[0].summary == "changed delivery, deposit_includes_delivery"


def test_a_blank_delivery_block_means_no_delivery_and_a_blank_pickup_no_pickup(grace_env):
    settings = current_settings("akanraby")
    tenant = update_settings("akanraby", {"delivery": {**settings["delivery"], "pickup": {"address": "", "note": ""}}},
                             by="ada")
    assert tenant.delivery is not None and tenant.delivery.pickup is None and len(tenant.delivery.zones) == 5
    blank = {"pickup": {"address": "", "note": ""}, "zones": [{"name": "", "areas": "", "fee": "", "days": ""}],
             "free_above": ""}
    tenant = update_settings("akanraby", {"delivery": blank}, by="ada")
    assert tenant.delivery is None  # no question asked any more
    assert current_settings("akanraby")["delivery"] is None


@pytest.mark.parametrize("changes, field", [
    ({"delivery": {"zones": [{"name": "Lekki", "fee": "lots"}]}}, "delivery.zones[0].fee"),
    ({"delivery": {"zones": [{"name": "Lekki", "areas": "Ajah"}]}}, "delivery.zones[0].fee"),
    ({"delivery": {"zones": [{"name": "Lekki", "fee": "-5"}]}}, "delivery.zones[0].fee"),
    ({"delivery": {"pickup": {"note": "ring the bell"}}}, "delivery.pickup.address"),
    ({"deposit_includes_delivery": "sometimes"}, "deposit_includes_delivery"),
    ({"payment_links": "paystack", "paystack_secret_key_env": "sk_live_0123456789abcdef"}, "paystack_secret_key_env"),
    ({"payment_links": "flutterwave"}, "payment_links"),
])
def test_bad_delivery_or_payment_link_settings_are_refused_with_the_reason(grace_env, changes, field):
    before = tenant_yml().read_bytes()
    with pytest.raises(SettingsError) as refused:
        update_settings("akanraby", changes, by="ada")
    assert field in refused.value.errors and refused.value.errors[field]
    assert tenant_yml().read_bytes() == before and history("akanraby") == []


def test_payment_links_are_turned_off_and_on_by_the_names_of_the_key_variables(grace_env):
    tenant = update_settings("akanraby", {"payment_links": "none"}, by="ada")
    assert tenant.payment_links == ""
    tenant = update_settings("akanraby", {"payment_links": "stripe", "stripe_secret_key_env": "AKA_STRIPE_KEY",
                                          "stripe_webhook_secret_env": "AKA_STRIPE_WEBHOOK"}, by="ada")
    assert tenant.payment_links == "stripe" and tenant.payment_secret_key_env == "AKA_STRIPE_KEY"


# ---------------------------------------------------------------- follow-ups

def test_follow_ups_are_edited_from_the_form_and_a_cleared_one_is_off(grace_env):
    from werkzeug.datastructures import MultiDict

    from web.settings import form_to_changes

    form = MultiDict({"follow_ups.restock_alerts": "yes", "follow_ups.summary_nudge_minutes": "30",
                      "follow_ups.reorder_after_days": "60", "follow_ups.quiet_hours": "22:00-07:30"})
    tenant = update_settings("kentehouse", form_to_changes(form), by="kofi")
    follow_ups = tenant.follow_ups
    assert follow_ups.restock_alerts and follow_ups.summary_nudge_minutes == 30 and follow_ups.reorder_after_days == 60
    assert [t.isoformat() for t in follow_ups.quiet_hours] == ["22:00:00", "07:30:00"]
    assert current_settings("kentehouse")["follow_ups"]["quiet_hours"] == "22:00-07:30"
    assert history("kentehouse")[0].summary == "changed follow_ups"

    form = MultiDict({"follow_ups.restock_alerts": "no", "follow_ups.summary_nudge_minutes": "",
                      "follow_ups.reorder_after_days": "0", "follow_ups.quiet_hours": ""})
    follow_ups = update_settings("kentehouse", form_to_changes(form), by="kofi").follow_ups
    assert not (follow_ups.restock_alerts or follow_ups.summary_nudge_minutes or follow_ups.reorder_after_days)
    assert follow_ups.quiet_hours is None  # cleared, not kept from the old file
    assert get_registry().get("kentehouse").follow_ups == follow_ups


@pytest.mark.parametrize("changes, field", [
    ({"follow_ups": {"quiet_hours": "after 9pm"}}, "follow_ups.quiet_hours"),
    ({"follow_ups": {"summary_nudge_minutes": "1500"}}, "follow_ups.summary_nudge_minutes"),
    ({"follow_ups": {"reorder_after_days": "soon"}}, "follow_ups.reorder_after_days"),
    ({"follow_ups": {"restock_alerts": "maybe"}}, "follow_ups.restock_alerts"),
])
def test_bad_follow_up_settings_are_refused_by_field(grace_env, changes, field):
    before = tenant_yml().read_bytes()
    with pytest.raises(SettingsError) as refused:
        update_settings("akanraby", changes, by="ada")
    assert field in refused.value.errors and refused.value.errors[field]
    assert tenant_yml().read_bytes() == before and history("akanraby") == []
