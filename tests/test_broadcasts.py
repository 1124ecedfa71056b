"""Broadcasts: an approved template sent to a segment of opted-in contacts through the outbox, at the owner's pace,
against the local Twilio and Meta APIs (which refuse what the real ones refuse and post signed status callbacks to
the production webhook gateway). The outbox pass is driven with an explicit clock, round by round: the pace is
judged by what each round hands to the provider, never by sleeping.

Lagos (akanraby, NGN) sends through Twilio; Accra (kentehouse, GHS) through Meta where a test says so."""
from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

import pytest
import yaml
from sqlalchemy import select

from connectors.gateway import build_app
from grace.messaging.contacts import record_inbound
from grace.messaging.message_states import TWILIO, record_refused
from grace.run.outbox import deliver_pending
from grace.shop.broadcasts import (
    BACKOFF_CAP,
    MAX_RATE_PER_MINUTE,
    BroadcastError,
    BroadcastNotFound,
    backoff,
    broadcast_report,
    cancel_broadcast,
    claim_recipients,
    count_recipients,
    create_broadcast,
    get_broadcast,
    paused_until,
    schedule_broadcast,
    start_broadcast,
)
from grace.shop.contact_book import import_contacts
from grace.store import session_scope
from grace.store.models import Broadcast, BroadcastRecipient, OutboundMessage, utcnow
from grace.tenancy.registry import get_registry
from grace.whatsapp.broadcasting import TestSendRefused, send_broadcasts, send_test_message
from grace.whatsapp.delivery import close_providers
from tests.fakes.meta_api import FakeMetaGraph
from tests.helpers import sanic_serving

META_APP_SECRET = "meta-app-secret-for-broadcasts"
SID = "HX" + "b" * 32
OTHER_SID = "HX" + "c" * 32
LAGOS_OPS, ACCRA_OPS = "+2349010000009", "+233200000009"


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[str]:
    """The webhook gateway's app, where the providers' status callbacks land, on a real Sanic server, one per
    module (tests.helpers.sanic_serving). Each module's app has a name of its own: Sanic refuses a name twice."""
    with sanic_serving(build_app(f"broadcasts_gateway_{uuid.uuid4().hex[:8]}")) as url:
        yield url


@pytest.fixture
def gateway(grace_env, gateway_server, monkeypatch) -> str:
    """The gateway's URL, also the public URL Twilio is told to call back (and signs over)."""
    monkeypatch.setenv("GRACE_PUBLIC_URL", gateway_server)
    with session_scope():  # the store exists before the first callback comes (as a running Grace's does)
        pass
    return gateway_server


def tenant(tenant_id: str = "akanraby"):
    return get_registry().get(tenant_id)


def local_morning(tenant_id: str = "akanraby", days: int = 1, hour: int = 10) -> datetime:
    """`hour` o'clock in the business's own timezone, `days` from today, as the store keeps times (naive UTC).
    Outside every test business's quiet hours at 10:00, and (days >= 1) always after the real clock, so a
    broadcast made "now" on this clock is due on it."""
    zone = tenant(tenant_id).timezone
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), zone).astimezone(timezone.utc).replace(tzinfo=None)


def lagos_number(i: int) -> str:
    return f"+23480{30000000 + i:08d}"


def import_csv(tenant_id: str, lines: list[str]) -> None:
    with session_scope() as session:
        report = import_contacts(session, tenant(tenant_id), ("phone,name,city,labels,consent\n"
                                                              + "\n".join(lines) + "\n").encode())
        assert not report.problems, report.problems


def new_broadcast(tenant_id: str = "akanraby", now: datetime | None = None, **given) -> int:
    fields = {"name": "New arrivals", "template": {"twilio_content_sid": SID}, "variables": ["first_name", "city"],
              "segment": {}, "rate_per_minute": 60, "send_at": "now", **given}
    with session_scope() as session:
        return create_broadcast(session, tenant(tenant_id), created_by="owner@test", now=now, **fields).id


def round_at(clock: datetime) -> int:
    """One outbox round of broadcasts at this clock; how many messages the provider took."""
    async def one_round() -> int:
        try:
            return await send_broadcasts(clock)
        finally:  # the round's loop ends here: its HTTP sessions with it
            await close_providers()

    return asyncio.run(one_round())


def report(broadcast_id: int, tenant_id: str = "akanraby"):
    with session_scope() as session:
        return broadcast_report(session, tenant(tenant_id), broadcast_id)


def recipients(broadcast_id: int) -> dict[str, tuple[str, str | None]]:
    with session_scope() as session:
        return {r.phone: (r.status, r.detail) for r in session.scalars(
            select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id))}


def last_in_line(broadcast_id: int) -> str:
    with session_scope() as session:
        return session.scalars(select(BroadcastRecipient.phone).where(BroadcastRecipient.broadcast_id == broadcast_id)
                               .order_by(BroadcastRecipient.id.desc()).limit(1)).one()


def status(broadcast_id: int) -> str:
    with session_scope() as session:
        return session.get(Broadcast, broadcast_id).status


def sent_to(fake) -> list[str]:
    """The numbers a fake took messages for, as E.164 (Twilio writes whatsapp:+..., Meta the digits alone)."""
    return ["+" + str(m.get("To") or m.get("to") or "").removeprefix("whatsapp:").lstrip("+") for m in fake.messages]


# The whole run ------------------------------------------------------------------------------------------


def test_a_broadcast_of_500_contacts_finishes_at_its_pace_honours_opt_outs_and_records_every_state(twilio, gateway):
    twilio.add_content_template(SID, "Hello {{1}}! New owambe prints just landed in {{2}}.")
    # 1,500 status callbacks: held until every message is out (and recorded, as it is once its send returns), then
    # let go quickly, each message's in order
    twilio.callbacks.hold()
    twilio.callbacks.interval = 0.01
    opted_in = [lagos_number(i) for i in range(500)]
    import_csv("akanraby", [f"{p},Customer {i} Obi,Lagos,,yes" for i, p in enumerate(opted_in)]
               + [f"{lagos_number(900 + i)},Never Asked,Lagos,,no" for i in range(2)])
    stopped_before = [lagos_number(950), lagos_number(951)]
    import_csv("akanraby", [f"{p},Stopped,Lagos,,yes" for p in stopped_before])
    for phone in stopped_before:
        record_inbound("akanraby", phone, "whatsapp", stop=True)
    not_on_whatsapp = opted_in[7]
    twilio.add_not_on_whatsapp(not_on_whatsapp)
    import_csv("kentehouse", ["+233244000001,Kofi,Accra,,yes"])
    kente = new_broadcast("kentehouse", send_at=None)  # a draft of another business: never touched

    clock = local_morning()
    with session_scope() as session:
        assert count_recipients(session, tenant(), {}) == 500
    broadcast = new_broadcast(rate_per_minute=120, now=clock)

    per_round, stops_during = [], ""
    while status(broadcast) != "sent":
        before = len(twilio.requests)
        round_at(clock)
        per_round.append(len(twilio.requests) - before)
        if len(per_round) == 1:  # sending has started: the last one in line says STOP before their turn comes
            stops_during = last_in_line(broadcast)
            record_inbound("akanraby", stops_during, "whatsapp", stop=True)
        assert len(per_round) < 40, per_round
        clock += timedelta(seconds=10)
    # The pace: at most 120 in any minute (6 rounds of 10 s), a sixth of it in any 10 s.
    assert max(per_round) == 20 and all(sum(per_round[i:i + 6]) <= 120 for i in range(len(per_round)))
    assert sum(per_round) == 499 and len(per_round) == 25

    assert sorted(sent_to(twilio)) == sorted(set(opted_in) - {stops_during})
    first = next(m for m in twilio.messages if m["To"] == f"whatsapp:{opted_in[3]}")
    assert first["ContentSid"] == SID and json.loads(first["ContentVariables"]) == {"1": "Customer", "2": "Lagos"}
    with session_scope() as session:  # each recipient keeps the provider's id of its message
        assert session.scalars(select(BroadcastRecipient.provider_id).where(
            BroadcastRecipient.phone == opted_in[3])).one() == first["sid"]
    twilio.callbacks.release(498 * 3 + 1)  # sent, delivered, read each; one failed
    twilio.callbacks.wait_for(498 * 3 + 1, timeout=120)
    done = report(broadcast)
    assert done.recipients == {"pending": 0, "sending": 0, "sent": 499, "skipped": 1, "failed": 0}
    assert done.skipped == {"opted out (STOP) after the broadcast started": 1}
    assert done.states == {"accepted": 0, "sent": 0, "delivered": 0, "read": 498, "failed": 1}
    [failure] = done.failures
    assert (failure.phone, failure.code, failure.when) == (not_on_whatsapp, "63003", "reported")
    assert done.broadcast.finished_at is not None and done.opted_out_after == 0
    assert status(kente) == "draft" and recipients(kente) == {}


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_pace_holds_when_several_workers_claim_at_once(grace_env, monkeypatch, request, store):
    if store == "postgresql":  # row locks and READ COMMITTED: where claiming without the broadcast's lock races
        monkeypatch.setenv("GRACE_DATABASE_URL", request.getfixturevalue("pg_url"))
    import_csv("akanraby", [f"{lagos_number(i)},C{i},Lagos,,yes" for i in range(100)])
    clock = local_morning()
    broadcast = new_broadcast(rate_per_minute=32, now=clock)
    with session_scope() as session:
        assert start_broadcast(session, tenant(), broadcast, clock) == 100
    claimed: list[list[str]] = []

    def four_workers_at(moment: datetime) -> int:
        ready, before = threading.Barrier(4), len(claimed)

        def worker() -> None:
            ready.wait()
            with session_scope() as session:
                claimed.append([r.phone for r in claim_recipients(session, broadcast, moment).recipients])

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return sum(len(batch) for batch in claimed[before:])

    assert [four_workers_at(clock + timedelta(seconds=s)) for s in (0, 0, 3, 9)] == [6, 0, 0, 0]  # ceil(32 / 6)
    # Every 10 s the next sixth, until the minute's 32 are out: the last round gets what the minute has left.
    assert [four_workers_at(clock + timedelta(seconds=s)) for s in (10, 20, 30, 40, 50, 55)] == [6, 6, 6, 6, 2, 0]
    taken = [phone for batch in claimed for phone in batch]
    assert len(taken) == 32 and len(set(taken)) == 32  # each recipient once


def test_numbers_opted_out_or_known_unreachable_are_never_recipients(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    good, stopped, unreachable = lagos_number(1), lagos_number(2), lagos_number(3)
    import_csv("akanraby", [f"{p},Ada,Lagos,,yes" for p in (good, stopped, unreachable)])
    record_inbound("akanraby", stopped, "whatsapp", stop=True)
    record_refused("akanraby", TWILIO, unreachable, "63003", "Channel could not find To address")
    with session_scope() as session:
        assert count_recipients(session, tenant(), {}) == 1
    clock = local_morning()
    broadcast = new_broadcast(now=clock)
    round_at(clock)
    assert recipients(broadcast) == {good: ("sent", None)} and sent_to(twilio) == [good]
    assert status(broadcast) == "sent"


# What the provider says -------------------------------------------------------------------------------


def test_a_rate_limit_puts_the_recipients_back_and_pauses_with_a_growing_backoff(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    phones = [lagos_number(i) for i in range(5)]
    import_csv("akanraby", [f"{p},Ada,Lagos,,yes" for p in phones])
    clock = local_morning()
    broadcast = new_broadcast(now=clock)
    twilio.fail_next(429, count=4 * 5)  # every try of every send (the client tries each four times)
    assert round_at(clock) == 0
    assert {s for s, _ in recipients(broadcast).values()} == {"pending"}
    assert "rate limited by the provider (1 in a row)" in recipients(broadcast)[phones[0]][1]
    with session_scope() as session:
        assert paused_until(session.get(Broadcast, broadcast), clock) == clock + timedelta(seconds=15)
    asked = len(twilio.requests)
    assert round_at(clock + timedelta(seconds=10)) == 0 and len(twilio.requests) == asked  # waits

    twilio.fail_next(429, count=4 * 5)  # still too many: it waits twice as long
    clock += timedelta(seconds=16)
    assert round_at(clock) == 0
    with session_scope() as session:
        assert paused_until(session.get(Broadcast, broadcast), clock) == clock + timedelta(seconds=30)
    asked = len(twilio.requests)
    assert round_at(clock + timedelta(seconds=29)) == 0 and len(twilio.requests) == asked
    assert round_at(clock + timedelta(seconds=31)) == 5  # resumed: everyone once
    assert sorted(sent_to(twilio)) == phones and status(broadcast) == "sent"
    assert backoff(1) == timedelta(seconds=15) and backoff(3) == timedelta(seconds=60) and backoff(50) == BACKOFF_CAP


def test_a_refused_number_fails_at_once_with_its_code_and_other_failures_are_tried_again(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    refused, flaky = lagos_number(1), lagos_number(2)
    import_csv("akanraby", [f"{refused},Ada,Lagos,,yes"])
    twilio.refuse_numbers(63003, refused)
    clock = local_morning()
    first = new_broadcast(now=clock)
    round_at(clock)
    assert recipients(first) == {refused: ("failed", "error 63003: Channel could not find To address")}
    assert len(twilio.requests) == 1 and status(first) == "sent"  # refused once, never tried again
    [failure] = report(first).failures
    assert (failure.code, failure.when) == ("63003", "refused") and report(first).states["failed"] == 1

    import_csv("akanraby", [f"{flaky},Bola,Lagos,,yes"])
    second = new_broadcast(now=clock, name="Restock")
    twilio.fail_next(503, count=4 * 3)  # three rounds, each a send the client tried four times
    for step in range(3):
        round_at(clock + timedelta(seconds=20 * (step + 1)))
    assert recipients(second)[flaky][0] == "failed" and "HTTP 503" in recipients(second)[flaky][1]
    assert status(second) == "sent"
    third = new_broadcast(now=clock, name="Restock again")
    twilio.fail_next(503, count=4)  # one bad round: the next one sends it
    round_at(clock + timedelta(seconds=100))
    assert recipients(third)[flaky][0] == "pending" and "attempt 1 failed" in recipients(third)[flaky][1]
    round_at(clock + timedelta(seconds=120))
    assert recipients(third)[flaky][0] == "sent" and status(third) == "sent"


# Cancelling, other businesses, quiet hours --------------------------------------------------------------


def test_cancel_stops_a_sending_broadcast_and_leaves_another_businesss_alone(twilio, gateway, monkeypatch):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    with FakeMetaGraph() as meta:
        monkeypatch.setenv("META_ACCESS_TOKEN", meta.access_token)
        monkeypatch.setenv("META_API_BASE_URL", meta.base_url)
        monkeypatch.setenv("META_APP_SECRET", META_APP_SECRET)
        meta.send_statuses_to(f"{gateway}/webhooks/meta_whatsapp/webhook", META_APP_SECRET)
        meta.add_template("kente_arrivals", "Akwaaba {{1}}! New kente in {{2}}.")
        lagos = [lagos_number(i) for i in range(30)]
        accra = [f"+23324400{i:04d}" for i in range(12)]
        import_csv("akanraby", [f"{p},Ada,Lagos,,yes" for p in lagos])
        import_csv("kentehouse", [f"{p},Kofi Mensah,Accra,,yes" for p in accra])
        clock = local_morning()
        ours = new_broadcast(now=clock)  # Twilio (its Content SID) although Meta is configured too
        theirs = new_broadcast("kentehouse", now=clock, template={"meta_name": "kente_arrivals"})
        round_at(clock)  # each business's first claim: a sixth of 60 a minute
        assert len(twilio.messages) == 10 and len(meta.messages) == 10
        with session_scope() as session:
            cancel_broadcast(session, tenant(), ours, clock)
            with pytest.raises(BroadcastNotFound):  # another business's id is not found
                cancel_broadcast(session, tenant(), theirs, clock)
        for step in range(1, 4):
            round_at(clock + timedelta(seconds=10 * step))
        assert len(twilio.messages) == 10 and sorted(sent_to(meta)) == accra
        assert meta.messages[0]["template"]["components"][0]["parameters"] == [
            {"type": "text", "text": "Kofi"}, {"type": "text", "text": "Accra"}]
        ours_now = report(ours)
        assert ours_now.broadcast.status == "cancelled" and ours_now.skipped == {"cancelled": 20}
        assert ours_now.recipients["sent"] == 10 and status(theirs) == "sent"
        assert report(theirs, "kentehouse").recipients["sent"] == 12
        meta.callbacks.wait_for(12 * 3)
        assert report(theirs, "kentehouse").states["read"] == 12
        with session_scope() as session:
            with pytest.raises(BroadcastError, match="already cancelled") as refused:
                cancel_broadcast(session, tenant(), ours, clock)
            assert refused.value.field == "status"


def test_nothing_starts_or_goes_in_the_quiet_hours(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,,yes" for i in range(15)])
    evening = local_morning(hour=22)  # akanraby's quiet hours: 21:00-08:00 Lagos time
    due = new_broadcast(now=evening)
    assert round_at(evening) == 0 and status(due) == "scheduled"
    morning = local_morning(days=2, hour=8)
    assert round_at(morning) == 10 and status(due) == "sending"
    assert round_at(local_morning(days=2, hour=23)) == 0  # quiet again: the rest waits
    assert round_at(local_morning(days=3, hour=9)) == 5 and status(due) == "sent"


def test_the_outbox_worker_sends_due_broadcasts_on_its_rounds(twilio, grace_env):
    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["follow_ups"]["quiet_hours"] = "off"  # the worker runs on the real clock: any hour of the day
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,,yes" for i in range(3)])
    broadcast = new_broadcast()
    asyncio.run(deliver_pending())
    assert len(twilio.messages) == 3 and status(broadcast) == "sent"


# Replies ---------------------------------------------------------------------------------------------


def test_a_reply_within_72_hours_is_counted_and_a_stop_is_an_opt_out(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(i)},Ada,Lagos,,yes" for i in (1, 2, 3)])
    long_ago = local_morning(days=-4)
    old = new_broadcast(now=long_ago, name="Last season", rate_per_minute=1)
    round_at(long_ago)  # one message four days ago, then it was stopped today
    with session_scope() as session:
        cancel_broadcast(session, tenant(), old)
    replier = sent_to(twilio)[0]
    quiet, stopper = sorted({lagos_number(i) for i in (1, 2, 3)} - {replier})
    yesterday = local_morning(days=-1)  # on the real clock, as the customers' messages below are
    recent = new_broadcast(now=yesterday)
    round_at(yesterday)
    record_inbound("akanraby", replier, "whatsapp")  # "how much is the blue one?"
    record_inbound("akanraby", replier, "whatsapp")  # the first reply counts
    record_inbound("akanraby", stopper, "whatsapp", stop=True)
    with session_scope() as session:
        found = {(r.broadcast_id, r.phone): r.replied_at for r in session.scalars(select(BroadcastRecipient))}
    assert found[(recent, replier)] is not None and found[(recent, quiet)] is None
    assert found[(recent, stopper)] is None
    assert found[(old, replier)] is None  # its message went four days ago: not its reply
    now = report(recent)
    assert now.replies == 1 and [p for p, _ in now.latest_replies] == [replier] and now.opted_out_after == 1
    assert report(old).replies == 0


# The owner's test send --------------------------------------------------------------------------------


def test_a_test_send_goes_only_to_the_owners_number_and_makes_no_recipient(twilio):
    twilio.add_content_template(SID, "Hello {{1}} in {{2}}")
    import_csv("akanraby", [f"{lagos_number(1)},Adaeze Obi,Ikeja,,yes"])
    broadcast = new_broadcast(send_at=None)
    sent = send_test_message(tenant(), broadcast)
    assert sent.to == LAGOS_OPS and sent.variables == ["Adaeze", "Ikeja"] and sent.as_for == "Adaeze Obi"
    assert send_test_message(tenant(), broadcast, "0901 000 0009").to == LAGOS_OPS  # typed the local way
    for stranger in (lagos_number(1), "+2348099999999", ACCRA_OPS, "call me"):
        with pytest.raises(TestSendRefused):
            send_test_message(tenant(), broadcast, stranger)
    assert sent_to(twilio) == [LAGOS_OPS, LAGOS_OPS]
    assert json.loads(twilio.messages[0]["ContentVariables"]) == {"1": "Adaeze", "2": "Ikeja"}
    assert recipients(broadcast) == {} and status(broadcast) == "draft"
    assert report(broadcast).states == {"accepted": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0}
    with session_scope() as session:
        kinds = session.scalars(select(OutboundMessage.kind)).all()
    assert kinds == ["broadcast_test", "broadcast_test"]
    with pytest.raises(BroadcastNotFound):
        send_test_message(tenant("kentehouse"), broadcast)

    twilio.refuse_unknown_content = True  # a Content SID the account does not have
    wrong = new_broadcast(send_at=None, template={"twilio_content_sid": OTHER_SID})
    with pytest.raises(TestSendRefused, match="error 21655"):
        send_test_message(tenant(), wrong)


# Making one: every field checked, by name ---------------------------------------------------------------


@pytest.mark.parametrize("given, field_name, words", [
    ({"name": "  "}, "name", "give the broadcast a name"),
    ({"name": "x" * 121}, "name", "at most 120"),
    ({"template": {}}, "template", "give a Twilio Content SID"),
    ({"template": {"twilio_content_sid": "HX123"}}, "template", "not a Twilio Content SID"),
    ({"template": {"meta_name": "New Arrivals!"}}, "template", "not a Meta template name"),
    ({"template": {"twilio_content_sid": SID, "language": "english"}}, "template", "language code"),
    ({"variables": ["first_name", "favourite_colour"]}, "variables", "{{2}} is 'favourite_colour'"),
    ({"variables": "name"}, "variables", "a list of contact fields"),
    ({"segment": {"opted_in_only": False}}, "segment", "opted-in contacts only"),
    ({"segment": {"last_order_older_than_days": -1}}, "segment", "whole number of days"),
    ({"segment": {"colour": "blue"}}, "segment", "unknown segment fields: colour"),
    ({"rate_per_minute": 0}, "rate_per_minute", "from 1 to 1,000"),
    ({"rate_per_minute": MAX_RATE_PER_MINUTE + 1}, "rate_per_minute", "from 1 to 1,000"),
    ({"send_at": "2020-01-01T09:00"}, "send_at", "has passed"),
    ({"send_at": "tomorrow morning"}, "send_at", "not a date and time"),
    ({"send_at": "2099-01-01T09:00"}, "send_at", "at most a year ahead"),
])
def test_each_problem_names_its_field(grace_env, given, field_name, words):
    with pytest.raises(BroadcastError) as refused:
        new_broadcast(**given)
    assert refused.value.field == field_name and words in str(refused.value)
    with session_scope() as session:
        assert session.scalars(select(Broadcast)).all() == []


def test_the_template_must_suit_the_businesss_provider_and_times_are_the_businesss_own(grace_env):
    tenant_file = grace_env / "tenants" / "kentehouse" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    del data["meta_phone_number_id"]  # Accra on Twilio only
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(BroadcastError, match="give a Twilio Content SID") as refused:
        new_broadcast("kentehouse", template={"meta_name": "kente_arrivals"})
    assert refused.value.field == "template"
    day = (utcnow() + timedelta(days=200)).date()
    at_nine = datetime.combine(day, time(9))
    lagos = new_broadcast(send_at=f"{day}T09:00")  # Lagos: UTC+1 all year
    accra = new_broadcast("kentehouse", send_at=f"{day}T09:00")  # Accra: UTC
    explicit = new_broadcast(send_at=f"{day}T09:00Z")
    with session_scope() as session:
        assert session.get(Broadcast, lagos).scheduled_at == at_nine - timedelta(hours=1)
        assert session.get(Broadcast, accra).scheduled_at == at_nine
        assert session.get(Broadcast, explicit).scheduled_at == at_nine
        moved = schedule_broadcast(session, tenant(), lagos, f"{day}T18:30")
        assert moved.status == "scheduled" and moved.scheduled_at == at_nine + timedelta(hours=8, minutes=30)
        with pytest.raises(BroadcastNotFound):
            get_broadcast(session, tenant(), accra)
