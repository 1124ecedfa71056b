"""An ops number answers a customer from its own WhatsApp: `R <ref> <text>` sends the text from the business
number and takes the conversation over (Grace quiet), the customer's replies are relayed to that number by
the outbox, and `DONE <ref>` gives the conversation back to Grace. Through the production connector, against a
local Twilio API and Rasa's HTTP API as Rasa takes events (FakeRasa)."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from grace.messaging.takeover import take_over
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.audit import entries
from grace.store.models import Customer, Takeover
from tests.test_takeover import ADA, CONVERSATION, Grace, customer_writes, rasa  # noqa: F401
from tests.web.conftest import make_order

OPS = "+2349010000009"  # AkanrabyAtuche's ops number (tenant.yml)


def to(twilio, phone: str) -> list[str]:
    return [m["Body"] for m in twilio.messages if m["To"] == f"whatsapp:{phone}"]


def test_ops_answer_from_whatsapp_get_the_replies_and_hand_back(grace_env, rasa, twilio):  # noqa: F811
    grace = Grace()
    reference = make_order("akanraby", ADA, name="Ada")
    customer_writes(twilio, grace, "hello")  # the customer's 24-hour window opens; Grace answers
    customer_writes(twilio, grace, f"R {reference.lower()} Hi Ada, Ngozi here: Friday delivery is fine", phone=OPS)
    assert to(twilio, ADA)[-1] == "Hi Ada, Ngozi here: Friday delivery is fine"  # from the business number
    assert f"Sent to Ada ({reference})" in to(twilio, OPS)[-1]
    assert rasa.events_of(CONVERSATION, "bot")[-1]["metadata"]["author"] == f"whatsapp:{OPS}"  # in the history
    assert grace.turns == ["hello"]  # an ops command never reaches the sales funnel

    customer_writes(twilio, grace, "great, and can you add 2 yards of lace?")
    assert grace.turns == ["hello"] and len(to(twilio, ADA)) == 2  # Grace stays quiet
    asyncio.run(deliver_pending())  # the outbox relays it to the ops number
    relayed = to(twilio, OPS)[-1]
    assert "Ada (+2348033333333): great, and can you add 2 yards of lace?" in relayed
    assert f"R {reference} <your answer>" in relayed

    customer_writes(twilio, grace, f"done {reference}", phone=OPS)
    assert "is back with me" in to(twilio, OPS)[-1]
    with session_scope() as session:
        row = session.scalars(select(Takeover)).one()
        assert row.relay_phone is None and row.handed_back_by == f"whatsapp:{OPS}"
    with session_scope() as session:  # the owners' audit log names the ops number, and the customer by row only
        logged = [(e.actor, e.action, e.target, e.detail) for e in entries(session, "akanraby")]
        customer = f"customer {session.scalars(select(Customer.id).where(Customer.phone == ADA)).one()}"
    assert logged == [(f"whatsapp {OPS}", action, customer, {"via": "whatsapp"})
                      for action in ("handback", "reply_sent", "takeover")]
    assert ADA not in repr(logged)
    customer_writes(twilio, grace, "hello again")
    assert grace.turns == ["hello", "hello again"]  # Grace answers again
    asyncio.run(deliver_pending())
    assert "hello again" not in to(twilio, OPS)[-1]  # nothing relayed after the hand back


def test_only_this_businesss_customers_and_never_over_someone_else(grace_env, rasa, twilio):  # noqa: F811
    grace = Grace()
    reference = make_order("akanraby", ADA, name="Ada")
    kente = make_order("kentehouse", "+233200000077", name="Kofi")
    customer_writes(twilio, grace, "hello")
    customer_writes(twilio, grace, f"R {kente} hi Kofi", phone=OPS)
    assert "I found no customer for" in to(twilio, OPS)[-1]
    customer_writes(twilio, grace, "R +2348099999999 hi stranger", phone=OPS)
    assert "I found no customer for" in to(twilio, OPS)[-1]
    assert to(twilio, "+233200000077") == [] and to(twilio, "+2348099999999") == []

    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, 7, "ngozi@akanraby.test")
    customer_writes(twilio, grace, f"R {reference} I'll take this one", phone=OPS)
    assert "ngozi@akanraby.test has this conversation" in to(twilio, OPS)[-1]
    customer_writes(twilio, grace, f"DONE {reference}", phone=OPS)
    assert "ngozi@akanraby.test has" in to(twilio, OPS)[-1]  # not theirs to give back
    assert len(to(twilio, ADA)) == 1  # only Grace's first answer reached the customer
    with session_scope() as session:
        assert session.scalars(select(Takeover.taken_by)).one() == "ngozi@akanraby.test"
