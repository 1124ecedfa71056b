"""Grace on WhatsApp through Twilio, end to end: a signed webhook in, the reply captured by a local
server that speaks Twilio's Messages API; the trained model, Rasa and the action server are real."""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.e2e.conftest import AKANRABY_NUMBER

PNG = bytes([0x89]) + b"PNG\r\n\x1a\n" + bytes(range(256)) * 8
TWIML = "<Response></Response>"


def body_with(messages: list[dict], text: str) -> str:
    return next(m["Body"] for m in messages if text in m["Body"])


def test_a_signed_message_is_acked_at_once_and_answered_from_the_business_number(grace):
    me = "+2348100000001"
    ack = grace.whatsapp(me, "Good morning", profile_name="Chioma")
    assert ack.status_code == 200 and TWIML in ack.text
    [reply] = grace.wait_whatsapp(me, "AkanrabyAtuche")
    assert reply["From"] == f"whatsapp:{AKANRABY_NUMBER}"
    assert grace.store(f"SELECT name FROM customers WHERE phone = '{me}'") == [("Chioma",)]


def test_forged_or_missing_signatures_and_unknown_numbers_are_refused_and_nothing_runs(grace):
    me = "+2348100000002"
    assert grace.whatsapp(me, "I have paid", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert grace.whatsapp(me, "I have paid", signature="").status_code == 403
    unknown = grace.whatsapp(me, "hello", to="+15550000000")
    assert unknown.status_code == 404
    time.sleep(1)
    assert grace.tracker_events(f"akanraby:{me}") == []
    assert [m for m in grace.twilio.messages if m["To"] == f"whatsapp:{me}"] == []


def test_a_retried_webhook_is_processed_once(grace):
    me = "+2348100000003"
    first = grace.whatsapp(me, "hi", sid="SM" + "d" * 32)
    again = grace.whatsapp(me, "hi", sid="SM" + "d" * 32)
    assert first.status_code == again.status_code == 200
    grace.wait_whatsapp(me, "Grace")
    time.sleep(2)  # give a wrongly re-run turn time to answer
    assert len(grace.sent_to(me)) == 1
    users = [kind for kind, _ in grace.tracker_events(f"akanraby:{me}") if kind == "user"]
    assert len(users) == 1


def test_whatsapp_funnel_with_numbered_choice_and_a_media_only_proof(grace):
    me = "+2348100000004"
    grace.whatsapp(me, "hello")
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.whatsapp(me, "number 1, 12 yards")
    sent = grace.wait_whatsapp(me, "Deposit")
    options = [m for m in sent if m["MediaUrl"]]
    assert options and all(m["Body"] for m in options)  # each image carries its caption
    assert re.search(r"^1\. Yes, confirm", sent[-1]["Body"], re.M)

    grace.whatsapp(me, "1")  # the first choice of the list: confirm
    placed = body_with(grace.wait_whatsapp(me, "reference", after=len(sent)), "reference")
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1)

    proof_url = grace.twilio.add_media(PNG, "image/png")
    before = len(grace.sent_to(me))
    assert grace.whatsapp(me, "", media=[(proof_url, "image/png")]).status_code == 200
    received = body_with(grace.wait_whatsapp(me, "payment proof", after=before), "payment proof")
    assert reference in received
    [(stored_url,)] = grace.store(f"SELECT p.proof_url FROM payments p JOIN orders o ON o.id = p.order_id "
                                  f"WHERE o.reference = '{reference}'")
    stored = Path(urlsplit(stored_url).path)
    assert stored.read_bytes() == PNG and stored.parent.name == "akanraby"  # kept: Twilio's URL expires

    before = len(grace.sent_to(me))
    verified = grace.grace_cli("payments", "verify", reference)
    assert verified.returncode == 0, verified.stderr + verified.stdout
    confirmation = grace.wait_whatsapp(me, "confirmed", after=before)[before:]
    assert reference in body_with(confirmation, "confirmed")
    assert {m["From"] for m in confirmation} == {f"whatsapp:{AKANRABY_NUMBER}"}


def test_a_reply_over_1600_characters_arrives_whole_in_order(grace):
    tenant_file = grace.tenants / "kentehouse" / "tenant.yml"
    original = tenant_file.read_text()
    data = yaml.safe_load(original)
    story = " ".join(f"Kente thread number {i} was woven by hand in Bonwire." for i in range(60))
    data["messages"] = {"greet_new": f"Akwaaba! {story} The end."}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))  # hot reload: no restart
    try:
        me = "+2348100000005"
        grace.whatsapp(me, "hello", to="+233200000001")
        pieces = grace.wait_whatsapp(me, "The end.")
    finally:
        tenant_file.write_text(original)
    assert all(len(p["Body"]) <= 1600 for p in pieces)
    assert all(p["From"] == "whatsapp:+233200000001" for p in pieces)
    assert pieces[0]["Body"].startswith("Akwaaba!") and pieces[-1]["Body"].endswith("The end.")
    assert " ".join(p["Body"] for p in pieces).split() == f"Akwaaba! {story} The end.".split()


def test_twilio_failing_once_is_retried_and_the_customer_still_gets_the_answer(grace):
    me = "+2348100000006"
    grace.twilio.fail_next(500)
    grace.whatsapp(me, "hi")
    [reply] = grace.wait_whatsapp(me, "Grace")
    statuses = [r["status"] for r in grace.twilio.requests if r["form"].get("To") == f"whatsapp:{me}"]
    assert statuses == [500, 201]
