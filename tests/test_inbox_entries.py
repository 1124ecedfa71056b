"""What the inbox hands back for a replay is checked again as a webhook would be: a tampered entry
(Redis is a store, not a signature) is refused, never answered as a customer's message."""
from __future__ import annotations

import pytest

from connectors.whatsapp import IncomingWhatsApp
from grace.errors import GraceError

GOOD = {"tenant": "akanraby", "business_number": "+2349010000001", "customer": "+2348011112222",
        "text": "hello", "message_id": "SM123", "customer_name": "Ada",
        "media": [["https://x.test/a.jpg", "image/jpeg"]]}


def test_a_genuine_entry_is_replayed(grace_env):
    message = IncomingWhatsApp.from_payload(GOOD)
    assert message.tenant.id == "akanraby" and message.customer == "+2348011112222" and message.media


@pytest.mark.parametrize("tampered", [
    {"customer": "akanraby:+2348011112222"},          # a conversation id posing as a number
    {"business_number": "+2330000000000"},            # a number the business does not own
    {"tenant": "../tenants"},                          # no such business
    {"text": "x" * 100_000},                           # far beyond what a customer's message may hold
    {"message_id": ""},
    {"media": [["https://x.test/a.jpg", "image/jpeg"]] * 50},
    {"media": "not a list of pairs"},
])
def test_a_tampered_entry_is_refused(grace_env, tampered):
    with pytest.raises(GraceError):
        IncomingWhatsApp.from_payload({**GOOD, **tampered})
