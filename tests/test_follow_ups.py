"""Follow-ups that bring customers back, each a switch of the business's: the restock alert a customer asked
for when a fabric was sold out (sent once per waiting customer, however many restocks race), the one nudge of
an unconfirmed order summary, the reorder suggestion some days after delivery, and quiet hours in the
business's own timezone. Conversations run through the production actions; the nudges read a tracker store
written by Rasa's own SQL tracker store; time passing is rows moved into the past or a clock handed in."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select, update

from actions.fabrics import ActionCheckAvailability
from actions.info import ActionAnswerHours
from actions.ordering import ActionCancelOrder
from actions.selection import ActionUpdateSelection
from actions.support import ActionGraceFallback, ActionRedirectOfftopic
from actions.yes_no import ActionAnswerYesNo
from grace.config import load_settings
from grace.messaging.contacts import record_inbound
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.run.outbox import deliver_pending
from grace.shop.catalog_import import update_fabric
from grace.shop.follow_ups import (
    alert_restocked_fabrics,
    quiet_until,
    schedule_reorder_suggestions,
    schedule_summary_nudges,
    tell_restocked,
    wait_for_restock,
)
from grace.shop.reminders import expire_lapsed_orders
from grace.store import session_scope
from grace.store.models import Contact, Notification, RestockAlert, utcnow
from grace.tenancy.files import edit_rows, tenant_folder
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts
from tests.test_analytics_data import Conversations
from tests.test_expiry import lapse, place, scarce
from tests.test_fulfilment import move, paid_order, pay_balance

ADA, BAYO, CHI, DAPO = "+2348011111111", "+2348022222222", "+2348033333333", "+2348044444444"
KOFI = "+233244444444"
MARKET_DAY = "AK-007"  # sold out in Lagos's catalog
TEMPLATE_SID = "HX0123456789abcdef0123456789abcdef"


def chat(phone: str, tenant_id: str = "akanraby") -> Chat:
    return Chat(f"{tenant_id}:{phone}")


def asks_for_market_day(customer: Chat) -> str:
    return texts(customer.run(ActionCheckAvailability, "is Market Day still available?", "check_availability"))


def waiting() -> list[tuple[str, str, bool]]:
    with session_scope() as session:
        return sorted((a.phone, a.sku, a.notified_at is not None) for a in session.scalars(select(RestockAlert)))


def told(kind: str = "restock") -> list[tuple[str, dict]]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
        return [(r.recipients[0], dict(r.payload)) for r in rows]


def restock(sku: str = MARKET_DAY, stock: int = 30, tenant_id: str = "akanraby") -> None:
    """The owner puts the fabric back in stock from the dashboard's fabric page."""
    update_fabric(get_registry().get(tenant_id), sku, {"stock": str(stock)})


def quiet_hours_over() -> None:
    """Time passes: what waited for the end of the quiet hours is due."""
    with session_scope() as session:
        session.execute(update(Notification).values(not_before=None))


def edit_tenant(grace_env, tenant_id: str, **changes) -> None:
    path = grace_env / "tenants" / tenant_id / "tenant.yml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def back_in_stock(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["sku"] == MARKET_DAY:
            row["stock"] = "25"


def sent_to(twilio, phone: str) -> list[dict]:
    return [m for m in twilio.messages if m["To"] == f"whatsapp:{phone}"]


# ---------------------------------------------------------------- the offer and the answer


@pytest.mark.parametrize("answer, intent, action", [
    ("yes pls", "affirm", ActionAnswerYesNo),
    ("ok tell me", "affirm", ActionAnswerYesNo),
    ("abeg let me know", "nlu_fallback", ActionGraceFallback),  # however NLU reads it
    ("yes o, holla me when e land", "flattery", ActionRedirectOfftopic),
    ("sawa, niambie ikirudi", "nlu_fallback", ActionGraceFallback),
    ("Yes please tell me when Market Day is back", "check_availability", ActionCheckAvailability),
])
def test_a_yes_in_the_customers_words_waits_for_the_fabric(grace_env, answer, intent, action):
    customer = chat(ADA)
    said = asks_for_market_day(customer)
    assert "sold out" in said and "as soon as *Market Day* is back in stock" in said.splitlines()[-1]

    reply = texts(customer.run(action, answer, intent))

    assert "Market Day" in reply and ("I'll message you" in reply or "first to know" in reply)
    assert "sold out" not in reply  # the yes is the answer, not another question about the fabric
    assert waiting() == [(ADA, MARKET_DAY, False)] and customer.slots["restock_asked"] is None


@pytest.mark.parametrize("answer, intent, action, answered", [
    ("no thanks", "deny", ActionAnswerYesNo, "No wahala"),
    ("what time do you close today?", "ask_hours", ActionAnswerHours, "pm"),
    ("number 1, 6 yards", "select_fabric", ActionUpdateSelection, "Your order"),
])
def test_a_no_or_moving_on_records_nothing_and_gets_no_alert(grace_env, answer, intent, action, answered):
    customer = chat(BAYO)
    asks_for_market_day(customer)
    reply = texts(customer.run(action, answer, intent))
    assert answered in reply and customer.slots["restock_asked"] is None  # asked once: the question drops
    texts(customer.run(ActionAnswerYesNo, "yes", "affirm"))  # a later yes is about something else
    assert waiting() == []
    restock()
    assert told() == []


def test_grace_does_not_offer_when_the_business_has_the_switch_off_or_the_customer_is_not_on_whatsapp(grace_env):
    nairobi = chat("+254711111111", "kitengenairobi")  # follow-ups off
    said = texts(nairobi.run(ActionCheckAvailability, "mnayo Matatu Art?", "check_availability"))
    assert "sold out" in said and "back in stock" not in said and not nairobi.slots.get("restock_asked")
    website = chat("web:visitor-42")  # Grace could never write to them later
    said = texts(website.run(ActionCheckAvailability, "is Market Day still available?", "check_availability"))
    assert "sold out" in said and "back in stock" not in said


def test_a_sold_out_fabric_chosen_gets_the_offer_too(grace_env):
    customer = chat(ADA)
    said = texts(customer.run(ActionUpdateSelection, "I want 6 yards of Market Day", "select_fabric"))
    assert "sold out" in said and said.splitlines()[-1].startswith("Shall I message you")
    customer.run(ActionAnswerYesNo, "yes", "affirm")
    assert waiting() == [(ADA, MARKET_DAY, False)]


def test_a_yes_that_finds_the_last_of_it_gone_gets_the_offer(grace_env):
    fabric = min((f for f in get_registry().get("akanraby").catalog.fabrics if f.stock >= f.min_qty > 0),
                 key=lambda f: f.stock)  # one order can hold all of it, and it can be ordered
    customer = chat(ADA)
    customer.run(ActionUpdateSelection, f"{fabric.min_qty} {fabric.unit_plural(2)} of {fabric.name}", "select_fabric")
    customer.pick_up()
    place("akanraby", DAPO, fabric.sku)  # someone else takes all of it meanwhile
    said = texts(customer.run(ActionAnswerYesNo, "yes", "affirm"))
    assert "Someone just bought the last of it" in said and said.splitlines()[-1].startswith("Shall I message you")
    customer.run(ActionAnswerYesNo, "yes pls", "affirm")
    assert waiting() == [(ADA, fabric.sku, False)]


# ---------------------------------------------------------------- the restock


def test_a_restock_tells_each_waiting_customer_once(twilio, grace_env):
    edit_tenant(grace_env, "akanraby", whatsapp_templates={"restock": {"twilio_content_sid": TEMPLATE_SID}})
    for phone in (ADA, BAYO):
        customer = chat(phone)
        asks_for_market_day(customer)
        customer.run(ActionAnswerYesNo, "yes pls", "affirm")
    again = chat(ADA)
    assert "already on my list" in asks_for_market_day(again)  # asked twice, waits once
    declined = chat(CHI)
    asks_for_market_day(declined)
    declined.run(ActionAnswerYesNo, "no thanks", "deny")
    kofi = chat(KOFI, "kentehouse")
    kofi.run(ActionCheckAvailability, "is Makola Market available", "check_availability")
    kofi.run(ActionAnswerYesNo, "aane, let me know", "affirm")

    restock()
    restock(stock=40)  # a second change of the same fabric tells nobody again
    restock("KH-015", 50, "kentehouse")

    assert sorted(recipient for recipient, _ in told()) == [f"akanraby:{ADA}", f"akanraby:{BAYO}",
                                                            f"kentehouse:{KOFI}"]
    assert waiting() == [(KOFI, "KH-015", True), (ADA, MARKET_DAY, True), (BAYO, MARKET_DAY, True)]
    record_inbound("akanraby", ADA, "whatsapp")  # Ada wrote today; Bayo and Kofi did not
    quiet_hours_over()
    asyncio.run(deliver_pending())
    [free_text] = sent_to(twilio, ADA)
    assert "*Market Day* (AK-007) is back in stock" in free_text["Body"] and "yards" in free_text["Body"]
    [template] = sent_to(twilio, BAYO)  # outside the 24-hour window: the approved template
    assert template["ContentSid"] == TEMPLATE_SID
    assert json.loads(template["ContentVariables"]) == {"1": "Market Day", "2": MARKET_DAY}
    assert sent_to(twilio, KOFI) == []  # Kente House has no restock template: skipped, with the reason
    with session_scope() as session:
        [row] = session.scalars(select(Notification).where(Notification.tenant_id == "kentehouse",
                                                           Notification.kind == "restock")).all()
        assert row.status == "skipped" and "24-hour" in row.last_error and "'restock'" in row.last_error
    assert sent_to(twilio, CHI) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, grace_env, monkeypatch):
    """SQLite (one server) or PostgreSQL (replicas, each with its outbox worker and dashboard)."""
    if request.param == "postgresql":
        monkeypatch.setenv("GRACE_DATABASE_URL", request.getfixturevalue("pg_url"))
    return request.param


def test_restocks_racing_tell_each_waiting_customer_once(store):
    tenant = get_registry().get("akanraby")
    phones = [f"+23480300000{i:02d}" for i in range(12)]
    with session_scope() as session:
        for phone in phones:
            wait_for_restock(session, tenant, phone, [MARKET_DAY])

    edit_rows(tenant, back_in_stock)  # the catalog file edited on the server: no hook ran
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def racing(restock_now) -> None:
        start.wait()
        try:
            restock_now()
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)

    # two outbox workers' passes and two owners saving the fabric, twice each, all at once
    work = [alert_restocked_fabrics, alert_restocked_fabrics, alert_restocked_fabrics, alert_restocked_fabrics,
            lambda: restock(stock=30), lambda: restock(stock=35)]
    threads = [threading.Thread(target=racing, args=(w,)) for w in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(recipient for recipient, _ in told()) == sorted(f"akanraby:{p}" for p in phones)
    assert all(notified for _, _, notified in waiting())


def test_stock_an_order_gives_back_tells_the_customers_waiting_for_it(grace_env):
    fabric = scarce("akanraby")  # one order can hold all of it
    place("akanraby", DAPO, fabric.sku)
    customer = chat(ADA)
    said = texts(customer.run(ActionCheckAvailability, f"do you have {fabric.name}?", "check_availability"))
    assert "sold out" in said
    customer.run(ActionAnswerYesNo, "yes please", "affirm")

    texts(chat(DAPO).run(ActionCancelOrder, "cancel my order abeg", "cancel_order"))  # its stock is released

    assert told() == [(f"akanraby:{ADA}", {"sku": fabric.sku, "name": fabric.name,
                                           "unit_plural": fabric.unit_plural(2), "customer_name": None})]

    other = place("akanraby", DAPO, fabric.sku)  # held again by a new order, which then lapses
    bayo = chat(BAYO)
    bayo.run(ActionCheckAvailability, f"do you have {fabric.name}?", "check_availability")
    bayo.run(ActionAnswerYesNo, "ok tell me", "affirm")
    lapse(other)
    assert expire_lapsed_orders() == 1
    assert [recipient for recipient, _ in told()] == [f"akanraby:{ADA}", f"akanraby:{BAYO}"]


# ---------------------------------------------------------------- the summary nudge


def shows_summary(conversations: Conversations, phone: str, at: datetime) -> str:
    sender = f"akanraby:{phone}"
    conversations.says(sender, at, "6 yards of marigold bloom abeg", "select_fabric")
    conversations.grace(sender, at, "action_update_selection", "🧾 Your order ...",
                        selection=[{"sku": "AK-001", "qty": 6}], funnel_stage="reviewing")
    return sender


def confirms(conversations: Conversations, sender: str, at: datetime) -> None:
    conversations.says(sender, at, "yes", "affirm")
    conversations.grace(sender, at, "action_answer_yes_no", "Thank you! 🎉", funnel_stage="awaiting_payment",
                        selection=[])


def tracker():
    return tracker_engine(load_settings().tracker_database_url)


def rasa_tracker_store(grace_env) -> Conversations:
    """Rasa's own SQL tracker store where Grace keeps conversations (GRACE_VAR_DIR/tracker.db)."""
    (grace_env / "var").mkdir(exist_ok=True)
    return Conversations(grace_env / "var" / "tracker.db")


def test_an_unconfirmed_summary_is_nudged_once_and_never_after_a_confirm(twilio, grace_env):
    conversations = rasa_tracker_store(grace_env)
    now = utcnow()
    shown = (now - timedelta(minutes=61)).replace(tzinfo=timezone.utc)
    for phone in (ADA, BAYO, CHI):
        record_inbound("akanraby", phone, "whatsapp")
    ada = shows_summary(conversations, ADA, shown)
    confirms(conversations, shows_summary(conversations, BAYO, shown), shown + timedelta(minutes=5))
    chi = shows_summary(conversations, CHI, shown)
    kofi = f"kentehouse:{KOFI}"  # Kente House has no nudge
    conversations.says(kofi, shown, "4 yards of swallows fly", "select_fabric")
    conversations.grace(kofi, shown, "action_update_selection", "🧾", selection=[{"sku": "KH-013", "qty": 4}],
                        funnel_stage="reviewing")
    record_inbound("kentehouse", KOFI, "whatsapp")
    conversations.save()

    assert schedule_summary_nudges(tracker(), now - timedelta(minutes=2)) == 0  # Lagos nudges after 60 minutes
    assert schedule_summary_nudges(tracker(), now) == 2  # Ada and Chi; Bayo confirmed
    assert schedule_summary_nudges(tracker(), now + timedelta(minutes=30)) == 0  # once
    assert sorted(r for r, _ in told("summary_nudge")) == [ada, chi]

    confirms(conversations, chi, datetime.now(timezone.utc))  # Chi confirms while the nudge waits to go
    conversations.save()
    quiet_hours_over()
    asyncio.run(deliver_pending())
    [nudge] = sent_to(twilio, ADA)
    assert "6 yards of Marigold Bloom" in nudge["Body"] and "YES" in nudge["Body"]
    assert sent_to(twilio, BAYO) == [] and sent_to(twilio, CHI) == []
    with session_scope() as session:
        withdrawn = session.scalars(select(Notification).where(Notification.kind == "summary_nudge",
                                                               Notification.status == "skipped")).all()
        assert [(r.recipients, r.last_error) for r in withdrawn] == [([chi], "the customer wrote since the summary")]


def test_no_nudge_outside_the_24_hour_window(grace_env):
    conversations = rasa_tracker_store(grace_env)
    now = utcnow()
    shows_summary(conversations, DAPO, (now - timedelta(minutes=90)).replace(tzinfo=timezone.utc))
    conversations.save()
    record_inbound("akanraby", DAPO, "whatsapp")
    with session_scope() as session:  # their last message reached us a day ago (the tracker's clock aside)
        session.execute(update(Contact).values(last_inbound_at=now - timedelta(hours=25)))
    assert schedule_summary_nudges(tracker(), now) == 0


# ---------------------------------------------------------------- the reorder suggestion


def test_a_reorder_suggestion_goes_once_after_the_businesss_days(twilio, grace_env):
    edit_tenant(grace_env, "akanraby", whatsapp_templates={"reorder": {"twilio_content_sid": TEMPLATE_SID}})
    customer = Chat()
    reference, _, quantity = paid_order(customer)
    pay_balance(customer, reference)
    move(reference, "delivered")
    delivered = utcnow()

    assert schedule_reorder_suggestions(delivered + timedelta(days=44)) == 0  # Lagos: after 45 days
    assert schedule_reorder_suggestions(delivered + timedelta(days=45, minutes=1)) == 1
    assert schedule_reorder_suggestions(delivered + timedelta(days=46)) == 0  # once per order
    [(recipient, payload)] = told("reorder")
    assert recipient == f"akanraby:{ADA}" and payload["order_reference"] == reference

    quiet_hours_over()
    asyncio.run(deliver_pending())
    [suggestion] = sent_to(twilio, ADA)  # weeks after their last message: the approved template
    assert suggestion["ContentSid"] == TEMPLATE_SID
    variables = json.loads(suggestion["ContentVariables"])
    assert variables["1"] == reference and variables["2"].startswith(f"{quantity} yards of ")


def test_no_reorder_suggestion_where_the_switch_is_off(grace_env):
    edit_tenant(grace_env, "akanraby", follow_ups={"restock_alerts": True})  # no reorder_after_days
    customer = Chat()
    reference, _, _ = paid_order(customer)
    pay_balance(customer, reference)
    move(reference, "delivered")
    assert schedule_reorder_suggestions(utcnow() + timedelta(days=45, minutes=1)) == 0
    assert told("reorder") == []


def test_two_workers_at_once_write_each_nudge_and_suggestion_once(store, grace_env):
    customer = Chat()
    reference, _, _ = paid_order(customer)
    pay_balance(customer, reference)
    move(reference, "delivered")
    conversations = rasa_tracker_store(grace_env)
    now = utcnow()
    shows_summary(conversations, BAYO, (now - timedelta(minutes=61)).replace(tzinfo=timezone.utc))
    conversations.save()
    record_inbound("akanraby", BAYO, "whatsapp")
    start = threading.Barrier(8)
    written: dict[str, list[int]] = {"reorder": [], "summary_nudge": []}

    def worker(kind: str, schedule) -> None:
        start.wait()
        written[kind].append(schedule())

    work = [("reorder", lambda: schedule_reorder_suggestions(now + timedelta(days=45, minutes=1)))] * 4 + \
        [("summary_nudge", lambda: schedule_summary_nudges(tracker(), now))] * 4
    threads = [threading.Thread(target=worker, args=w) for w in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written["reorder"]) == [0, 0, 0, 1] and sorted(written["summary_nudge"]) == [0, 0, 0, 1]
    assert [r for r, _ in told("reorder")] == [f"akanraby:{ADA}"]
    assert [r for r, _ in told("summary_nudge")] == [f"akanraby:{BAYO}"]


# ---------------------------------------------------------------- quiet hours


def test_quiet_hours_are_the_businesss_own_time(twilio, grace_env):
    quiet = {"restock_alerts": True, "quiet_hours": "21:00-08:00"}
    edit_tenant(grace_env, "kitengenairobi", follow_ups=quiet)
    lagos, nairobi = get_registry().get("akanraby"), get_registry().get("kitengenairobi")
    evening = datetime(2026, 3, 2, 19, 30)  # UTC: 20:30 in Lagos, 22:30 in Nairobi
    assert quiet_until(lagos, evening) is None
    assert quiet_until(nairobi, evening) == datetime(2026, 3, 3, 5, 0)  # 08:00 in Nairobi
    morning = datetime(2026, 3, 3, 6, 30)  # 07:30 in Lagos, 09:30 in Nairobi
    assert quiet_until(lagos, morning) == datetime(2026, 3, 3, 7, 0)  # 08:00 in Lagos
    assert quiet_until(nairobi, morning) is None
    assert quiet_until(get_registry().get("kentehouse"), datetime(2026, 3, 2, 23, 0)) == datetime(2026, 3, 3, 7, 0)

    # A restock at 22:00 in Lagos waits for the morning: the outbox does not send it before.
    local_now = datetime.now(ZoneInfo("Africa/Lagos"))
    ten_pm = datetime.combine(local_now.date(), time(22, 0), ZoneInfo("Africa/Lagos"))
    ten_pm += timedelta(days=1) if ten_pm <= local_now else timedelta()
    at = ten_pm.astimezone(timezone.utc).replace(tzinfo=None)
    record_inbound("akanraby", ADA, "whatsapp")
    customer = chat(ADA)
    asks_for_market_day(customer)
    customer.run(ActionAnswerYesNo, "yes pls", "affirm")
    edit_rows(lagos, back_in_stock)  # by hand: no hook told anyone
    with session_scope() as session:
        assert tell_restocked(session, get_registry().get("akanraby"), now=at) == 1
    with session_scope() as session:
        [row] = session.scalars(select(Notification).where(Notification.kind == "restock")).all()
        assert row.not_before == (ten_pm + timedelta(hours=10)).astimezone(timezone.utc).replace(tzinfo=None)
    asyncio.run(deliver_pending())
    assert sent_to(twilio, ADA) == []
    quiet_hours_over()  # morning came
    asyncio.run(deliver_pending())
    assert len(sent_to(twilio, ADA)) == 1


# ---------------------------------------------------------------- the businesses' settings


def test_the_test_businesses_differ():
    from pathlib import Path

    from grace.tenancy.registry import parse_tenant

    root = Path(__file__).resolve().parent.parent
    lagos = parse_tenant("akanraby", root / "tenants" / "akanraby").follow_ups
    accra = parse_tenant("kentehouse", root / "tests" / "tenants" / "kentehouse").follow_ups
    nairobi = parse_tenant("kitengenairobi", root / "tests" / "tenants" / "kitengenairobi").follow_ups
    assert lagos.restock_alerts and lagos.summary_nudge_minutes and lagos.reorder_after_days and lagos.quiet_hours
    assert accra.restock_alerts and not accra.summary_nudge_minutes and not accra.reorder_after_days
    assert not (nairobi.restock_alerts or nairobi.summary_nudge_minutes or nairobi.reorder_after_days)


@pytest.mark.parametrize("block, field", [
    ({"quiet_hours": "9pm-8am"}, "follow_ups.quiet_hours"),
    ({"quiet_hours": "08:00-08:00"}, "follow_ups.quiet_hours"),
    ({"summary_nudge_minutes": 2000}, "follow_ups.summary_nudge_minutes"),
    ({"summary_nudge_minutes": "an hour"}, "follow_ups.summary_nudge_minutes"),
    ({"reorder_after_days": 4.5}, "follow_ups.reorder_after_days"),
    ({"restock_alerts": "yes please"}, "follow_ups.restock_alerts"),
    ({"reminders": True}, "follow_ups.reminders"),
    ("on", "follow_ups"),
])
def test_bad_follow_up_settings_name_the_file_and_the_field(grace_env, block, field):
    from grace.errors import TenantFileError

    edit_tenant(grace_env, "kitengenairobi", follow_ups=block)
    with pytest.raises(TenantFileError) as refused:
        get_registry().get("kitengenairobi")
    assert refused.value.field == field and refused.value.problem
    assert refused.value.path == str(tenant_folder("kitengenairobi") / "tenant.yml")
    assert f"tenant.yml: {field}: " in str(refused.value)
