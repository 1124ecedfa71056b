"""A customer's "delete my data" on WhatsApp, as they meet it: a signed Twilio webhook through the production
gateway gets a polite answer from the business's number and no turn runs; one pending request is kept however
often they ask; the ops numbers are told, naming the customer by row and never by number; once the owner
confirms, the customer is told before their number is erased. Shop talk never reads as such a request."""
from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import yaml
from sqlalchemy import select

from connectors.gateway import build_app
from grace.messaging.contacts import record_inbound
from grace.privacy.requests import DONE, PENDING, asks_for_erasure, confirm
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Contact, Customer, PrivacyRequest
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import Wording
from tests.fakes.rasa_turns import RasaTurns, rasa_turns_serving
from tests.fakes.twilio_api import twilio_form, twilio_signature
from tests.fakes.webhooks import post_webhook
from tests.helpers import ROOT, sanic_serving
from tests.web.conftest import make_order

ADA = "+2348033300771"
AKANRABY_NUMBER, AKANRABY_OPS = "+2349010000001", "+2349010000009"
RASA_TOKEN = "rasa-token-for-privacy-tests"

ASKING = ["delete my data", "Please delete all my data", "remove my number from your system",
          "erase my information", "abeg delete my details", "Abeg make una comot my number for una list",
          "I want my data deleted", "wipe everything you have about me", "delete my personal data please 🙏",
          "Kindly remove my contact details from your records"]
SHOPPING = ["remove the lace from my order", "delete the blue one", "please remove 2 yards from my order",
            "my details: Ada, 12 Admiralty Way Lekki", "can you send my order details", "cancel my order",
            "change my number to 08031234567", "don't delete my details, I will order again next week",
            "remove the delivery, I will pick up", "I need 6 yards, here is my number 08033300771",
            "clear my cart", "delete my order please", "what data do you need for delivery?"]


def nlu_examples() -> list[str]:
    """Every customer message the model is trained on: shop talk and small talk, none of it a data request."""
    examples = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            examples += [re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", line[2:].strip())
                         for line in str(block.get("examples") or "").splitlines() if line.strip().startswith("- ")]
    return examples


def test_the_customers_words_are_read_conservatively():
    assert [text for text in ASKING if not asks_for_erasure(text)] == []
    assert [text for text in SHOPPING if asks_for_erasure(text)] == []
    examples = nlu_examples()
    assert len(examples) > 500
    assert [text for text in examples if asks_for_erasure(text)] == []


@pytest.fixture(scope="module")
def rasa_turns() -> Iterator[RasaTurns]:
    with rasa_turns_serving() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[str]:
    with sanic_serving(build_app(f"privacy_gateway_{uuid.uuid4().hex[:8]}")) as url:
        yield url


@pytest.fixture
def gateway(grace_env, twilio, gateway_server, rasa_turns, monkeypatch) -> str:
    monkeypatch.setenv("GRACE_PUBLIC_URL", gateway_server)  # what Twilio signs over
    monkeypatch.setenv("GRACE_RASA_URL", rasa_turns.url)
    monkeypatch.setenv("GRACE_RASA_TOKEN", RASA_TOKEN)
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'var' / 'tracker.db'}")
    rasa_turns.turns.clear()
    with session_scope():  # the store exists before the first webhook, as a running Grace's does
        pass
    return gateway_server


def writes(twilio, gateway: str, text: str) -> str:
    """Ada's WhatsApp message, signed as Twilio posts it; the reply Twilio was asked to send her."""
    before = twilio.count_to(f"whatsapp:{ADA}")
    form = twilio_form(to=AKANRABY_NUMBER, from_=ADA, body=text, account_sid=twilio.account_sid)
    url = f"{gateway}/webhooks/whatsapp/webhook"
    status, _ = post_webhook(url, urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, form, twilio.auth_token)})
    assert status == 200
    assert twilio.wait_for_count(f"whatsapp:{ADA}", before + 1), f"no reply to {text!r}"
    return [m for m in twilio.messages if m["To"] == f"whatsapp:{ADA}"][-1]["Body"]


def requests() -> list[tuple[int | None, str, str]]:
    with session_scope() as session:
        return [(r.customer_id, r.source, r.status) for r in session.scalars(select(PrivacyRequest))]


def test_delete_my_data_on_whatsapp_is_passed_to_the_owner_who_confirms_it(gateway, twilio, rasa_turns):
    make_order("akanraby", ADA, "Ada")
    say = Wording(get_registry().get("akanraby"))
    assert writes(twilio, gateway, "I need 6 yards of ankara") == "Grace on 'I need 6 yards of ankara'"

    assert writes(twilio, gateway, "abeg delete my details") == say("privacy_request_received")
    assert writes(twilio, gateway, "Please delete all my data") == say("privacy_request_pending")
    assert rasa_turns.texts == ["I need 6 yards of ankara"]  # no turn ran for the request
    with session_scope() as session:
        ada = session.scalars(select(Customer.id).where(Customer.phone == ADA)).one()
    assert requests() == [(ada, "whatsapp", PENDING)]  # asked twice, one request

    record_inbound("akanraby", AKANRABY_OPS, "whatsapp")  # ops wrote today: free text reaches them
    asyncio.run(deliver_pending())
    alert = [m["Body"] for m in twilio.messages if m["To"] == f"whatsapp:{AKANRABY_OPS}"]
    assert len(alert) == 1 and f"customer {ada}" in alert[0] and "Privacy page" in alert[0]
    assert ADA not in alert[0] and ADA[1:] not in alert[0]

    with session_scope() as session:
        request_id = session.scalars(select(PrivacyRequest.id)).one()
        confirm(session, get_registry().get("akanraby"), request_id, "owner@akanraby.test")
    told = [m["Body"] for m in twilio.messages if m["To"] == f"whatsapp:{ADA}"][-1]
    assert told == say("privacy_erased")
    assert requests() == [(ada, "whatsapp", DONE)]
    with session_scope() as session:
        assert session.scalars(select(Contact).where(Contact.phone == ADA)).first() is None
        assert session.get(Customer, ada).phone == f"erased-{ada}"
        assert session.get(PrivacyRequest, request_id).summary["customer_told"] == "sent"
