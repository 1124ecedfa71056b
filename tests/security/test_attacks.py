"""Each finding of the security review, tried against a running Grace as an attacker would, and refused.
(Number ownership and the settings page: tests/test_number_ownership.py and tests/web/; the action
server: tests/test_action_server.py; forged quantities: tests/test_stock.py.)"""
from __future__ import annotations

import http.client
import json
import re

import requests

from tests.fakes.meta_api import meta_signature
from tests.fakes.twilio_api import twilio_form, twilio_signature
from tests.running import AKANRABY_NUMBER, META_APP_SECRET, PUBLIC_URL


def signed_twilio(grace, form: dict) -> requests.Response:
    signature = twilio_signature(f"{PUBLIC_URL}/webhooks/whatsapp/webhook", form, grace.twilio.auth_token)
    return requests.post(f"{grace.gateway}/webhooks/whatsapp/webhook", data=form,
                         headers={"X-Twilio-Signature": signature}, timeout=30)


def test_rest_without_the_token_cannot_speak_for_anyone(grace):
    refused = grace.send("+2348099990001", "where is my order", headers={})
    assert refused.status_code == 401
    assert grace.tracker_events("akanraby:web:+2348099990001") == []


def test_a_rest_caller_cannot_enter_a_whatsapp_customers_conversation(grace):
    me = "+2348099990002"
    grace.whatsapp(me, "hello")
    grace.wait_whatsapp(me, "AkanrabyAtuche")
    before = len(grace.tracker_events(f"akanraby:{me}"))
    grace.say(me, "cancel my order")  # with the token, as a website would: its own conversation
    assert len(grace.tracker_events(f"akanraby:{me}")) == before


def test_an_sms_sender_on_the_whatsapp_webhook_is_refused(grace):
    form = twilio_form(to=AKANRABY_NUMBER, from_="+2348099990003", body="APPROVE AKA-7KQ2M",
                       account_sid=grace.twilio.account_sid)
    form["From"] = "+2349010000009"  # an ops number, over SMS: never an ops command
    before = len(grace.sent_to("+2349010000009"))
    answer = signed_twilio(grace, form)
    assert answer.status_code == 400 and "WhatsApp senders only" in answer.text
    assert len(grace.sent_to("+2349010000009")) == before


def test_oversized_webhooks_are_refused_before_they_are_parsed(grace):
    form = twilio_form(to=AKANRABY_NUMBER, from_="+2348099990004", body="x" * (70 * 1024),
                       account_sid=grace.twilio.account_sid)
    assert signed_twilio(grace, form).status_code == 413
    body = json.dumps({"object": "whatsapp_business_account", "entry": [], "pad": "x" * (1100 * 1024)}).encode()
    meta = requests.post(f"{grace.gateway}/webhooks/meta_whatsapp/webhook", data=body, timeout=30,
                         headers={"Content-Type": "application/json",
                                  "X-Hub-Signature-256": meta_signature(body, META_APP_SECRET)})
    assert meta.status_code == 413
    rest = grace.send("+2348099990005", "x" * (70 * 1024))
    assert rest.status_code == 413
    assert grace.tracker_events("akanraby:web:+2348099990005") == []


def test_a_huge_body_is_cut_off_by_the_server_itself(grace):
    huge = requests.post(f"{grace.base}/webhooks/rest/webhook", data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                         headers={"Content-Type": "application/json"}, timeout=30)
    assert huge.status_code == 413


def test_message_ids_are_per_sender_so_one_caller_cannot_drop_anothers_message(grace):
    first = grace.send("+2348099990006", "hello", message_id="m-1")
    second = grace.send("+2348099990007", "hello", message_id="m-1")  # same id, another sender
    assert first.status_code == second.status_code == 200
    assert [d for k, d in grace.tracker_events("akanraby:web:+2348099990007") if k == "user"]


def test_a_flood_from_one_sender_gets_a_pause_not_turns(grace):
    me = "+2348099990008"
    answers = [grace.say(me, f"hello {n}") for n in range(22)]  # the limit is 20 a minute
    assert "faster than I can read" in answers[-1]
    users = [d for k, d in grace.tracker_events(f"akanraby:web:{me}") if k == "user"]
    assert len(users) == 20
    assert "AkanrabyAtuche" in grace.say("+2348099990009", "hello")  # others are served


def test_the_media_route_never_serves_the_folder_above_the_tenants_media(grace):
    above = grace.var_dir / "fabrics"  # what /media/../fabrics/... would reach: var/, beside the stores
    above.mkdir(exist_ok=True)
    (above / "secret.png").write_bytes(b"not for you")
    host, port = grace.web.removeprefix("http://").split(":")
    for path in ("/media/%2E%2E/fabrics/secret.png", "/media/../fabrics/secret.png"):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path)  # sent as written: no client-side clean-up of the dots
        answer = connection.getresponse()
        assert answer.status == 404 and b"not for you" not in answer.read(), path
        connection.close()


def dashboard_form(browser: requests.Session, grace, path: str, data: dict, page: str) -> requests.Response:
    """Post a dashboard form as a browser does: with the CSRF token of the page it sits on."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{grace.web}{page}", timeout=30).text)
    return browser.post(f"{grace.web}{path}", data={**data, "csrf_token": token.group(1)}, timeout=30,
                        allow_redirects=False)


def test_an_owner_cannot_learn_whether_an_email_has_an_account_at_another_business(grace, monkeypatch):
    monkeypatch.setitem(grace.env, "VICTIM_PW", "kente house secret")
    monkeypatch.setitem(grace.env, "OWNER_PW", "akanraby owner secret")
    assert grace.grace_cli("users", "add", "kentehouse", "ada@kente.example", "--role", "owner",
                           "--password-env", "VICTIM_PW").returncode == 0
    assert grace.grace_cli("users", "add", "akanraby", "boss@akanraby.example", "--role", "owner",
                           "--password-env", "OWNER_PW").returncode == 0
    owner = requests.Session()
    login = {"email": "boss@akanraby.example", "password": "akanraby owner secret"}
    assert dashboard_form(owner, grace, "/login", login, "/login").status_code == 302
    answers, passwords = [], []
    for email in ("ada@kente.example", "nobody@nowhere.example"):  # an account at Kente House; none anywhere
        answer = dashboard_form(owner, grace, "/users", {"email": email, "role": "viewer"}, "/users")
        card = re.search(r'<div class="card secret" role="alert">.*?</div>', answer.text, re.S)
        once = re.search(r'<code class="once">([^<]+)</code>', answer.text)
        assert card and once, answer.text
        passwords.append(once.group(1))
        answers.append((answer.status_code, card.group(0).replace(email, "EMAIL").replace(once.group(1), "PW")))
    assert answers[0] == answers[1]

    # The invite made an account of Akanraby: it opens Akanraby only, and Ada's own is untouched.
    invited = requests.Session()
    opened = dashboard_form(invited, grace, "/login", {"email": "ada@kente.example", "password": passwords[0]},
                            "/login")
    assert opened.headers["Location"] == "/account/password"
    assert "akanraby · ada@kente.example" in invited.get(f"{grace.web}/account/password", timeout=30).text
    ada = requests.Session()
    own = dashboard_form(ada, grace, "/login", {"email": "ada@kente.example", "password": "kente house secret"},
                         "/login")
    assert own.headers["Location"] == "/" and "Kente House Accra" in ada.get(f"{grace.web}/", timeout=30).text


def test_tokens_never_reach_the_logs(grace):
    # Rasa takes its token as ?token= (its own API); the REST channel as a bearer header.
    assert requests.get(f"http://127.0.0.1:{grace.rasa_port}/status", params={"token": grace.token},
                        timeout=30).status_code == 200
    assert grace.say("+2348077711100", "hello")
    grace.send("+2348077711101", "hello", headers={"Authorization": "Bearer wrong-token-in-a-log?"})
    logs = {path.name: path.read_text(errors="replace") for path in (grace.var_dir / "logs").glob("*.log")}
    assert logs and "rasa.log" in logs
    for name, text in logs.items():
        assert grace.token not in text, name
        assert "wrong-token-in-a-log" not in text and "rest-token-for-tests" not in text, name
