"""A business the platform suspended, as its customers meet it: a signed Twilio webhook through the production
gateway gets the polite "suspended" message from the business's number, no turn runs and nothing is lost;
after resume the next message gets a normal turn; another business answers throughout. A suspended business
writes to no one: a proactive message is skipped with the reason, a broadcast waits until it is resumed."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from connectors.gateway import build_app
from grace.store import session_scope
from grace.store.models import Customer, Order
from grace.tenancy.registry import get_registry
from grace.tenancy.standing import resume, suspend
from grace.tenancy.wording import Wording
from grace.whatsapp.broadcasting import TestSendRefused, send_test_message
from grace.whatsapp.delivery import SUSPENDED, send_proactive
from tests.fakes.rasa_turns import RasaTurns, rasa_turns_serving
from tests.fakes.twilio_api import twilio_form, twilio_signature
from tests.fakes.webhooks import post_webhook
from tests.helpers import sanic_serving
from tests.test_broadcasts import SID, import_csv, local_morning, new_broadcast, report, round_at, sent_to, status
from tests.web.conftest import make_order

ADA, KOFI = "+2348033300001", "+233201110001"  # a customer of akanraby (Lagos), one of kentehouse (Accra)
AKANRABY_NUMBER, KENTE_NUMBER = "+2349010000001", "+233200000001"
RASA_TOKEN = "rasa-token-for-suspension-tests"


@pytest.fixture(scope="module")
def rasa_turns() -> Iterator[RasaTurns]:
    with rasa_turns_serving() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[str]:
    """The webhook gateway on a real Sanic server, one per module (tests.helpers.sanic_serving)."""
    with sanic_serving(build_app(f"suspension_gateway_{uuid.uuid4().hex[:8]}")) as url:
        yield url


@pytest.fixture
def gateway(grace_env, twilio, gateway_server, rasa_turns, monkeypatch) -> str:
    monkeypatch.setenv("GRACE_PUBLIC_URL", gateway_server)  # what Twilio signs over
    monkeypatch.setenv("GRACE_RASA_URL", rasa_turns.url)
    monkeypatch.setenv("GRACE_RASA_TOKEN", RASA_TOKEN)
    rasa_turns.turns.clear()
    with session_scope():  # the store exists before the first webhook, as a running Grace's does
        pass
    return gateway_server


def writes(twilio, gateway: str, customer: str, business_number: str, text: str) -> str:
    """The customer's WhatsApp message, signed as Twilio posts it; the reply Twilio was asked to send them."""
    before = twilio.count_to(f"whatsapp:{customer}")
    form = twilio_form(to=business_number, from_=customer, body=text, account_sid=twilio.account_sid)
    url = f"{gateway}/webhooks/whatsapp/webhook"
    status, _ = post_webhook(url, urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, form, twilio.auth_token)})
    assert status == 200
    assert twilio.wait_for_count(f"whatsapp:{customer}", before + 1), f"no reply to {text!r}"
    reply = [m for m in twilio.messages if m["To"] == f"whatsapp:{customer}"][-1]
    assert reply["From"] == f"whatsapp:{business_number}"
    return reply["Body"]


def stored(tenant_id: str) -> tuple[int, int]:
    with session_scope() as session:
        return (session.scalar(select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant_id)),
                session.scalar(select(func.count()).select_from(Order).where(Order.tenant_id == tenant_id)))


def test_a_suspended_business_customer_gets_the_polite_message_and_no_turn_until_resumed(gateway, twilio,
                                                                                          rasa_turns):
    reference = make_order("akanraby", ADA, "Ada")
    assert writes(twilio, gateway, ADA, AKANRABY_NUMBER, "hello") == "Grace on 'hello'"
    kept = stored("akanraby")

    with session_scope() as session:
        suspend(session, "akanraby", "unpaid invoice", "ama@platform.test")
    polite = Wording(get_registry().get("akanraby"))("suspended")
    assert "AkanrabyAtuche" in polite
    assert writes(twilio, gateway, ADA, AKANRABY_NUMBER, "I want 12 yards of number 1") == polite
    assert writes(twilio, gateway, KOFI, KENTE_NUMBER, "hi") == "Grace on 'hi'"  # another business answers
    assert rasa_turns.texts == ["hello", "hi"]  # no turn ran for the suspended one
    assert stored("akanraby") == kept  # no order made, nothing removed
    with session_scope() as session:
        assert session.scalars(select(Order.reference).where(Order.tenant_id == "akanraby")).all() == [reference]

    with session_scope() as session:
        resume(session, "akanraby", "ama@platform.test")
    assert writes(twilio, gateway, ADA, AKANRABY_NUMBER, "are you back?") == "Grace on 'are you back?'"
    assert rasa_turns.turns[-1] == (f"akanraby:{ADA}", "are you back?")


def test_a_suspended_business_writes_to_no_one(gateway, twilio):
    writes(twilio, gateway, ADA, AKANRABY_NUMBER, "hello")  # inside the 24-hour window: free text may go
    tenant = get_registry().get("akanraby")
    with session_scope() as session:
        suspend(session, "akanraby", "unpaid invoice", "ama@platform.test")
    sent_before = len(twilio.messages)
    outcome = asyncio.run(send_proactive(tenant, ADA, [{"text": "Your fabric is ready"}], "order_ready", []))
    assert (outcome.status, outcome.detail) == ("skipped", SUSPENDED) and SUSPENDED == "the business is suspended"
    assert len(twilio.messages) == sent_before

    with session_scope() as session:
        resume(session, "akanraby", "ama@platform.test")
    outcome = asyncio.run(send_proactive(tenant, ADA, [{"text": "Your fabric is ready"}], "order_ready", []))
    assert outcome.status == "sent" and twilio.messages[-1]["Body"] == "Your fabric is ready"


def test_a_suspended_business_broadcast_waits_and_goes_out_once_resumed(gateway, twilio):
    twilio.add_content_template(SID, "Hello {{1}}! New owambe prints just landed in {{2}}.")
    customers = ["+2348030000001", "+2348030000002"]
    import_csv("akanraby", [f"{phone},Ada Obi,Lagos,,yes" for phone in customers])
    import_csv("kentehouse", ["+233244000001,Kofi Mensah,Accra,,yes"])
    with session_scope() as session:
        suspend(session, "akanraby", "unpaid invoice", "ama@platform.test")
    clock = local_morning()
    ours, theirs = new_broadcast(now=clock), new_broadcast("kentehouse", now=clock)
    round_at(clock)
    round_at(clock + timedelta(seconds=10))
    assert sent_to(twilio) == ["+233244000001"] and status(theirs) == "sent"  # the other business's went out
    assert report(ours).recipients["sent"] == 0  # nobody written to, nobody dropped
    with pytest.raises(TestSendRefused, match="the business is suspended"):  # not even its test send
        send_test_message(get_registry().get("akanraby"), ours, "+2349010000009")
    assert sent_to(twilio) == ["+233244000001"]

    with session_scope() as session:
        resume(session, "akanraby", "ama@platform.test")
    round_at(clock + timedelta(seconds=20))
    round_at(clock + timedelta(seconds=30))
    assert sorted(sent_to(twilio)[1:]) == customers and status(ours) == "sent"
