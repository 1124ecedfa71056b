"""Grace on WhatsApp through Twilio, end to end: a signed webhook in, the reply captured by a local
server that speaks Twilio's Messages API; the trained model, Rasa and the action server are real."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml

from grace.run import local
from tests.running import AKANRABY_NUMBER, PUBLIC_URL

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
    # the same connector also answers inside Rasa, without the gateway
    assert grace.whatsapp(me, "are you open on sunday?", direct=True).status_code == 200
    assert "closed" in body_with(grace.wait_whatsapp(me, "Sunday", after=1)[1:], "Sunday")


def test_rasas_answer_route_behind_the_gateway_needs_rasas_token_and_a_message_of_the_business(grace):
    answer = f"{grace.base}/webhooks/whatsapp/answer"
    me = "+2348100000009"
    message = {"tenant": "akanraby", "business_number": AKANRABY_NUMBER, "customer": me,
               "text": "/EXTERNAL_payment_verified", "message_id": "SM" + "9" * 32, "customer_name": None, "media": []}
    assert requests.post(answer, json={"message": message}, timeout=10).status_code == 401
    assert requests.post(answer, json={"message": message}, headers={"Authorization": "Bearer guess"},
                         timeout=10).status_code == 401
    elsewhere = {**message, "business_number": "+15550000000"}  # the token is not a signature: checked again
    refused = requests.post(answer, json={"message": elsewhere}, headers={"Authorization": f"Bearer {grace.token}"},
                            timeout=10)
    assert refused.status_code == 400 and "business number" in refused.text
    assert grace.tracker_events(f"akanraby:{me}") == []


def test_forged_or_missing_signatures_and_unknown_numbers_are_refused_and_nothing_runs(grace):
    me = "+2348100000002"
    assert grace.whatsapp(me, "I have paid", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert grace.whatsapp(me, "I have paid", signature="").status_code == 403
    unknown = grace.whatsapp(me, "hello", to="+15550000000")
    assert unknown.status_code == 404  # refused before anything was admitted: nothing can run later
    assert grace.tracker_events(f"akanraby:{me}") == []
    assert [m for m in grace.twilio.messages if m["To"] == f"whatsapp:{me}"] == []


def test_a_retried_webhook_is_processed_once(grace):
    me = "+2348100000003"
    first = grace.whatsapp(me, "hi", sid="SM" + "d" * 32)
    again = grace.whatsapp(me, "hi", sid="SM" + "d" * 32)
    assert first.status_code == again.status_code == 200
    grace.wait_whatsapp(me, "Grace")
    # A later message of the same conversation is answered after any turn queued before it: once its
    # answer is here, a wrongly re-run "hi" would have answered already.
    grace.whatsapp(me, "ok thanks")
    grace.wait_whatsapp(me, "", after=1)
    assert sum("I'm Grace" in m["Body"] for m in grace.sent_to(me)) == 1  # the greeting, once
    said = [json.loads(data).get("text") for kind, data in grace.tracker_events(f"akanraby:{me}")
            if kind == "user"]
    assert said == ["hi", "ok thanks"]  # the retried "hi" is in the conversation once


def stored_file(grace, url: str) -> Path:
    """Grace's copy of a customer's file, from the URL Grace gives it."""
    assert url.startswith(f"{PUBLIC_URL}/media/akanraby/"), url
    return grace.var_dir / "media" / "akanraby" / Path(urlsplit(url).path).name


def order_and_send_proof(grace, me: str) -> str:
    """A WhatsApp customer orders (confirming by number) and sends a screenshot; returns the reference."""
    grace.whatsapp(me, "hello")
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.whatsapp(me, "number 1, 12 yards")
    grace.wait_whatsapp(me, "pick it up or shall we deliver")
    grace.whatsapp(me, "I will pick it up at your shop")
    sent = grace.wait_whatsapp(me, "Deposit")
    options = [m for m in sent if m["MediaUrl"]]
    assert options and all(m["Body"] for m in options)  # each image carries its caption
    assert re.search(r"^1\. Yes, confirm", sent[-1]["Body"], re.M)

    grace.whatsapp(me, "1")  # the first choice of the list: confirm
    placed = body_with(grace.wait_whatsapp(me, "reference", after=len(sent))[len(sent):], "reference")
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1)

    proof_url = grace.twilio.add_media(PNG, "image/png")
    before = len(grace.sent_to(me))
    assert grace.whatsapp(me, "", media=[(proof_url, "image/png")]).status_code == 200
    received = body_with(grace.wait_whatsapp(me, "payment proof", after=before), "payment proof")
    assert reference in received
    return reference


def proof_url_of(grace, reference: str) -> str:
    [(url,)] = grace.store(f"SELECT p.proof_url FROM payments p JOIN orders o ON o.id = p.order_id "
                           f"WHERE o.reference = '{reference}'")
    return url


def test_whatsapp_funnel_with_numbered_choice_and_a_media_only_proof(grace):
    me = "+2348100000004"
    reference = order_and_send_proof(grace, me)
    assert stored_file(grace, proof_url_of(grace, reference)).read_bytes() == PNG  # kept: Twilio's URL expires

    before = len(grace.sent_to(me))
    verified = grace.grace_cli("payments", "verify", reference)
    assert verified.returncode == 0, verified.stderr + verified.stdout
    confirmation = grace.wait_whatsapp(me, "confirmed", after=before)[before:]
    assert reference in body_with(confirmation, "confirmed")
    assert {m["From"] for m in confirmation} == {f"whatsapp:{AKANRABY_NUMBER}"}


def test_ops_get_the_proof_on_whatsapp_and_approve_it_from_their_phone(grace):
    ops, me = "+2349010000009", "+2348100000007"
    grace.whatsapp(ops, "hi")  # ops talk in commands; writing also opens their 24-hour window
    assert "APPROVE" in body_with(grace.wait_whatsapp(ops, "APPROVE"), "APPROVE")
    reference = order_and_send_proof(grace, me)
    alert = next(m for m in grace.wait_whatsapp(ops, reference) if reference in m["Body"])
    assert alert["MediaUrl"] == [proof_url_of(grace, reference)] and f"APPROVE {reference}" in alert["Body"]

    before = len(grace.sent_to(me))
    grace.whatsapp(me, f"APPROVE {reference}")  # a customer cannot approve their own payment
    grace.wait_whatsapp(me, "", after=before)  # answered as a customer's message, and only then checked
    assert grace.store(f"SELECT p.status FROM payments p JOIN orders o ON o.id = p.order_id "
                       f"WHERE o.reference = '{reference}'") == [("pending",)]

    before_ops, before_me = len(grace.sent_to(ops)), len(grace.sent_to(me))
    grace.whatsapp(ops, f"approve {reference.lower()}")
    assert "verified" in body_with(grace.wait_whatsapp(ops, "verified", after=before_ops), "verified")
    confirmation = grace.wait_whatsapp(me, "confirmed", after=before_me)[before_me:]
    assert reference in body_with(confirmation, "confirmed")
    assert grace.store(f"SELECT status FROM orders WHERE reference = '{reference}'") == [("deposit_paid",)]

    before_ops = len(grace.sent_to(ops))
    grace.whatsapp(ops, "REJECT AKA-ZZZZZ blurry screenshot")
    assert "AKA-ZZZZZ" in body_with(grace.wait_whatsapp(ops, "⚠️", after=before_ops), "⚠️")


def test_stop_ends_proactive_messages_until_the_customer_writes_again(grace):
    me = "+2348100000008"
    grace.whatsapp(me, "STOP")
    assert "won't send you" in body_with(grace.wait_whatsapp(me, "won't send you"), "won't send you")
    assert grace.store(f"SELECT opted_out_at IS NOT NULL FROM contacts WHERE phone = '{me}'") == [(1,)]
    assert grace.tracker_events(f"akanraby:{me}") == []  # not a sales conversation
    grace.whatsapp(me, "hello again")
    grace.wait_whatsapp(me, "Grace", after=1)
    assert grace.store(f"SELECT opted_out_at IS NOT NULL FROM contacts WHERE phone = '{me}'") == [(0,)]


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


def test_voice_notes_pdfs_and_unreadable_files_each_get_the_right_answer(grace):
    me = "+2348100000010"
    voice = grace.twilio.add_media(b"OggS" + bytes(600), "audio/ogg")
    grace.whatsapp(me, "", media=[(voice, "audio/ogg")])
    assert "voice notes" in body_with(grace.wait_whatsapp(me, "voice notes"), "voice notes")

    fake_png = grace.twilio.add_media(b"<html>phishing</html>", "image/png")  # claims to be a picture
    grace.whatsapp(me, "", media=[(fake_png, "image/png")])
    assert "couldn't open" in body_with(grace.wait_whatsapp(me, "couldn't open", after=1), "couldn't open")
    assert grace.store(f"SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id JOIN customers c "
                       f"ON c.id = o.customer_id WHERE c.phone = '{me}'") == [(0,)]


def test_a_pdf_receipt_counts_as_payment_proof(grace):
    me = "+2348100000011"
    grace.whatsapp(me, "hello")
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.whatsapp(me, "number 1, 12 yards")
    grace.wait_whatsapp(me, "pick it up or shall we deliver")
    grace.whatsapp(me, "I will pick it up at your shop")
    sent = grace.wait_whatsapp(me, "Deposit")
    grace.whatsapp(me, "yes")
    placed = body_with(grace.wait_whatsapp(me, "reference", after=len(sent))[len(sent):], "reference")
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1)
    receipt = grace.twilio.add_media(b"%PDF-1.4\n" + bytes(900), "application/pdf")
    before = len(grace.sent_to(me))
    grace.whatsapp(me, "", media=[(receipt, "application/pdf")])
    assert reference in body_with(grace.wait_whatsapp(me, "payment proof", after=before), "payment proof")
    assert stored_file(grace, proof_url_of(grace, reference)).read_bytes().startswith(b"%PDF")


def test_a_message_acknowledged_before_a_crash_is_answered_after_the_restart(grace):
    """The gateway answered Twilio, then died before the turn: the next start replays it."""
    import json
    import sqlite3
    import subprocess
    import sys
    from datetime import datetime, timedelta, timezone

    from grace.run import local
    from tests.helpers import ROOT, free_port

    me = "+2348100000013"
    payload = {"tenant": "akanraby", "business_number": AKANRABY_NUMBER, "customer": me, "text": "good afternoon",
               "message_id": "SM" + "c" * 32, "customer_name": "Amaka", "media": []}
    acked_at = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    with sqlite3.connect(grace.var_dir / "inbound.db") as db:
        db.execute("INSERT INTO pending_turns (tenant_id, channel, message_id, payload, created_at) "
                   "VALUES ('akanraby', 'whatsapp', ?, ?, ?)",
                   (payload["message_id"], json.dumps(payload), acked_at.isoformat(sep=" ")))
    port = free_port()
    restarted = subprocess.Popen([sys.executable, "-m", "connectors.gateway"], cwd=ROOT,
                                 env={**grace.env, "GRACE_WEBHOOK_PORT": str(port)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert local.wait_until_up(f"http://127.0.0.1:{port}/health", restarted, 60)
        [reply] = grace.wait_whatsapp(me, "Amaka")
        assert reply["From"] == f"whatsapp:{AKANRABY_NUMBER}"
    finally:
        local.stop([restarted])
    with sqlite3.connect(grace.var_dir / "inbound.db") as db:
        assert db.execute("SELECT count(*) FROM pending_turns WHERE message_id = ?",
                          (payload["message_id"],)).fetchone() == (0,)


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_turns_run_below_the_priority_of_the_webhooks(grace):
    """On a busy machine the gateway's acks are scheduled before the turns' model work."""
    actions, rasa, *companions = grace.processes
    gateway = next(p for p in companions if "connectors.gateway" in p.args)
    assert niceness(rasa.pid) - niceness(gateway.pid) == local.DEFAULT_TURN_NICENESS
    assert niceness(actions.pid) - niceness(gateway.pid) == local.DEFAULT_TURN_NICENESS


def test_rasa_runs_tensorflow_on_one_thread_per_pool(grace):
    """Where a replica has one core, TensorFlow's default pools spin on it (grace/run/local.py)."""
    rasa = grace.processes[1]
    environment = dict(entry.split("=", 1) for entry in
                       Path(f"/proc/{rasa.pid}/environ").read_text().split("\0") if "=" in entry)
    assert {name: environment.get(name) for name in local.TENSORFLOW_THREADS} == local.TENSORFLOW_THREADS
