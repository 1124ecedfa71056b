"""The platform end to end, with the trained model, Rasa, the action server, the gateway, the dashboard and the
outbox running: a business's own model endpoint and Twilio account serve its customers only; a small plan
stops the model mid-conversation while every message still gets a reply, and the owner is told; a suspended
business's customers get the polite message until the operator resumes it; a customer who asks on WhatsApp to be
forgotten leaves no trace in the store, Rasa's tracker store or the media once the owner confirms."""
from __future__ import annotations

import sqlite3

import requests

from grace.privacy.requests import confirm
from grace.store import session_scope
from grace.tenancy.credentials import clear, save
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import Wording
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.twilio_api import FakeTwilio, twilio_form, twilio_signature
from tests.running import PUBLIC_URL

OWNER = "owner@akanraby.test"
AKANRABY_OPS = "+2349010000009"
KENTE_NUMBER = "+233200000001"
OFF_TOPIC = ["who do you think will win the champions league this year",
             "my neighbour's generator has been on all night, how do you people sleep"]
OWN_MODEL_SAYS = "Champions League talk! I'm all about fabric though: shall I show you our new ankara? 😊"


def test_an_own_model_on_a_one_call_plan_answers_once_then_the_canned_library_and_the_owner_is_told(grace):
    model = FakeOpenAI(api_key="sk-akanraby-own-model-key").start()
    try:
        with session_scope() as session:  # what the owner enters at /settings/providers
            save(session, "akanraby", "model", {"base_url": f"{model.base_url}/v1", "api_key": model.api_key}, OWNER)
        plan = grace.grace_cli("admin", "plan", "akanraby", "trial", "--by", "ama")
        assert plan.returncode == 0, plan.stderr
        model.answer(OWN_MODEL_SAYS)
        # The ops number wrote today (WhatsApp's 24-hour window is open): the owner's notice goes as free text.
        assert grace.whatsapp(AKANRABY_OPS, "hi").status_code == 200
        grace.wait_whatsapp(AKANRABY_OPS)

        customer = "+2348100000071"
        first = grace.say(customer, OFF_TOPIC[0])
        assert OWN_MODEL_SAYS in first  # the business's own endpoint answered (the platform has no model)
        second = grace.say(customer, OFF_TOPIC[1])
        assert second.strip() and OWN_MODEL_SAYS not in second  # the plan's one call is spent: canned, not silent
        assert "yard" in grace.say(customer, "how much is the red ankara with flowers")  # the funnel goes on
        assert len(model.prompts) == 1

        kente = grace.say("+233200000071", OFF_TOPIC[0], tenant="kentehouse")
        assert kente.strip() and len(model.prompts) == 1  # another business never reaches akanraby's model

        told = grace.wait_whatsapp(AKANRABY_OPS, "Trial plan")[-1]["Body"]
        assert "model answers" in told and "used up" in told and "canned replies" in told
        key = grace.grace_cli("keys", "create", "akanraby").stdout.strip().splitlines()[-1]
        usage = requests.get(f"{grace.web}/api/v1/usage", headers={"X-API-Key": key}, timeout=10).json()
        assert usage["plan"] == "trial" and usage["metrics"]["model_calls"] == {"used": 1, "limit": 1}
    finally:
        with session_scope() as session:
            clear(session, "akanraby", "model", OWNER)
        assert grace.grace_cli("admin", "plan", "akanraby", "default", "--by", "ama").returncode == 0
        model.stop()


def test_a_business_on_its_own_twilio_account_is_checked_and_answered_through_it_only(grace):
    own = FakeTwilio(account_sid="AC" + "4b1d" * 8, auth_token="kentehouse0own0twilio0token00000").start()
    customer = "+233244000071"
    url = f"{PUBLIC_URL}/webhooks/whatsapp/webhook"

    def post(text: str, token: str) -> requests.Response:
        form = twilio_form(to=KENTE_NUMBER, from_=customer, body=text, account_sid=own.account_sid)
        return requests.post(f"{grace.gateway}/webhooks/whatsapp/webhook", data=form, timeout=30,
                             headers={"X-Twilio-Signature": twilio_signature(url, form, token)})

    try:
        with session_scope() as session:
            save(session, "kentehouse", "twilio", {"account_sid": own.account_sid, "auth_token": own.auth_token,
                                                   "api_base_url": own.base_url}, "owner@kentehouse.test")
        platform_before = len(grace.twilio.messages)
        assert post("Good morning", grace.twilio.auth_token).status_code == 403  # the platform's token: refused
        assert post("Good morning", own.auth_token).status_code == 200
        assert own.wait_for_count(f"whatsapp:{customer}", 1)
        reply = [m for m in own.messages if m["To"] == f"whatsapp:{customer}"][0]
        assert reply["From"] == f"whatsapp:{KENTE_NUMBER}" and "Kente" in reply["Body"]
        assert [m for m in grace.twilio.messages[platform_before:] if m["To"] == f"whatsapp:{customer}"] == []
        # akanraby stays on the platform's account
        assert grace.whatsapp("+2348100000072", "Good morning").status_code == 200
        grace.wait_whatsapp("+2348100000072", "AkanrabyAtuche")
    finally:
        with session_scope() as session:
            clear(session, "kentehouse", "twilio", "owner@kentehouse.test")
        own.stop()


def test_a_suspended_business_customers_get_the_polite_message_until_it_is_resumed(grace):
    polite = Wording(get_registry().get("kentehouse"))("suspended")
    suspended = grace.grace_cli("admin", "suspend", "kentehouse", "--reason", "unpaid invoice", "--by", "ama")
    assert suspended.returncode == 0, suspended.stderr
    try:
        assert grace.say("+233200000072", "hello, do you have kente?", tenant="kentehouse") == polite
        assert polite not in grace.say("+2348100000073", "hello")  # another business answers as ever
    finally:
        assert grace.grace_cli("admin", "resume", "kentehouse", "--by", "ama").returncode == 0
    assert grace.say("+233200000072", "hello, do you have kente?", tenant="kentehouse") != polite


def rows_with(database, digits: str) -> list[str]:
    """Every row of every table of a SQLite file that holds the digits, as text."""
    with sqlite3.connect(database) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [f"{table}: {row}" for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
                if digits in repr(row)]


def test_a_customer_who_asks_on_whatsapp_to_be_forgotten_leaves_no_trace_once_the_owner_confirms(grace):
    customer = "+2348100000074"
    digits = customer.removeprefix("+")
    assert grace.whatsapp(customer, "Good morning", profile_name="Tolu").status_code == 200
    grace.wait_whatsapp(customer, "AkanrabyAtuche")
    assert grace.whatsapp(customer, "abeg show me red ankara with flowers").status_code == 200
    grace.wait_whatsapp(customer, "yard", after=1)
    before = len(grace.sent_to(customer))
    assert grace.whatsapp(customer, "please delete my data").status_code == 200
    grace.wait_whatsapp(customer, "passed your request", after=before)
    assert rows_with(grace.var_dir / "tracker.db", digits)  # Rasa kept the conversation until now
    [(request_id,)] = grace.store("SELECT id FROM privacy_requests WHERE status = 'pending'")

    with session_scope() as session:  # the owner confirms on /privacy
        confirm(session, get_registry().get("akanraby"), request_id, OWNER)
    grace.wait_whatsapp(customer, "deleting your data", after=before + 1)  # told before the number is forgotten
    assert rows_with(grace.var_dir / "grace.db", digits) == []
    assert rows_with(grace.var_dir / "tracker.db", digits) == []
    media = grace.var_dir / "media"
    assert [p for p in media.rglob("*") if digits in p.name or (p.is_file() and digits.encode() in p.read_bytes())] \
        == []
    assert grace.store(f"SELECT status FROM privacy_requests WHERE id = {request_id}") == [("done",)]
