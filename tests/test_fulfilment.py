"""After the deposit: production, shipping (stock leaves the catalog) and delivery, each told to the customer."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from actions.deposit import ActionHandleImage
from actions.feedback import ActionOrderDelivered
from grace.messaging.contacts import record_inbound
from grace.run.outbox import deliver_pending
from grace.shop.fulfilment import FulfilmentError, change_status
from grace.shop.payments import verify_payment
from grace.shop.stock import available_stock
from grace.store import session_scope
from grace.store.models import Notification, Order
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts
from tests.test_funnel_actions import place_order
from tests.test_outbox import PROOF

CUSTOMER = "+2348011111111"


def paid_order(chat: Chat) -> tuple[str, str, int]:
    """(reference, sku, quantity) of an order whose deposit ops verified."""
    reference = place_order(chat)
    chat.run(ActionHandleImage, "", "share_image", metadata={"media": [{"url": PROOF, "content_type": "image/jpeg"}]})
    with session_scope() as session:
        verify_payment(session, get_registry().get("akanraby"), reference)
        line = session.scalars(select(Order).where(Order.reference == reference)).one().lines[0]
        return reference, line.sku, line.quantity


def pay_balance(chat: Chat, reference: str) -> None:
    """The customer sends the balance proof and ops verify it: the order may ship."""
    chat.run(ActionHandleImage, "", "share_image", metadata={"media": [{"url": PROOF, "content_type": "image/jpeg"}]})
    with session_scope() as session:
        verify_payment(session, get_registry().get("akanraby"), reference)


def move(reference: str, status: str) -> None:
    with session_scope() as session:
        change_status(session, get_registry().get("akanraby"), reference, status)


def test_each_step_is_told_on_whatsapp_and_shipping_takes_the_stock(twilio):
    record_inbound("akanraby", CUSTOMER, "whatsapp")
    chat = Chat()
    reference, sku, quantity = paid_order(chat)
    pay_balance(chat, reference)
    tenant = get_registry().get("akanraby")
    stock_before = tenant.catalog.get(sku).stock
    with session_scope() as session:
        available_before = available_stock(session, tenant, [sku])[sku]

    move(reference, "in_production")
    move(reference, "shipped")  # "ready" may be skipped
    asyncio.run(deliver_pending())
    told = [m["Body"] for m in twilio.messages if m["To"] == f"whatsapp:{CUSTOMER}"]
    assert len(told) == 2 and "in production" in told[0] and "on its way" in told[1]
    assert all(reference in body for body in told)

    tenant = get_registry().get("akanraby")  # the catalog file changed: read again, no restart
    assert tenant.catalog.get(sku).stock == stock_before - quantity
    with session_scope() as session:
        assert available_stock(session, tenant, [sku])[sku] == available_before  # not counted twice


def test_status_only_moves_forward_and_only_after_the_deposit(grace_env):
    chat = Chat()
    unpaid = place_order(chat)
    with pytest.raises(FulfilmentError, match="not verified"):
        move(unpaid, "in_production")
    reference, _, _ = paid_order(Chat("akanraby:+2348022222222"))
    move(reference, "ready")
    with pytest.raises(FulfilmentError, match="already ready"):
        move(reference, "in_production")
    with pytest.raises(FulfilmentError, match="unknown status"):
        move(reference, "lost")
    with pytest.raises(FulfilmentError, match="no order"):
        move("AKA-NOPE0", "ready")


def test_delivery_is_told_in_the_conversation_which_then_asks_for_feedback(grace_env):
    chat = Chat()
    reference, _, _ = paid_order(chat)
    pay_balance(chat, reference)
    move(reference, "delivered")
    with session_scope() as session:
        kinds = [n.kind for n in session.scalars(select(Notification).where(Notification.audience == "customer"))]
    assert "order_delivered" in kinds
    told = texts(chat.run(ActionOrderDelivered, "", "EXTERNAL_order_delivered",
                          entities=[{"entity": "order_ref", "value": reference}]))
    assert "delivered" in told and reference in told and chat.slots["funnel_stage"] == "paid"
