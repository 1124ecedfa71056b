"""Usage metered per business per month against its plan: exact counts under concurrent turns (SQLite and
PostgreSQL), the owner told once at 80% and once at 100% (on WhatsApp through the outbox), and broadcasts
refused or held when the plan's broadcast messages are used up, going on when the month turns."""
from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import event, select

from grace.messaging.contacts import record_inbound
from grace.run.outbox import deliver_pending
from grace.shop.broadcasts import BroadcastError
from grace.store import get_engine, session_scope
from grace.store.models import Notification, TenantAccount, UsageCount
from grace.tenancy.usage import add, meter_message, model_stopped, month_name, month_of, month_usage, next_month
from tests.test_broadcasts import (
    SID,
    import_csv,
    lagos_number,
    local_morning,
    new_broadcast,
    recipients,
    report,
    round_at,
    sent_to,
    status,
)
from tests.web.conftest import login, web_env  # noqa: F401  (the owner who reads the page)
from web.app import create_app

OPS = "+2349010000009"  # akanraby's ops number in the test tenants


def tight_plans(tmp_path, monkeypatch, **limits) -> None:
    """Every business on a small plan called Tight, with these monthly limits."""
    body = "\n".join(f"    {name}: {value}" for name, value in limits.items())
    path = tmp_path / "plans.yml"
    path.write_text(f"default: tight\nplans:\n  tight:\n    name: Tight\n{body}\n  roomy:\n    name: Roomy\n")
    monkeypatch.setenv("GRACE_PLANS_FILE", str(path))


def usage(tenant_id: str, month: str | None = None) -> dict[str, int]:
    with session_scope() as session:
        return month_usage(session, tenant_id, month)


def plan_notices() -> list[tuple[str, list[str], str]]:
    with session_scope() as session:
        return [(n.tenant_id, list(n.recipients), n.payload["summary"]) for n in session.scalars(
            select(Notification).where(Notification.kind == "plan_usage").order_by(Notification.id))]


def test_messages_and_the_customers_who_wrote_are_counted_per_business(grace_env):
    for _ in range(3):
        meter_message("akanraby", "akanraby:+2348011111111")
    meter_message("akanraby", "akanraby:+2348022222222")
    meter_message("kentehouse", "kentehouse:+233241111111")
    assert usage("akanraby") == {"conversations": 2, "messages": 4, "model_calls": 0, "model_tokens": 0,
                                 "broadcast_messages": 0}
    assert usage("kentehouse")["messages"] == 1 and usage("kentehouse")["conversations"] == 1
    assert usage("akanraby", "2001-01")["messages"] == 0  # another month starts from nothing
    with session_scope() as session:  # nothing of a customer's number is kept
        assert not [m for m in session.scalars(select(UsageCount.metric)) if "+234" in m or "2348011111111" in m]


def test_a_customers_next_message_costs_the_turn_one_statement(grace_env):
    meter_message("akanraby", "akanraby:+2348011111111")  # the month's first: the conversation is counted too
    engine, _ = get_engine()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        meter_message("akanraby", "akanraby:+2348011111111")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO usage_counts")
    assert usage("akanraby")["messages"] == 2 and usage("akanraby")["conversations"] == 1


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_turns_metered_at_once_from_many_threads_lose_no_count(grace_env, monkeypatch, request, database):
    if database == "postgresql":
        monkeypatch.setenv("GRACE_DATABASE_URL", request.getfixturevalue("pg_url"))
    with session_scope():  # the schema exists before the threads race
        pass
    threads, each = 8, 25
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def customer_turns(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(each):  # every thread writes for the same five customers, first messages racing too
                meter_message("akanraby", f"akanraby:+23480{database[:2]}0000{(n + i) % 5}")
        except BaseException as exc:  # noqa: BLE001  (reported below, in the test's thread)
            failures.append(exc)

    workers = [threading.Thread(target=customer_turns, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures and not any(w.is_alive() for w in workers)
    assert usage("akanraby")["messages"] == threads * each
    assert usage("akanraby")["conversations"] == 5


def test_the_owner_is_told_once_at_80_percent_and_once_at_the_limit_on_whatsapp(twilio, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch, messages=10)
    month = month_name(month_of())
    for n in range(1, 13):
        meter_message("akanraby", f"akanraby:+23480500000{n:02d}")
        if n == 7:
            assert plan_notices() == []
        if n == 8:
            assert plan_notices() == [("akanraby", [OPS], (
                f"Grace: 80% of your Tight plan's 10 customer messages for {month} are used (8). At the limit "
                f"customers still get every reply, but Grace answers from your canned replies instead of the model "
                f"until 1 {month_name(next_month(month_of()))} or a bigger plan."))]
    said = [summary for _, _, summary in plan_notices()]
    assert len(said) == 2 and said[1].startswith(f"Grace: your Tight plan's 10 customer messages for {month} are "
                                                 "used up (10). Customers still get every reply")
    assert [n for n in plan_notices() if n[0] != "akanraby"] == []  # the conversations had no limit

    record_inbound("akanraby", OPS, "whatsapp")  # the owner wrote today: the 24-hour window is open
    assert asyncio.run(deliver_pending()) == 2
    assert [m["To"] for m in twilio.messages] == [f"whatsapp:{OPS}"] * 2
    assert "80% of your Tight plan" in twilio.messages[0]["Body"] and "used up" in twilio.messages[1]["Body"]


def test_a_limit_reached_in_one_step_is_told_once_and_a_plan_without_it_never(grace_env, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch, messages=2)
    for n in range(3):
        meter_message("kentehouse", f"kentehouse:+23324000000{n}")
    [(_, _, said)] = plan_notices()  # 50% then 100%: "used up" says it all
    assert "used up (2)" in said
    with session_scope() as session:
        session.add(TenantAccount(tenant_id="akanraby", plan="roomy"))
    for n in range(5):
        meter_message("akanraby", f"akanraby:+23480600000{n}")
    assert [tenant for tenant, _, _ in plan_notices()] == ["kentehouse"]


# Broadcasts ---------------------------------------------------------------------------------------------


def test_a_broadcast_beyond_what_the_plan_leaves_is_refused_with_the_reason(twilio, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch, broadcast_messages=4)
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,vip,yes" for i in range(3)]
               + [f"{lagos_number(i)},Bola,Lagos,,yes" for i in range(3, 6)])
    clock = local_morning()
    month = month_of(clock)
    with pytest.raises(BroadcastError) as refused:
        new_broadcast(now=clock)
    assert refused.value.field == "segment" and refused.value.message == (
        f"this broadcast would go to 6 contacts, but the Tight plan has 4 of its 4 broadcast messages left for "
        f"{month_name(month)}: choose a smaller segment, send it from 1 {month_name(next_month(month))}, or ask "
        f"for a bigger plan")
    draft = new_broadcast(now=clock, send_at=None)  # a draft sends nothing: kept for later
    vip = new_broadcast(now=clock, segment={"labels": ["vip"]})
    assert status(draft) == "draft" and status(vip) == "scheduled"
    assert round_at(clock) == 3 and status(vip) == "sent"
    assert usage("akanraby", month)["broadcast_messages"] == 3
    with pytest.raises(BroadcastError, match="would go to 3 contacts, but the Tight plan has 1 of its 4"):
        new_broadcast(now=clock, segment={"labels": ["vip"]})


def test_a_running_broadcast_waits_at_the_limit_says_why_and_goes_on_next_month(twilio, tmp_path, monkeypatch,
                                                                                web_env):  # noqa: F811
    tight_plans(tmp_path, monkeypatch, broadcast_messages=4)
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,,yes" for i in range(3)])
    clock = local_morning()
    month = month_of(clock)
    broadcast = new_broadcast(now=clock)  # 3 within the 4 left: scheduled
    import_csv("akanraby", [f"{lagos_number(i)},Bola,Lagos,,yes" for i in range(3, 6)])  # 6 when it starts
    assert round_at(clock) == 4  # the plan's last four
    waiting = {phone: detail for phone, (state, detail) in recipients(broadcast).items() if state == "pending"}
    reason = (f"waiting: the Tight plan's 4 broadcast messages for {month_name(month)} are used up; sending goes on "
              f"from 1 {month_name(next_month(month))} or on a bigger plan")
    assert len(waiting) == 2 and set(waiting.values()) == {reason}
    assert status(broadcast) == "sending" and report(broadcast).held == reason
    owner = create_app({"TESTING": True}).test_client()  # the owner reads why on the broadcast's page
    login(owner, "owner@akanraby.test")
    page = owner.get(f"/broadcasts/{broadcast}").get_data(as_text=True)
    assert f'<p class="note" id="held">{escape(reason)}</p>' in page
    assert round_at(clock + timedelta(minutes=5)) == 0 and len(twilio.messages) == 4  # held, nothing lost
    assert usage("akanraby", month)["broadcast_messages"] == 4
    assert [s for _, _, s in plan_notices()][-1].startswith(
        f"Grace: your Tight plan's 4 broadcast messages for {month_name(month)} are used up (4). Broadcasts wait")

    next_clock = clock + timedelta(days=32)  # a new month's allowance
    assert round_at(next_clock) == 2 and status(broadcast) == "sent"
    assert sorted(sent_to(twilio)) == sorted(lagos_number(i) for i in range(6))  # everyone once
    assert usage("akanraby", month_of(next_clock))["broadcast_messages"] == 2


def test_a_bigger_plan_lets_a_held_broadcast_go_on_at_once(twilio, tmp_path, monkeypatch):
    tight_plans(tmp_path, monkeypatch, broadcast_messages=2)
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,,yes" for i in range(2)])
    clock = local_morning()
    broadcast = new_broadcast(now=clock)
    import_csv("akanraby", [f"{lagos_number(i)},Bola,Lagos,,yes" for i in range(2, 5)])
    assert round_at(clock) == 2 and report(broadcast).held.startswith("waiting: the Tight plan's 2")
    with session_scope() as session:
        session.add(TenantAccount(tenant_id="akanraby", plan="roomy"))  # the operator moves it up
    assert round_at(clock + timedelta(seconds=1)) == 3 and status(broadcast) == "sent"
    assert report(broadcast).held == "" and sorted(sent_to(twilio)) == [lagos_number(i) for i in range(5)]


def test_the_owner_is_told_the_model_stopped_even_when_the_plan_changed_after_the_last_count(grace_env, tmp_path,
                                                                                             monkeypatch):
    tight_plans(tmp_path, monkeypatch, model_calls=1)
    with session_scope() as session:  # on a roomy plan (unlimited) the first call is counted: nothing to say
        session.add(TenantAccount(tenant_id="akanraby", plan="roomy"))
    with session_scope() as session:
        add(session, "akanraby", "model_calls")
    with session_scope() as session:  # the operator moves the business to the one-call plan
        session.get(TenantAccount, "akanraby").plan = "tight"
    with session_scope() as session:  # counted by a process that still remembers the roomy plan: no notice yet
        add(session, "akanraby", "model_calls")
    assert plan_notices() == []
    with session_scope() as session:  # the next fallback asks the plan as it is now: stopped, and said
        assert "used up" in model_stopped(session, "akanraby")
    [(_, _, said)] = plan_notices()
    assert said.startswith("Grace: your Tight plan's 1 model answers") and "used up (2)" in said
    with session_scope() as session:  # said once
        assert model_stopped(session, "akanraby")
    assert len(plan_notices()) == 1
