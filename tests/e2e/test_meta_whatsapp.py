"""Grace on the Meta WhatsApp Cloud API, end to end: signed webhooks in, replies captured by a local
server that speaks the Graph API; the trained model, Rasa and the action server are real."""
from __future__ import annotations

import re

import requests

from tests.e2e.test_twilio_whatsapp import proof_url_of, stored_file
from tests.fakes.meta_api import (
    meta_image_payload,
    meta_interactive_payload,
    meta_status_payload,
    meta_text_payload,
)
from tests.helpers import AKANRABY_META_ID
from tests.running import META_VERIFY_TOKEN

JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0]) + bytes(range(256)) * 4


def text_of(message: dict) -> str:
    kind = message["type"]
    if kind == "text":
        return message["text"]["body"]
    if kind == "image":
        return message["image"].get("caption", "")
    return message["interactive"]["body"]["text"]


def test_subscription_handshake_answers_only_the_right_verify_token(grace):
    url = f"{grace.gateway}/webhooks/meta_whatsapp/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN,
                                   "hub.challenge": "1158201444"}, timeout=10)
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                      "hub.challenge": "1158201444"}, timeout=10)
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


def test_signed_text_is_answered_from_the_business_and_statuses_are_ignored(grace):
    wa_id = "2348200000001"
    ack = grace.meta_webhook(meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=wa_id,
                                               text="Good evening o", name="Ngozi"))
    assert ack.status_code == 200
    [reply] = grace.wait_meta(wa_id, "AkanrabyAtuche")
    assert reply["phone_number_id"] == AKANRABY_META_ID and reply["type"] == "text"
    assert grace.store(f"SELECT name FROM customers WHERE phone = '+{wa_id}'") == [("Ngozi",)]
    receipt = grace.meta_webhook(meta_status_payload(phone_number_id=AKANRABY_META_ID,
                                                     message_id="wamid.sent-earlier"))
    assert receipt.status_code == 200


def test_forged_signature_and_unknown_phone_number_id_are_refused(grace):
    wa_id = "2348200000002"
    forged = grace.meta_webhook(meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=wa_id,
                                                  text="I don pay"), secret="not-the-app-secret")
    assert forged.status_code == 403
    unknown = grace.meta_webhook(meta_text_payload(phone_number_id="999999999", wa_id=wa_id, text="hi"))
    assert unknown.status_code == 404  # refused before anything was admitted: nothing can run later
    assert grace.tracker_events(f"akanraby:+{wa_id}") == []
    assert [m for m in grace.meta.messages if m["to"] == wa_id] == []


def test_meta_funnel_with_reply_buttons_a_photo_proof_and_a_redelivery(grace):
    wa_id = "2348200000003"

    def say(text: str, message_id: str | None = None) -> None:
        payload = meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=wa_id, text=text,
                                    message_id=message_id)
        assert grace.meta_webhook(payload).status_code == 200

    say("hello")
    say("I want red ankara with flowers")
    say("number 1, 12 yards", message_id="wamid.selection-1")
    say("number 1, 12 yards", message_id="wamid.selection-1")  # Meta redelivers: handled once
    grace.wait_meta(wa_id, "shall we deliver")
    say("I will pick it up at your shop")
    sent = grace.wait_meta(wa_id, "Deposit")
    assert any(m["type"] == "image" and m["image"]["caption"] for m in sent)
    summary = sent[-1]
    assert summary["type"] == "interactive" and summary["interactive"]["type"] == "button"
    confirm = summary["interactive"]["action"]["buttons"][0]["reply"]
    assert confirm["title"].startswith("Yes, confirm")
    before = len(grace.wait_meta(wa_id))
    say("ok one sec")  # answered after any turn queued before it, a redelivered one included
    assert sum("Deposit" in text_of(m) for m in grace.wait_meta(wa_id, after=before)) == 1

    tapped = meta_interactive_payload(phone_number_id=AKANRABY_META_ID, wa_id=wa_id, reply_id=confirm["id"],
                                      title=confirm["title"])
    assert grace.meta_webhook(tapped).status_code == 200
    after = grace.wait_meta(wa_id, "order reference", after=len(sent))
    placed = next(text_of(m) for m in after[len(sent):] if "order reference" in text_of(m))
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1)

    media_id = grace.meta.add_media(JPEG, "image/jpeg")
    before = len(after)
    photo = meta_image_payload(phone_number_id=AKANRABY_META_ID, wa_id=wa_id, media_id=media_id)
    assert grace.meta_webhook(photo).status_code == 200
    received = grace.wait_meta(wa_id, "payment proof", after=before)
    assert any(reference in text_of(m) for m in received[before:])
    stored = stored_file(grace, proof_url_of(grace, reference))
    assert stored.read_bytes() == JPEG
