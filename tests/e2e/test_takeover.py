"""A person of the team takes a WhatsApp conversation over through the API, end to end: Grace (the trained
model, Rasa, the action server, the gateway, the dashboard) stays silent while the customer writes, the
person's reply reaches the customer from the business number through the local Twilio API, and after the
hand back Grace answers again, where the funnel was."""
from __future__ import annotations

import subprocess
import sys
import time

import requests

from tests.helpers import ROOT
from tests.running import AKANRABY_NUMBER

PERSON = "takeover-ops@akanraby.test"
PASSWORD = "a person of the team in the loop"


def api_key_and_person(grace) -> str:
    created = grace.grace_cli("keys", "create", "akanraby", "--label", "takeover e2e")
    assert created.returncode == 0, created.stderr
    added = subprocess.run([sys.executable, "-m", "grace.run.cli", "users", "add", "akanraby", PERSON, "--role", "ops",
                            "--password-env", "TAKEOVER_PASSWORD"], cwd=ROOT, env={**grace.env,
                                                                                   "TAKEOVER_PASSWORD": PASSWORD},
                           capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr + added.stdout
    return created.stdout.strip().splitlines()[-1]


def api(grace, key: str, method: str, path: str, **body) -> requests.Response:
    return requests.request(method, f"{grace.web}/api/v1{path}", headers={"X-API-Key": key},
                            json=body or None, timeout=60)


def wait_for_message(grace, key: str, conversation: str, text: str, timeout: float = 60) -> dict:
    """The conversation's message with this text, once the API lists it."""
    deadline = time.monotonic() + timeout
    while True:
        messages = api(grace, key, "GET", f"/conversations/{conversation}/messages").json()["messages"]
        found = [m for m in messages if m["text"] == text]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"{text!r} never listed in {conversation}: {messages}"
        time.sleep(0.1)


def test_take_over_reply_and_hand_back_over_twilio_whatsapp(grace):
    key = api_key_and_person(grace)
    me = "+2348100000077"
    conversation = f"akanraby:{me}"
    grace.whatsapp(me, "hello", profile_name="Adaeze")
    grace.wait_whatsapp(me, "Grace", timeout=60)
    grace.whatsapp(me, "show me red ankara with flowers")
    before = len(grace.wait_whatsapp(me, "number and quantity", after=1, timeout=60))

    taken = api(grace, key, "POST", f"/conversations/{conversation}/takeover", user=PERSON)
    assert taken.status_code == 200, taken.text
    assert taken.json()["taken_over"]["by"] == PERSON and taken.json()["customer"]["name"] == "Adaeze"
    listed = api(grace, key, "GET", "/conversations").json()["conversations"]
    assert next(c for c in listed if c["id"] == conversation)["taken_over"]["by"] == PERSON

    grace.whatsapp(me, "can I pay half now and half on delivery?")
    # The barrier: once the API lists the message, its turn is over (kept for the person, nothing sent).
    held = wait_for_message(grace, key, conversation, "can I pay half now and half on delivery?")
    assert held["who"] == "customer" and held["held"] is True
    assert len(grace.sent_to(me)) == before

    words = "Hi Adaeze, Ngozi from AkanrabyAtuche here: yes, half now is fine for you."
    replied = api(grace, key, "POST", f"/conversations/{conversation}/reply", user=PERSON, text=words)
    assert replied.status_code == 200, replied.text
    assert replied.json()["in_history"] is True
    [reply] = grace.wait_whatsapp(me, words, after=before, timeout=30)[before:]
    assert reply["From"] == f"whatsapp:{AKANRABY_NUMBER}" and reply["Body"] == words
    assert wait_for_message(grace, key, conversation, words)["author"] == PERSON

    handed = api(grace, key, "POST", f"/conversations/{conversation}/handback", user=PERSON)
    assert handed.status_code == 200 and handed.json()["taken_over"] is None
    grace.whatsapp(me, "number 1, 12 yards")  # the options Grace offered before the takeover still stand
    sent = grace.wait_whatsapp(me, "shall we deliver", after=before + 1, timeout=90)
    # In order per conversation: had Grace answered the held message, that answer would sit before this one.
    assert sent[before]["Body"] == words and "shall we deliver" in "\n".join(m["Body"] for m in sent[before + 1:])
