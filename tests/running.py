"""A real Grace (trained model, Rasa server, action server, gateway, dashboard, outbox) on free local ports,
started once per test session for the tests that ask for it (tests/e2e, tests/security)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import requests
import yaml

from grace.run import local
from tests.fakes.meta_api import FakeMetaGraph, meta_signature
from tests.fakes.paystack_api import FakePaystack
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.twilio_api import FakeTwilio, twilio_form, twilio_signature
from tests.helpers import ROOT, free_port, make_tenants

PUBLIC_URL = "https://grace.example.test"  # what Twilio calls; Grace runs behind a "proxy"
AKANRABY_NUMBER = "+2349010000001"
META_APP_SECRET = "meta-app-secret-for-tests"
META_VERIFY_TOKEN = "meta-verify-token-for-tests"
REST_TOKEN = "rest-token-for-tests"  # the REST channel asks for it whenever it is set
# Each business's payment link account at the fake providers (tenant.yml names the variables that hold them).
PAYSTACK_KEYS = {"AKANRABY_PAYSTACK_SECRET_KEY": "sk_test_akanraby_e2e",
                 "KENTEHOUSE_PAYSTACK_SECRET_KEY": "sk_test_kente_e2e"}
STRIPE_KEY, STRIPE_WEBHOOK_SECRET = "sk_test_kitenge_e2e", "whsec_kitenge_e2e"


class Grace:
    def __init__(self, var_dir, rasa_port: int, env: dict, twilio: FakeTwilio, meta: FakeMetaGraph,
                 tenants, webhook_port: int) -> None:
        self.var_dir, self.rasa_port, self.env = var_dir, rasa_port, env
        self.gateway = f"http://127.0.0.1:{webhook_port}"  # WhatsApp webhooks: the gateway answers at once
        self.web = ""  # the dashboard's URL
        self.twilio, self.meta, self.tenants = twilio, meta, tenants
        self.paystack: FakePaystack | None = None  # the payment link providers, set by the fixture
        self.stripe: FakeStripe | None = None
        self.base = f"http://127.0.0.1:{rasa_port}"
        self.token = (var_dir / "rasa_token").read_text().strip()

    def send(self, sender: str, text: str, tenant: str | None = "akanraby", *, headers: dict | None = None,
             **meta) -> requests.Response:
        """A REST message, as a website's server sends it (with the REST token unless `headers` say otherwise)."""
        metadata = {"tenant": tenant, **meta} if tenant else meta
        headers = {"Authorization": f"Bearer {REST_TOKEN}"} if headers is None else headers
        return requests.post(f"{self.base}/webhooks/rest/webhook", headers=headers,
                             json={"sender": sender, "message": text, "metadata": metadata}, timeout=60)

    def say(self, sender: str, text: str, **kwargs) -> str:
        reply = self.send(sender, text, **kwargs)
        assert reply.status_code == 200, reply.text
        return "\n".join(m.get("text") or "" for m in reply.json())

    def whatsapp(self, customer: str, body: str = "", *, to: str = AKANRABY_NUMBER, signature: str | None = None,
                 direct: bool = False, **form_fields) -> requests.Response:
        """Post an inbound WhatsApp message as Twilio does, signed over the public URL, to the gateway
        (or, `direct`, to the same connector inside Rasa)."""
        form = twilio_form(to=to, from_=customer, body=body, account_sid=self.twilio.account_sid, **form_fields)
        if signature is None:
            signature = twilio_signature(f"{PUBLIC_URL}/webhooks/whatsapp/webhook", form, self.twilio.auth_token)
        return requests.post(f"{self.base if direct else self.gateway}/webhooks/whatsapp/webhook", data=form,
                             headers={"X-Twilio-Signature": signature}, timeout=30)

    def sent_to(self, customer: str) -> list[dict]:
        """Every message Grace sent this customer through the Twilio API so far."""
        return [m for m in self.twilio.messages if m["To"] == f"whatsapp:{customer}"]

    def wait_whatsapp(self, customer: str, expect: str = "", after: int = 0, timeout: float = 30) -> list[dict]:
        """Messages to the customer, once one beyond the first `after` contains `expect`."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent_to(customer)
            if any(expect in m["Body"] for m in sent[after:]):
                return sent
            assert time.monotonic() < deadline, f"no message with {expect!r} to {customer}; got {sent}"
            time.sleep(0.1)

    def meta_webhook(self, payload: dict, secret: str = META_APP_SECRET) -> requests.Response:
        """Post a Cloud API webhook as Meta does: the raw body signed with the app secret."""
        body = json.dumps(payload).encode()
        return requests.post(f"{self.gateway}/webhooks/meta_whatsapp/webhook", data=body, timeout=30,
                             headers={"Content-Type": "application/json",
                                      "X-Hub-Signature-256": meta_signature(body, secret)})

    def wait_meta(self, wa_id: str, expect: str = "", after: int = 0, timeout: float = 30) -> list[dict]:
        """Graph API messages to the customer, once one beyond the first `after` mentions `expect`."""
        deadline = time.monotonic() + timeout
        while True:
            sent = [m for m in self.meta.messages if m["to"] == wa_id]
            if any(expect in json.dumps(m, ensure_ascii=False) for m in sent[after:]):
                return sent
            assert time.monotonic() < deadline, f"no message with {expect!r} to {wa_id}; got {sent}"
            time.sleep(0.1)

    def grace_cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grace.run.cli", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def tracker_events(self, conversation_id: str) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "tracker.db") as db:
            return db.execute("SELECT type_name, data FROM events WHERE sender_id = ?", (conversation_id,)).fetchall()

    def store(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "grace.db") as db:
            return db.execute(sql).fetchall()


TRIAL = {"name": "Trial", "model_calls": 1, "broadcast_messages": 0, "seats": 3}


def plans_with_a_trial(root) -> object:
    """The shipped plans plus a tiny one (one model call a month) the platform tests put a business on. The
    businesses are on Enterprise unless a test says otherwise: the session's tests add more dashboard users to
    each than a Basic plan's seats."""
    plans = yaml.safe_load((ROOT / "plans.yml").read_text(encoding="utf-8"))
    plans["plans"]["trial"] = TRIAL
    plans["default"] = "enterprise"
    path = root / "plans.yml"
    path.write_text(yaml.safe_dump(plans, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def grace(tmp_path_factory):
    if not local.MODEL.exists():
        pytest.fail("no trained model: run 'make train' (make e2e does)")
    root = tmp_path_factory.mktemp("grace")
    tenants = make_tenants(root)
    var_dir = root / "var"
    rasa_port, actions_port, webhook_port = free_port(), free_port(), free_port()
    saved = dict(os.environ)
    twilio, meta = FakeTwilio().start(), FakeMetaGraph().start()
    paystack = FakePaystack(secret_keys=tuple(PAYSTACK_KEYS.values())).start()
    stripe = FakeStripe(secret_key=STRIPE_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET).start()
    os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(var_dir),
                      GRACE_DEFAULT_TENANT="akanraby", GRACE_RASA_PORT=str(rasa_port),
                      TWILIO_ACCOUNT_SID=twilio.account_sid, TWILIO_AUTH_TOKEN=twilio.auth_token,
                      TWILIO_API_BASE_URL=twilio.base_url, GRACE_PUBLIC_URL=PUBLIC_URL,
                      GRACE_SEND_BACKOFF_S="0.2", META_ACCESS_TOKEN=meta.access_token,
                      META_APP_SECRET=META_APP_SECRET, META_VERIFY_TOKEN=META_VERIFY_TOKEN,
                      META_API_BASE_URL=meta.base_url, GRACE_MEDIA_BASE_URL=f"{PUBLIC_URL}/media",
                      GRACE_OUTBOX_POLL_S="0.5", GRACE_REST_TOKEN=REST_TOKEN,
                      PAYSTACK_API_BASE_URL=paystack.base_url, STRIPE_API_BASE_URL=stripe.base_url,
                      KITENGE_STRIPE_SECRET_KEY=STRIPE_KEY, KITENGE_STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
                      **PAYSTACK_KEYS)
    os.environ.pop("GRACE_RASA_TOKEN", None)
    os.environ.update(GRACE_PLANS_FILE=str(plans_with_a_trial(root)),
                      # What the platform and owners change reaches every process at once, not within seconds:
                      # the tests act and look straight after (the caches are unit-tested).
                      GRACE_CREDENTIALS_CACHE_S="0", GRACE_STANDING_CACHE_S="0")
    web_port = free_port()
    processes = local.start(var_dir, rasa_port, actions_port, webhook_port=webhook_port, web_port=web_port)
    try:
        running = Grace(var_dir, rasa_port, dict(os.environ), twilio, meta, tenants, webhook_port)
        running.web = f"http://127.0.0.1:{web_port}"  # the dashboard `make run` starts
        running.paystack, running.stripe = paystack, stripe
        running.processes = processes
        yield running
    finally:
        local.stop(processes)
        twilio.stop()
        meta.stop()
        paystack.stop()
        stripe.stop()
        os.environ.clear()
        os.environ.update(saved)
