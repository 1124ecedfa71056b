"""Ops alerts over WhatsApp from the outbox, under the 24-hour rule, against a local Twilio API."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import yaml
from sqlalchemy import select

from actions.deposit import ActionHandleImage
from grace.messaging.contacts import record_inbound
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Notification, utcnow
from grace.tenancy.registry import get_registry
from grace.whatsapp.delivery import send_proactive
from tests.helpers import Chat
from tests.test_funnel_actions import place_order

OPS = "+2349010000009"
PROOF = "https://media.example.test/akanraby/proof.jpg"


def send_proof() -> str:
    chat = Chat()
    reference = place_order(chat)
    chat.run(ActionHandleImage, "", "share_image", metadata={"media": [{"url": PROOF, "content_type": "image/jpeg"}]})
    return reference


def outbox() -> list[tuple]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.audience == "ops")).all()
        return [(r.kind, r.status, r.last_error) for r in rows]


def test_a_payment_proof_reaches_ops_with_the_screenshot_and_how_to_answer(twilio):
    record_inbound("akanraby", OPS, "whatsapp")  # ops wrote today: the window is open
    reference = send_proof()
    assert asyncio.run(deliver_pending()) == 1
    [alert] = twilio.messages
    assert alert["To"] == f"whatsapp:{OPS}" and alert["From"] == "whatsapp:+2349010000001"
    assert alert["MediaUrl"] == [PROOF]
    assert reference in alert["Body"] and f"APPROVE {reference}" in alert["Body"]
    assert outbox() == [("payment_proof", "sent", None)]
    assert asyncio.run(deliver_pending()) == 0  # sent once


def test_outside_the_window_a_template_is_used_or_the_skip_is_recorded(twilio, grace_env):
    send_proof()
    asyncio.run(deliver_pending())
    assert twilio.messages == []
    [(kind, status, reason)] = outbox()
    assert status == "skipped" and "24-hour" in reason

    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = {"payment_proof": {"twilio_content_sid": "HX0123456789abcdef0123456789abcdef"}}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    reference = send_proof()
    asyncio.run(deliver_pending())
    [alert] = twilio.messages
    assert alert["ContentSid"] == "HX0123456789abcdef0123456789abcdef" and not alert["Body"]
    variables = json.loads(alert["ContentVariables"])
    # a picture alone states no amount: ops are not shown the expected deposit as if the customer said it
    assert variables["1"] == reference and variables["2"].startswith("not stated (deposit due ₦")


def test_a_failing_provider_leaves_the_alert_pending_for_the_next_pass(twilio):
    record_inbound("akanraby", OPS, "whatsapp")
    send_proof()
    twilio.fail_next(503, count=4)
    asyncio.run(deliver_pending())
    [(_, status, error)] = outbox()
    assert status == "pending" and "503" in error
    asyncio.run(deliver_pending())
    assert outbox()[0][1] == "sent" and len(twilio.messages) == 1


def test_opted_out_numbers_get_nothing_until_they_write_again(twilio):
    tenant = get_registry().get("akanraby")
    customer = "+2348011111111"
    record_inbound("akanraby", customer, "whatsapp", stop=True)
    outcome = asyncio.run(send_proactive(tenant, customer, [{"text": "Your order is ready"}], "order_update", []))
    assert outcome.status == "skipped" and outcome.detail == "opted out" and twilio.messages == []
    record_inbound("akanraby", customer, "whatsapp")
    outcome = asyncio.run(send_proactive(tenant, customer, [{"text": "Your order is ready"}], "order_update", []))
    assert outcome.status == "sent" and twilio.messages[0]["Body"] == "Your order is ready"


def test_an_unpaid_order_is_reminded_once_and_a_paid_one_never(twilio):
    from datetime import timedelta

    from grace.store.models import Order

    customer = "+2348011111111"
    record_inbound("akanraby", customer, "whatsapp")  # the customer is on WhatsApp
    reference = place_order(Chat())
    asyncio.run(deliver_pending())
    assert twilio.messages == []  # not due yet
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.created_at -= timedelta(hours=7)
    asyncio.run(deliver_pending())
    asyncio.run(deliver_pending())
    [reminder] = twilio.messages
    assert reminder["To"] == f"whatsapp:{customer}" and reference in reminder["Body"] and "₦" in reminder["Body"]

    paid = Chat("akanraby:+2348022222222")
    record_inbound("akanraby", "+2348022222222", "whatsapp")
    paid_reference = place_order(paid)
    paid.run(ActionHandleImage, "", "share_image", metadata={"media": [{"url": PROOF, "content_type": "image/jpeg"}]})
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == paid_reference)).one()
        order.created_at -= timedelta(hours=7)
    asyncio.run(deliver_pending())
    assert [m for m in twilio.messages if m["To"] == "whatsapp:+2348022222222"] == []


def test_a_reply_twilio_refused_is_sent_again_by_the_outbox(twilio):
    from grace.whatsapp.delivery import provider_for, send_replies

    tenant = get_registry().get("akanraby")
    customer = "+2348033333333"
    record_inbound("akanraby", customer, "whatsapp")
    provider, sender = provider_for(tenant, "whatsapp")
    twilio.fail_next(503, count=4)  # every retry of this turn fails
    reply = [{"text": "Here are our adire fabrics"}]
    assert asyncio.run(send_replies(provider, tenant, sender, customer, reply)) is False
    assert twilio.messages == []
    asyncio.run(deliver_pending())
    [sent] = twilio.messages
    assert sent["To"] == f"whatsapp:{customer}" and sent["Body"] == "Here are our adire fabrics"
    asyncio.run(deliver_pending())
    assert len(twilio.messages) == 1


def test_alerts_a_dead_worker_left_half_sent_go_out_again(twilio):
    from datetime import timedelta

    from grace.run.outbox import release_stuck
    from grace.store.models import utcnow

    record_inbound("akanraby", OPS, "whatsapp")
    send_proof()
    with session_scope() as session:
        row = session.scalars(select(Notification).where(Notification.audience == "ops")).one()
        row.status, row.created_at = "sending", utcnow() - timedelta(minutes=30)  # claimed, then the worker died
    assert asyncio.run(deliver_pending()) == 0
    assert release_stuck() == 1
    asyncio.run(deliver_pending())
    assert outbox()[0][1] == "sent" and len(twilio.messages) == 1


def test_a_notification_due_later_waits_until_its_time(twilio):
    record_inbound("akanraby", OPS, "whatsapp")
    send_proof()
    with session_scope() as session:
        row = session.scalars(select(Notification).where(Notification.audience == "ops")).one()
        row.not_before = utcnow() + timedelta(minutes=30)
    assert asyncio.run(deliver_pending()) == 0 and twilio.messages == []
    with session_scope() as session:
        session.scalars(select(Notification).where(Notification.audience == "ops")).one().not_before = utcnow()
    assert asyncio.run(deliver_pending()) == 1 and len(twilio.messages) == 1


def test_a_number_twilio_refuses_as_not_on_whatsapp_is_not_retried_and_the_reason_is_kept(twilio):
    from grace.messaging.notifications import HANDOFF, notify_ops
    from grace.store.models import OutboundMessage

    record_inbound("akanraby", OPS, "whatsapp")
    twilio.refuse_numbers(63003, OPS)  # Twilio refuses the create call itself: 400, code 63003
    tenant = get_registry().get("akanraby")
    with session_scope() as session:
        notify_ops(session, tenant, HANDOFF, "Ada wants a person")
    asyncio.run(deliver_pending())
    [(_, status, error)] = outbox()
    assert status == "failed" and error.startswith("not a WhatsApp number: HTTP 400") and "63003" in error
    asyncio.run(deliver_pending())
    assert [r["status"] for r in twilio.requests] == [400]  # failed at once: no retry, now or on the next pass
    with session_scope() as session:
        [refused] = session.scalars(select(OutboundMessage)).all()
        assert (refused.to_phone, refused.kind, refused.status, refused.error_code) == (OPS, HANDOFF, "failed",
                                                                                        "63003")
        notify_ops(session, tenant, HANDOFF, "Bola wants a person")
    asyncio.run(deliver_pending())
    assert outbox()[1][1:] == ("skipped", "not a WhatsApp number")
    assert len(twilio.requests) == 1  # not asked again
