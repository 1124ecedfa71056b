"""The webhook gateway acknowledges a message and hands it to Rasa, which answers it; when Rasa cannot be
reached, the customer is still told that something went wrong, from the gateway."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors.gateway import build_app
from grace.store import session_scope
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import Wording
from tests.helpers import free_port, sanic_serving
from tests.test_suspension import ADA, AKANRABY_NUMBER, writes


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[str]:
    with sanic_serving(build_app(f"hand_over_gateway_{uuid.uuid4().hex[:8]}")) as url:
        yield url


def test_a_customer_is_told_when_rasa_cannot_be_reached(grace_env, twilio, gateway_server, monkeypatch):
    monkeypatch.setenv("GRACE_PUBLIC_URL", gateway_server)  # what Twilio signs over
    monkeypatch.setenv("GRACE_RASA_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("GRACE_RASA_TOKEN", "rasa-token-for-hand-over-tests")
    with session_scope():  # the store exists before the first webhook, as a running Grace's does
        pass
    reply = writes(twilio, gateway_server, ADA, AKANRABY_NUMBER, "hello, do you have red ankara?")
    assert reply == Wording(get_registry().get("akanraby"))("error")
