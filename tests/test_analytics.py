"""Analytics: a tenant's figures over a date range, from a real Rasa tracker store and the app store."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from grace.analytics import AnalyticsError, render_charts, tenant_report
from grace.errors import UnknownTenant
from grace.money import format_money
from tests.test_analytics_data import (
    LAGOS,
    Conversations,
    copy_tenant,
    customer_since,
    days_ago,
    local,
    paid_order,
    unhandled,
)

A, B, C, D, E, F = (f"+23480100000{n:02d}" for n in range(1, 7))
G = "+233200000009"
OPTIONS = ["AK-001", "AK-002", "AK-003"]


@pytest.fixture
def shop(grace_env, monkeypatch):
    """Three days of akanraby (today and the two before, Lagos time) next to other tenants' traffic."""
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'tracker.db'}")
    tenants = grace_env / "tenants"
    copy_tenant(tenants, "akanraby", "akanr_by")  # "_" is a LIKE wildcard: akanr_by must not see akanraby
    copy_tenant(tenants, "akanraby", "akan")  # a prefix of akanraby
    today = datetime.now(LAGOS).date()
    t0, t1, t2 = today, days_ago(today, 1), days_ago(today, 2)
    chats = Conversations(grace_env / "tracker.db")

    # A: new customer, browses on t2, buys on t0; ops verify the deposit.
    a = f"akanraby:{A}"
    reference, deposit = paid_order("akanraby", A)
    chats.says(a, local(t2, 9), "hi", "greet")
    chats.grace(a, local(t2, 9), "action_greet", funnel_stage="start")
    chats.says(a, local(t2, 9, 1), "show me ankara", "buy")
    chats.grace(a, local(t2, 9, 1), "action_offer_fabrics", offered_skus=OPTIONS, funnel_stage="browsing")
    chats.says(a, local(t0, 10), "6 yards of number 1", "select_fabric")
    chats.grace(a, local(t0, 10), "action_update_selection", selection=[{"sku": "AK-001", "qty": 6}],
                funnel_stage="reviewing")
    chats.says(a, local(t0, 10, 2), "yes, I confirm", "affirm")
    chats.grace(a, local(t0, 10, 2), "action_confirm_order", order_ref=reference, selection=[],
                funnel_stage="awaiting_payment")
    chats.says(a, local(t0, 10, 30), "/share_image", "share_image")
    chats.grace(a, local(t0, 10, 30), "action_handle_image", funnel_stage="verifying")
    chats.ops_verified(a, local(t0, 11), reference)

    # B: wrote ten days ago; on t1 sees options, then asks something Grace cannot answer.
    b = f"akanraby:{B}"
    chats.says(b, local(days_ago(today, 10), 12), "hello", "greet")
    chats.says(b, local(t1, 12), "show me lace", "buy")
    chats.grace(b, local(t1, 12), "action_offer_fabrics", offered_skus=["LC-001"], funnel_stage="browsing")
    chats.says(b, local(t1, 12, 5), "wetin be your name", "nlu_fallback")
    chats.grace(b, local(t1, 12, 5), "action_grace_fallback")

    # C: new, writes at 23:30 Lagos on the last day (22:30 UTC): still that day.
    chats.says(f"akanraby:{C}", local(t0, 23, 30), "good evening", "greet")
    # D: just outside the range on both sides.
    chats.says(f"akanraby:{D}", local(days_ago(today, 3), 23, 30), "hi", "greet")
    chats.says(f"akanraby:{D}", local(days_ago(today, -1), 0, 30), "hi", "greet")
    # E: was at the payment step five days ago; comes back on t1 in a new session that repeats the slots.
    e = f"akanraby:{E}"
    chats.says(e, local(days_ago(today, 5), 8), "show me ankara", "buy")
    chats.grace(e, local(days_ago(today, 5), 8), "action_offer_fabrics", offered_skus=OPTIONS,
                funnel_stage="awaiting_payment")
    chats.new_session(e, local(t1, 8), offered_skus=OPTIONS, selection=[{"sku": "AK-002", "qty": 6}],
                      funnel_stage="awaiting_payment")
    chats.says(e, local(t1, 8), "hi again", "greet")
    # F: the app store knew this customer 40 days ago; the tracker store only from t1.
    customer_since("akanraby", F, local(days_ago(today, 40), 9))
    chats.says(f"akanraby:{F}", local(t1, 9), "hello", "greet")

    # Other tenants: kentehouse (G buys; A's number talks to it too), akanr_by.
    g = f"kentehouse:{G}"
    _, kente_deposit = paid_order("kentehouse", G)
    chats.says(g, local(t1, 10), "kente for a wedding", "buy")
    chats.grace(g, local(t1, 10), "action_offer_fabrics", offered_skus=OPTIONS, funnel_stage="browsing")
    chats.says(f"kentehouse:{A}", local(t1, 10), "hi", "greet")
    chats.says(f"akanr_by:{B}", local(t1, 10), "hi", "greet")
    chats.save()

    unhandled("akanraby", local(t1, 12, 5), "wetin be your name")
    unhandled("akanraby", local(t0, 9), "WETIN be  your name", answered_by="model")
    unhandled("akanraby", local(t0, 9, 30), "do you sell shoes", answered_by="faq_unknown")
    unhandled("akanraby", local(t0, 9, 40), "abeg 6 yards", answered_by="flow:action_update_selection")
    unhandled("akanraby", local(days_ago(today, 3), 12), "old question")
    unhandled("kentehouse", local(t1, 12), "wetin be your name")
    return {"today": today, "deposit": deposit, "kente_deposit": kente_deposit}


def stages(report) -> list[tuple[str, int, int]]:
    return [(stage.key, stage.conversations, stage.dropped) for stage in report.funnel]


def test_conversations_customers_and_intents_over_three_days(shop):
    today = shop["today"]
    report = tenant_report("akanraby", days_ago(today, 2), today)
    assert report.conversations == 5  # A, B, C, E, F
    assert (report.new_customers, report.returning_customers) == (2, 3)  # A and C are new
    assert [(d.conversations, d.new_customers, d.returning_customers) for d in report.days] == [
        (1, 1, 0), (3, 0, 3), (2, 1, 1)]
    assert report.conversations_per_day == {days_ago(today, 2): 1, days_ago(today, 1): 3, today: 2}
    # Customer messages only: ops' EXTERNAL approval is not a turn.
    assert report.customer_turns == 10
    assert report.intents == {"greet": 4, "buy": 2, "select_fabric": 1, "affirm": 1, "share_image": 1,
                              "nlu_fallback": 1}


def test_funnel_drop_off_conversion_and_deposits(shop):
    today = shop["today"]
    report = tenant_report("akanraby", days_ago(today, 2), today)
    # E's repeated slots at the new session prove nothing: E only greeted.
    assert stages(report) == [("greeting", 5, 3), ("options_sent", 2, 1), ("selection", 1, 0), ("summary", 1, 0),
                              ("payment_requested", 1, 0), ("proof", 1, 0), ("verified", 1, 0)]
    assert report.funnel[0].drop_rate == pytest.approx(0.6)
    assert report.conversion_rate == pytest.approx(0.2)
    assert report.deposits_verified == 1
    assert report.deposits_verified_minor == shop["deposit"]
    assert report.deposits_verified_text == format_money(shop["deposit"], "NGN")
    assert [d.deposits_verified_minor for d in report.days] == [0, 0, shop["deposit"]]


def test_fallback_rate_and_top_unhandled_questions(shop):
    today = shop["today"]
    report = tenant_report("akanraby", days_ago(today, 2), today)
    # Low-confidence turns a flow handled are not fallbacks; other days and tenants are left out.
    assert report.fallback_turns == 3
    assert report.fallback_rate == pytest.approx(0.3)
    assert [(q.text, q.count) for q in report.top_unhandled] == [("wetin be your name", 2), ("do you sell shoes", 1)]
    assert [d.fallback_turns for d in report.days] == [0, 1, 2]


def test_range_ends_at_midnight_in_the_tenants_timezone(shop):
    today = shop["today"]
    last_day = tenant_report("akanraby", today, today)
    assert last_day.conversations == 2  # A, and C at 23:30 Lagos; not D at 00:30 the next day
    assert last_day.new_customers == 1  # C; A was first seen two days before
    before = tenant_report("akanraby", days_ago(today, 4), days_ago(today, 3))
    assert before.conversations == 1  # D's 23:30 three days ago; E's visit five days ago is outside
    # Before the order: only the options A saw on the first day; the deposit verified today is not counted.
    first_two = tenant_report("akanraby", days_ago(today, 2), days_ago(today, 1))
    assert stages(first_two)[:3] == [("greeting", 4, 2), ("options_sent", 2, 2), ("selection", 0, 0)]
    assert (first_two.deposits_verified, first_two.deposits_verified_minor, first_two.conversion_rate) == (0, 0, 0.0)


def test_each_tenant_sees_only_its_own_conversations_and_money(shop):
    today = shop["today"]
    kente = tenant_report("kentehouse", days_ago(today, 2), today)
    assert kente.conversations == 2  # G, and A's number talking to this business
    # A paid akanraby, not Kente House: that deposit never moves A further in kentehouse's funnel.
    assert stages(kente)[1:] == [("options_sent", 1, 0), ("selection", 1, 0), ("summary", 1, 0),
                                 ("payment_requested", 1, 0), ("proof", 1, 0), ("verified", 1, 0)]
    assert kente.deposits_verified_minor == shop["kente_deposit"]
    assert kente.deposits_verified_text == format_money(shop["kente_deposit"], "GHS")
    assert (kente.fallback_turns, kente.customer_turns) == (1, 2)
    wildcard = tenant_report("akanr_by", days_ago(today, 2), today)
    assert (wildcard.conversations, wildcard.customer_turns, wildcard.deposits_verified) == (1, 1, 0)
    prefix = tenant_report("akan", days_ago(today, 2), today)
    assert (prefix.conversations, prefix.customer_turns, prefix.fallback_turns) == (0, 0, 0)


def test_an_empty_range_gives_zeros_and_charts(shop):
    today = shop["today"]
    report = tenant_report("akanraby", days_ago(today, 100), days_ago(today, 90))
    assert (report.conversations, report.customer_turns, report.deposits_verified) == (0, 0, 0)
    assert [stage.conversations for stage in report.funnel] == [0] * 7
    assert (report.conversion_rate, report.fallback_rate, report.deposits_verified_text) == (0.0, 0.0, "₦0")
    assert len(report.days) == 11 and report.top_unhandled == [] and report.intents == {}
    charts = render_charts(report)
    assert all(svg.startswith("<svg") for svg in charts.values())


def test_no_tracker_store_yet_gives_zeros_and_creates_nothing(grace_env, monkeypatch):
    missing = grace_env / "nothing-yet" / "tracker.db"
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{missing}")
    report = tenant_report("akanraby", date(2026, 1, 1), date(2026, 1, 31))
    assert (report.conversations, report.customer_turns, report.conversion_rate) == (0, 0, 0.0)
    assert not missing.exists()


def test_bad_ranges_and_unknown_tenants_are_refused_with_the_reason(grace_env):
    with pytest.raises(AnalyticsError, match="starts .* after it ends"):
        tenant_report("akanraby", date(2026, 3, 5), date(2026, 3, 1))
    with pytest.raises(AnalyticsError, match="must be a date"):
        tenant_report("akanraby", datetime(2026, 3, 1, 12), date(2026, 3, 5))
    with pytest.raises(AnalyticsError, match="longer than"):
        tenant_report("akanraby", date(2020, 1, 1), date(2026, 1, 1))
    with pytest.raises(UnknownTenant):
        tenant_report("../akanraby", date(2026, 3, 1), date(2026, 3, 5))


def test_the_json_form_carries_every_figure(shop):
    today = shop["today"]
    data = json.loads(json.dumps(tenant_report("akanraby", days_ago(today, 2), today).to_dict()))
    assert data["start"] == days_ago(today, 2).isoformat() and data["currency"] == "NGN"
    assert data["funnel"][1] == {"key": "options_sent", "label": "Options sent", "conversations": 2, "dropped": 1,
                                 "drop_rate": 0.5}
    assert data["days"][2]["day"] == today.isoformat() and data["days"][2]["deposits_verified"] == 1
    assert data["top_unhandled"][0] == {"text": "wetin be your name", "count": 2}
    assert (data["conversion_rate"], data["deposits_verified_minor"]) == (0.2, shop["deposit"])


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_charts_show_the_figures(shop):
    today = shop["today"]
    report = tenant_report("akanraby", days_ago(today, 2), today)
    charts = render_charts(report)
    assert set(charts) == {"conversations", "funnel", "conversion", "intents", "deposits", "fallback", "unhandled"}
    for svg in charts.values():
        assert svg.startswith("<svg") and "<script" not in svg  # inlined in the dashboard, no remote script
    funnel = svg_texts(charts["funnel"])
    assert [label for label in funnel if label in {s.label for s in report.funnel}] == [
        "Greeting", "Options sent", "Selection", "Order summary", "Payment requested", "Proof of payment",
        "Deposit verified"]
    assert "Funnel: 5 conversations, conversion to verified deposit 20%" in funnel
    assert {"2", "3"} <= set(funnel)  # 2 went on from the greeting, 3 dropped off there
    assert format_money(shop["deposit"], "NGN") in " ".join(svg_texts(charts["deposits"]))
    assert "5 in all (2 new, 3 returning customers)" in " ".join(svg_texts(charts["conversations"]))
    assert "Fallback rate 30%: 3 of 10 customer messages not handled" in svg_texts(charts["fallback"])
    assert {"wetin be your name", "do you sell shoes"} <= set(svg_texts(charts["unhandled"]))
    assert {"greet", "4"} <= set(svg_texts(charts["intents"]))
    assert "20%" in svg_texts(charts["conversion"])


def test_customers_words_in_charts_are_text_not_markup(shop):
    today = shop["today"]
    unhandled("akanraby", local(today, 8), '<img src=x onerror="alert(1)"> & you?')
    svg = render_charts(tenant_report("akanraby", today, today))["unhandled"]
    assert "<img" not in svg and "&lt;img src=x" in svg


def test_the_event_brokers_stream_gives_the_same_figures_as_the_tracker_store(shop, grace_env, monkeypatch):
    """Scaled profile: Rasa streams every event to the broker (table analytics_events in the app store),
    and analytics reads that stream."""
    import asyncio

    from grace.config import load_settings
    from grace.rasa_plugins.event_broker import AnalyticsEventBroker
    from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore

    today = shop["today"]
    from_tracker = tenant_report("akanraby", days_ago(today, 2), today).to_dict()

    source = GraceSQLTrackerStore(dialect="sqlite", db=str(grace_env / "tracker.db"))
    broker = AnalyticsEventBroker(dialect="sqlite", db=load_settings().database_url.split("///", 1)[1])
    streaming = GraceSQLTrackerStore(dialect="sqlite", db=str(grace_env / "streamed.db"), event_broker=broker)
    for sender in asyncio.run(source.keys()):
        asyncio.run(streaming.save(asyncio.run(source.retrieve_full_tracker(sender))))  # Rasa publishes each event
    for store in (source, streaming):
        store.engine.dispose()
    broker.engine.dispose()
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'no-tracker-here.db'}")

    assert tenant_report("akanraby", days_ago(today, 2), today).to_dict() == from_tracker
    assert tenant_report("akanraby", days_ago(today, 2), today).conversations > 0
