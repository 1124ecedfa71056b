"""Delivery and read receipts: every message Grace sends is recorded with the provider's id, and the
providers' signed reports (Twilio's status callbacks, the `statuses` of Meta's webhook) move its state,
forward only, for the business that sent it. The providers are the local fakes, which post their callbacks
on their own as the real services do, to the production webhook gateway on a real Sanic server."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from connectors.gateway import build_app
from grace.messaging.contacts import record_inbound
from grace.messaging.message_states import (
    META,
    TWILIO,
    apply_status,
    counts,
    is_unreachable,
    note_refused,
    record_sent,
    sending,
)
from grace.messaging.notifications import HANDOFF, notify_ops
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Notification, OutboundMessage
from grace.tenancy.registry import get_registry
from grace.whatsapp.delivery import provider_for, send_replies
from tests.fakes.meta_api import FakeMetaGraph
from tests.fakes.twilio_api import twilio_signature
from tests.fakes.webhooks import post_webhook
from tests.helpers import KENTE_META_ID, free_port, sanic_serving

CUSTOMER, OTHER = "+2348055500001", "+2348055500002"
NOT_ON_WHATSAPP = "+2348055500099"
OPS = "+2349010000009"  # akanraby's ops number
KENTE_NUMBER = "+233200000001"
META_APP_SECRET = "meta-app-secret-for-receipts"


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[str]:
    """The webhook gateway's app on a real Sanic server, one per module (tests.helpers.sanic_serving)."""
    with sanic_serving(build_app("receipts_gateway")) as url:
        yield url


@pytest.fixture
def gateway(grace_env, gateway_server, monkeypatch) -> str:
    """The gateway's URL, which is also the public URL Twilio is told to call back (and signs over). The
    store is made first, as a running Grace's is: recording a message id is then one quick insert, long
    done when the provider's first callback comes (CallbackSender.interval after its answer)."""
    monkeypatch.setenv("GRACE_PUBLIC_URL", gateway_server)
    with session_scope():
        pass
    return gateway_server


@pytest.fixture
def meta(grace_env, gateway, monkeypatch) -> Iterator[FakeMetaGraph]:
    """A local Graph API that posts its statuses webhooks to the gateway, signed with the app secret."""
    with FakeMetaGraph() as fake:
        monkeypatch.setenv("META_ACCESS_TOKEN", fake.access_token)
        monkeypatch.setenv("META_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("META_APP_SECRET", META_APP_SECRET)
        monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
        fake.send_statuses_to(f"{gateway}/webhooks/meta_whatsapp/webhook", META_APP_SECRET)
        yield fake


def send(customer: str, channel: str = "whatsapp", text: str = "Your fabric is ready") -> None:
    """One reply of Grace's to a customer, through the production sending path."""
    tenant = get_registry().get("akanraby")
    chosen = provider_for(tenant, channel)
    assert chosen is not None
    provider, sender = chosen
    assert asyncio.run(send_replies(provider, tenant, sender, customer, [{"text": text}]))


def rows(phone: str) -> list[tuple]:
    with session_scope() as session:
        found = session.scalars(select(OutboundMessage).where(OutboundMessage.to_phone == phone)
                                .order_by(OutboundMessage.id)).all()
        return [(r.tenant_id, r.channel, r.kind, r.status, r.error_code) for r in found]


def status_of(provider_id: str) -> str:
    with session_scope() as session:
        return session.scalars(select(OutboundMessage.status).where(
            OutboundMessage.provider_id == provider_id)).one()


def unreachable(phone: str) -> bool:
    with session_scope() as session:
        return is_unreachable(session, "akanraby", phone)


def status_url(gateway: str) -> str:
    return f"{gateway}/webhooks/whatsapp/status"


def test_a_message_reaches_delivered_then_read_through_twilios_signed_callbacks(twilio, gateway):
    twilio.callbacks.hold()  # each callback goes when the test lets it, so every step can be seen
    send(CUSTOMER)
    [request] = twilio.requests
    assert request["form"]["StatusCallback"] == status_url(gateway)
    sid = twilio.messages[0]["sid"]
    assert rows(CUSTOMER) == [("akanraby", TWILIO, "reply", "accepted", None)]
    for step, state in enumerate(("sent", "delivered", "read"), 1):
        twilio.callbacks.release()
        answered = twilio.callbacks.wait_for(step)[-1]
        assert (answered["message_status"], answered["status"]) == (state, 200)
        assert status_of(sid) == state


def test_no_status_callback_is_asked_without_a_usable_public_url(twilio, grace_env, monkeypatch):
    monkeypatch.delenv("GRACE_PUBLIC_URL", raising=False)
    send(CUSTOMER)
    monkeypatch.setenv("GRACE_PUBLIC_URL", "https://grace_host.example")  # Twilio refuses it (21609) for every message
    send(OTHER)
    assert [("StatusCallback" in r["form"], r["status"]) for r in twilio.requests] == [(False, 201), (False, 201)]
    assert [r[3] for r in rows(CUSTOMER) + rows(OTHER)] == ["accepted", "accepted"]  # recorded all the same


def test_a_forged_or_misdirected_callback_changes_nothing(twilio, gateway):
    twilio.callbacks.hold()  # Twilio's own callbacks stay back
    send(CUSTOMER)
    sid, url = twilio.messages[0]["sid"], status_url(gateway)
    assert twilio.post_status(url, sid, "read", auth_token="a-guessed-token")[0] == 403
    form = twilio.status_form(sid, "delivered")
    unsigned = post_webhook(url, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned[0] == 403
    # Signed for the inbound webhook's URL, replayed to the status route: the URL is part of the signature.
    elsewhere = twilio_signature(f"{gateway}/webhooks/whatsapp/webhook", form, twilio.auth_token)
    replayed = post_webhook(url, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                                            "X-Twilio-Signature": elsewhere})
    assert replayed[0] == 403
    assert status_of(sid) == "accepted"
    assert twilio.post_status(url, sid, "delivered")[0] == 200 and status_of(sid) == "delivered"


def test_callbacks_arriving_together_are_each_answered_for_themselves(twilio, gateway):
    """The gateway applies the callbacks that arrive together in one go: a forged one among them is still
    refused alone, and every genuine one moves its own message."""
    twilio.callbacks.hold()
    customers = [f"+23480555001{n:02d}" for n in range(12)]
    for customer in customers:
        send(customer)
    sids, url = [m["sid"] for m in twilio.messages], status_url(gateway)
    forged = set(sids[::4])
    with ThreadPoolExecutor(len(sids)) as pool:
        answers = list(pool.map(lambda sid: twilio.post_status(
            url, sid, "delivered", None, "a-guessed-token" if sid in forged else None)[0], sids))
    assert answers == [403 if sid in forged else 200 for sid in sids]
    assert [status_of(sid) for sid in sids] == ["accepted" if sid in forged else "delivered" for sid in sids]


def test_callbacks_out_of_order_never_move_a_state_backwards(twilio, gateway):
    twilio.callbacks.hold()
    send(CUSTOMER)
    sid, url = twilio.messages[0]["sid"], status_url(gateway)
    for late in ("read", "delivered", "sent", "queued", "read"):
        assert twilio.post_status(url, sid, late)[0] == 200
        assert status_of(sid) == "read"
    assert twilio.post_status(url, sid, "failed", "63003")[0] == 200  # a message read did not fail
    assert rows(CUSTOMER) == [("akanraby", TWILIO, "reply", "read", None)]


def test_a_failure_is_final_and_wins_over_sent_and_delivered(grace_env):
    record_sent("akanraby", TWILIO, "SM" + "1" * 32, CUSTOMER)
    record_sent("akanraby", TWILIO, "SM" + "1" * 32, CUSTOMER, kind="order_status")  # recorded once, as it was
    assert apply_status(TWILIO, "SM" + "1" * 32, "delivered")
    assert apply_status(TWILIO, "SM" + "1" * 32, "undelivered", "63024", "Invalid message recipient")
    assert not apply_status(TWILIO, "SM" + "1" * 32, "read")
    assert not apply_status(TWILIO, "SM" + "1" * 32, "failed", "30008")  # the first failure's code stays
    assert rows(CUSTOMER) == [("akanraby", TWILIO, "reply", "failed", "63024")]
    assert not apply_status(TWILIO, "SM" + "2" * 32, "read")  # not a message Grace sent
    assert not apply_status(META, "SM" + "1" * 32, "read")  # the same id on the other provider is another message
    assert not apply_status(TWILIO, "SM" + "1" * 32, "partially_delivered")  # no state of ours


def test_a_number_not_on_whatsapp_fails_with_twilios_error_code_until_it_writes(twilio, gateway):
    twilio.add_not_on_whatsapp(NOT_ON_WHATSAPP)
    send(NOT_ON_WHATSAPP)
    [callback] = twilio.callbacks.wait_for(1)
    assert (callback["message_status"], callback["error_code"], callback["status"]) == ("failed", "63003", 200)
    assert rows(NOT_ON_WHATSAPP) == [("akanraby", TWILIO, "reply", "failed", "63003")]
    assert unreachable(NOT_ON_WHATSAPP) and not unreachable(CUSTOMER)
    record_inbound("akanraby", NOT_ON_WHATSAPP, "whatsapp")  # it wrote to the business: it is on WhatsApp now
    assert not unreachable(NOT_ON_WHATSAPP)


def test_meta_statuses_move_states_and_keep_the_error(meta, gateway):
    meta.add_not_on_whatsapp(NOT_ON_WHATSAPP)
    send(CUSTOMER, "meta_whatsapp")
    send(NOT_ON_WHATSAPP, "meta_whatsapp")
    answered = meta.callbacks.wait_for(4)
    assert sorted(r["message_status"] for r in answered) == ["delivered", "failed", "read", "sent"]
    assert all(r["status"] == 200 for r in answered)
    assert rows(CUSTOMER) == [("akanraby", META, "reply", "read", None)]
    assert rows(NOT_ON_WHATSAPP) == [("akanraby", META, "reply", "failed", "131026")]
    with session_scope() as session:
        failed = session.scalars(select(OutboundMessage).where(OutboundMessage.to_phone == NOT_ON_WHATSAPP)).one()
        assert failed.error_detail == "Message undeliverable"
    assert unreachable(NOT_ON_WHATSAPP)


def test_a_forged_meta_status_changes_nothing(meta, gateway):
    meta.callbacks.hold()
    send(CUSTOMER, "meta_whatsapp")
    wamid = meta.requests[0]["response"]["messages"][0]["id"]
    assert meta.post_status(wamid, "read", app_secret="not-the-app-secret")[0] == 403
    assert status_of(wamid) == "accepted"
    assert meta.post_status(wamid, "failed")[0] == 200 and status_of(wamid) == "failed"


def test_statuses_for_another_business_s_message_are_ignored(twilio, meta, gateway):
    twilio.callbacks.hold()
    meta.callbacks.hold()
    send(CUSTOMER)  # akanraby's, on Twilio
    send(OTHER, "meta_whatsapp")  # akanraby's, on Meta
    sid, wamid = twilio.messages[0]["sid"], meta.requests[0]["response"]["messages"][0]["id"]
    # kentehouse's number reporting on akanraby's message, validly signed: nothing moves
    form = {**twilio.status_form(sid, "read"), "From": f"whatsapp:{KENTE_NUMBER}"}
    url = status_url(gateway)
    signed = {"Content-Type": "application/x-www-form-urlencoded",
              "X-Twilio-Signature": twilio_signature(url, form, twilio.auth_token)}
    assert post_webhook(url, urlencode(form).encode(), signed)[0] == 200
    assert meta.post_status(wamid, "read", phone_number_id=KENTE_META_ID)[0] == 200
    assert (status_of(sid), status_of(wamid)) == ("accepted", "accepted")
    # the business's own reports do
    assert twilio.post_status(url, sid, "read")[0] == 200
    assert meta.post_status(wamid, "read")[0] == 200
    assert (status_of(sid), status_of(wamid)) == ("read", "read")


def test_after_twilio_reports_a_number_not_on_whatsapp_the_outbox_skips_it_with_the_reason(twilio, gateway):
    twilio.add_not_on_whatsapp(OPS)
    record_inbound("akanraby", OPS, "whatsapp")  # ops wrote today: free text may go
    tenant = get_registry().get("akanraby")
    with session_scope() as session:
        notify_ops(session, tenant, HANDOFF, "Ada wants a person")
    assert asyncio.run(deliver_pending()) == 1
    [callback] = twilio.callbacks.wait_for(1)
    assert (callback["message_status"], callback["status"]) == ("failed", 200)
    with session_scope() as session:
        [(kind, notification_id, state)] = session.execute(select(
            OutboundMessage.kind, OutboundMessage.notification_id, OutboundMessage.status)).all()
        first = session.scalars(select(Notification)).one()
        assert (kind, notification_id, state) == (HANDOFF, first.id, "failed")
        notify_ops(session, tenant, HANDOFF, "Bola wants a person")
    assert asyncio.run(deliver_pending()) == 1
    with session_scope() as session:
        second = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
        assert (second.status, second.last_error) == ("skipped", "not a WhatsApp number")
    assert len(twilio.messages) == 1  # written to once


def test_a_broadcast_report_counts_every_state(grace_env):
    for number, (sid, state) in enumerate((("SMa", "read"), ("SMb", "delivered"), ("SMc", "read"),
                                           ("SMd", "failed"), ("SMe", "accepted"))):
        record_sent("akanraby", TWILIO, sid, f"+23480555000{number}", kind="broadcast", broadcast_id=7)
        apply_status(TWILIO, sid, "undelivered" if state == "failed" else state, "63003")
    record_sent("kentehouse", TWILIO, "SMf", "+233555000001", kind="broadcast", broadcast_id=7)  # not akanraby's
    with session_scope() as session:
        assert counts(session, "akanraby", 7) == {"accepted": 1, "sent": 0, "delivered": 1, "read": 2, "failed": 1}
        assert counts(session, "akanraby", 8) == {"accepted": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0}


def test_messages_sent_for_a_broadcast_are_recorded_as_its_own(twilio, grace_env):
    tenant = get_registry().get("akanraby")
    chosen = provider_for(tenant, "whatsapp")
    assert chosen is not None
    provider, sender = chosen

    async def broadcast() -> None:
        with sending("akanraby", "broadcast", broadcast_id=3):
            await provider.deliver(tenant, sender, CUSTOMER, [{"text": "New adire in stock"}])

    asyncio.run(broadcast())
    with session_scope() as session:
        [row] = session.scalars(select(OutboundMessage)).all()
        assert (row.kind, row.broadcast_id, row.provider_id) == ("broadcast", 3, twilio.messages[0]["sid"])
        assert counts(session, "akanraby", 3)["accepted"] == 1


def test_a_persons_reply_is_recorded_as_theirs(twilio, grace_env, monkeypatch):
    from grace.whatsapp.human_reply import send_human_reply

    monkeypatch.setenv("GRACE_RASA_URL", f"http://127.0.0.1:{free_port()}")  # no Rasa: the reply goes all the same
    record_inbound("akanraby", CUSTOMER, "whatsapp")
    sent = send_human_reply(get_registry().get("akanraby"), f"akanraby:{CUSTOMER}", "Ngozi here: it ships today",
                            "Ngozi", 1)
    assert not sent.in_history
    assert rows(CUSTOMER) == [("akanraby", TWILIO, "ops_reply", "accepted", None)]


def test_a_providers_slow_down_is_no_failed_message_but_a_refused_number_is(grace_env):
    """A rate limit refusal (Meta's 130429 comes as a 400) is tried again later: counting it as a failed message
    would inflate a broadcast's failures; a number refused as unreachable is kept, so it is not tried again."""
    async def refused(code: str) -> None:
        with sending("akanraby", "broadcast", broadcast_id=7):
            await note_refused(META, "+2348031234567", code, "refused")

    asyncio.run(refused("130429"))
    asyncio.run(refused("131056"))
    with session_scope() as session:
        assert session.scalars(select(OutboundMessage)).all() == []
    asyncio.run(refused("131026"))
    with session_scope() as session:
        assert [(m.status, m.error_code) for m in session.scalars(select(OutboundMessage))] == [("failed", "131026")]
        assert is_unreachable(session, "akanraby", "+2348031234567")
