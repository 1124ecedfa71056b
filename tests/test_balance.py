"""The balance, after the deposit: ops request it, the customer is told what is due and how to pay, a
picture or "I have paid" is its proof, ops verify or reject it as they do the deposit, the order does not
ship while it is due (unless the business takes it on delivery), and one reminder goes out under the
24-hour rule. On two businesses with different currencies and deposits: Lagos (NGN, 50%) and Accra
(GHS, 30%). Time passing is a request moved into the past, never a sleep."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select

from actions.deposit import ActionHandleImage, ActionPaymentRejected, ActionPaymentVerified, ActionRecordPayment
from actions.feedback import ActionAskFeedbackText
from grace.messaging.contacts import record_inbound
from grace.money import format_money
from grace.run.cli import main as cli
from grace.run.outbox import deliver_pending
from grace.shop.balance import BalanceError, request_balance
from grace.shop.customers import get_or_create_customer
from grace.shop.fulfilment import FulfilmentError, change_status
from grace.shop.orders import build_quote, place_order
from grace.shop.payments import reject_payment, verify_payment
from grace.shop.reminders import schedule_balance_reminders
from grace.store import session_scope
from grace.store.models import Contact, Notification, Order, Payment, utcnow
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts

PHONES = {"akanraby": "+2348011111111", "kentehouse": "+233244444444", "kitengenairobi": "+254711111111"}
TWO_BUSINESSES = ["akanraby", "kentehouse"]
PICTURE = {"media": [{"url": "https://media.example.test/proof.jpg", "content_type": "image/jpeg"}]}
BALANCE_PDF = {"media": [{"url": "https://media.example.test/balance.pdf", "content_type": "application/pdf"}]}


def order_of(reference: str) -> Order:
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        session.expunge(order)
        return order


def paid_order(tenant_id: str) -> tuple[str, Chat]:
    """An order placed, its deposit proof sent as a picture in the conversation and verified by ops."""
    tenant = get_registry().get(tenant_id)
    phone = PHONES[tenant_id]
    fabric = next(f for f in tenant.catalog.fabrics if f.stock >= f.min_qty + 2)
    quote = build_quote(tenant, [{"sku": fabric.sku, "qty": fabric.min_qty + 2}], None, tenant.now().date())
    with session_scope() as session:
        reference = place_order(session, tenant, get_or_create_customer(session, tenant.id, phone), quote).reference
    chat = Chat(f"{tenant_id}:{phone}")
    assert reference in texts(chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE))
    with session_scope() as session:
        verify_payment(session, tenant, reference)
    chat.run(ActionPaymentVerified, "", "EXTERNAL_payment_verified",
             entities=[{"entity": "order_ref", "value": reference}])
    return reference, chat


def due_text(reference: str) -> str:
    order = order_of(reference)
    return format_money(order.total_minor - order.amount_paid_minor, order.currency)


def customer_messages(twilio, tenant_id: str) -> list[str]:
    return [m.get("Body") or "" for m in twilio.messages if m["To"] == f"whatsapp:{PHONES[tenant_id]}"]


def ops_alerts() -> list[str]:
    with session_scope() as session:
        return [n.payload["summary"] for n in session.scalars(
            select(Notification).where(Notification.kind == "payment_proof").order_by(Notification.id))]


def ask(tenant_id: str, reference: str) -> None:
    with session_scope() as session:
        request_balance(session, get_registry().get(tenant_id), reference, by="test")


# ------------------------------------------------------------------ the request


@pytest.mark.parametrize("tenant_id", TWO_BUSINESSES)
def test_ops_request_the_balance_and_the_customer_reads_the_amount_how_to_pay_and_the_reference(twilio, tenant_id):
    tenant = get_registry().get(tenant_id)
    record_inbound(tenant_id, PHONES[tenant_id], "whatsapp")
    reference, _ = paid_order(tenant_id)
    order = order_of(reference)
    assert order.amount_paid_minor == order.deposit_minor  # the verified deposit is counted as paid
    due = format_money(order.total_minor - order.deposit_minor, tenant.currency)

    ask(tenant_id, reference)
    asyncio.run(deliver_pending())
    [told] = customer_messages(twilio, tenant_id)
    assert reference in told and f"*{due}*" in told
    assert tenant.payment.account_number in told and tenant.payment.account_name in told
    assert ("sample bank details" in told) == tenant.payment.sample
    assert order_of(reference).balance_requested_at is not None

    with pytest.raises(BalanceError, match="requested at"):  # a second click, or two people at once
        ask(tenant_id, reference)


def test_the_balance_is_not_requested_before_the_deposit_is_verified_nor_twice_paid(grace_env):
    tenant = get_registry().get("akanraby")
    quote = build_quote(tenant, [{"sku": tenant.catalog.fabrics[0].sku, "qty": tenant.catalog.fabrics[0].min_qty}],
                        None, tenant.now().date())
    with session_scope() as session:
        unpaid = place_order(session, tenant, get_or_create_customer(session, tenant.id, "+2348099999999"),
                             quote).reference
    with pytest.raises(BalanceError, match="deposit is not verified"):
        ask("akanraby", unpaid)
    with pytest.raises(BalanceError, match="no order"):
        ask("kentehouse", unpaid)  # another business's order is not found
    with session_scope() as session:
        assert session.scalars(select(Notification).where(Notification.kind == "balance_request")).all() == []


# ------------------------------------------------------------------ the proof


@pytest.mark.parametrize("tenant_id", TWO_BUSINESSES)
def test_a_picture_while_the_balance_is_due_is_its_proof_not_a_style(grace_env, tenant_id):
    reference, chat = paid_order(tenant_id)
    due = due_text(reference)
    reply = texts(chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE))
    assert "balance" in reply and reference in reply and "verify" in reply
    assert "fabrics" not in reply.lower() and "style" not in reply.lower()

    with session_scope() as session:
        payment = session.scalars(select(Payment).order_by(Payment.id.desc())).first()
        assert (payment.kind, payment.status, payment.proof_url) == ("balance", "pending", PICTURE["media"][0]["url"])
        assert format_money(payment.expected_minor, payment.order.currency) == due
    assert order_of(reference).status == "deposit_paid"  # the order stays as it is
    alert = ops_alerts()[-1]
    assert alert.startswith(f"BALANCE proof for order {reference}") and f"balance due {due}" in alert


def test_i_have_paid_in_words_or_a_pdf_is_the_balance_proof_with_the_amount_stated(grace_env):
    reference, chat = paid_order("akanraby")
    due = due_text(reference)
    reply = texts(chat.run(ActionRecordPayment, f"I have paid the balance of {due}", "inform_paid"))
    assert "balance" in reply and reference in reply
    assert f"customer says {due}" in ops_alerts()[-1]

    other, kente = paid_order("kentehouse")
    texts(kente.run(ActionHandleImage, "", "share_image", metadata=BALANCE_PDF))
    with session_scope() as session:
        payment = session.scalars(select(Payment).order_by(Payment.id.desc())).first()
        assert (payment.order.reference, payment.kind, payment.proof_content_type) == (
            other, "balance", "application/pdf")


def test_ops_see_how_the_order_reaches_the_customer_in_the_balance_alert(grace_env):
    reference, chat = paid_order("akanraby")
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.delivery_method, order.delivery_zone = "delivery", "Lekki & Ajah"
        order.delivery_address, order.delivery_fee_minor = "12 Admiralty Way", 450_000
    chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE)
    assert ops_alerts()[-1].endswith("; delivery to Lekki & Ajah (12 Admiralty Way), fee ₦4,500")


# ------------------------------------------------------------------ verify, reject


@pytest.mark.parametrize("tenant_id", TWO_BUSINESSES)
def test_verifying_the_balance_pays_the_order_in_full_and_the_customer_is_told(grace_env, tenant_id):
    tenant = get_registry().get(tenant_id)
    reference, chat = paid_order(tenant_id)
    due = due_text(reference)
    chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE)
    with session_scope() as session:
        verify_payment(session, tenant, reference, by="ops")
    order = order_of(reference)
    assert order.amount_paid_minor == order.total_minor and order.status == "deposit_paid"

    told = texts(chat.run(ActionPaymentVerified, "", "EXTERNAL_payment_verified",
                          entities=[{"entity": "order_ref", "value": reference}]))
    assert "fully paid" in told and reference in told and due in told
    assert format_money(order.total_minor, tenant.currency) in told
    assert "deposit" not in told  # not the deposit's confirmation again
    assert texts(chat.run(ActionAskFeedbackText)) == ""  # the feedback question came with the deposit

    again = texts(chat.run(ActionRecordPayment, "I have paid", "inform_paid"))
    assert "already fully paid" in again and reference in again
    with session_scope() as session:  # nothing more recorded
        assert len(session.scalars(select(Payment).where(Payment.order_id == order.id)).all()) == 2


@pytest.mark.parametrize("tenant_id", TWO_BUSINESSES)
def test_a_rejected_balance_keeps_the_order_and_the_customer_reads_the_reason(grace_env, tenant_id):
    tenant = get_registry().get(tenant_id)
    reference, chat = paid_order(tenant_id)
    due = due_text(reference)
    chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE)
    with session_scope() as session:
        reject_payment(session, tenant, reference, "the transfer has not reached our account", by="ops")
    order = order_of(reference)
    assert order.status == "deposit_paid" and order.amount_paid_minor == order.deposit_minor
    told = texts(chat.run(ActionPaymentRejected, "", "EXTERNAL_payment_rejected",
                          entities=[{"entity": "order_ref", "value": reference}]))
    assert "the transfer has not reached our account" in told and f"*{due}*" in told and "still due" in told
    assert "holding your fabric" not in told  # the deposit's wording is not used


# ------------------------------------------------------------------ shipping


def test_an_order_does_not_ship_while_its_balance_is_due(grace_env):
    tenant = get_registry().get("akanraby")
    reference, chat = paid_order("akanraby")
    due = due_text(reference)
    with session_scope() as session:
        change_status(session, tenant, reference, "ready")  # production steps do not wait for the balance
    for status in ("shipped", "delivered"):
        with pytest.raises(FulfilmentError, match=f"balance of {due} due"), session_scope() as session:
            change_status(session, tenant, reference, status)
    assert order_of(reference).status == "ready"

    chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE)
    with session_scope() as session:
        verify_payment(session, tenant, reference)
    with session_scope() as session:
        change_status(session, tenant, reference, "shipped")
    assert order_of(reference).status == "shipped"


def test_a_business_taking_the_balance_on_delivery_ships_with_it_due(grace_env):
    tenant = get_registry().get("kitengenairobi")
    assert tenant.pay_on_delivery
    reference, _ = paid_order("kitengenairobi")
    order = order_of(reference)
    assert order.total_minor > order.amount_paid_minor
    with session_scope() as session:
        change_status(session, tenant, reference, "shipped")
    assert order_of(reference).status == "shipped"


def test_the_cli_requests_the_balance_and_says_why_it_cannot_ship(grace_env, capsys):
    reference, _ = paid_order("akanraby")
    due = due_text(reference)
    assert cli(["orders", "status", reference, "shipped", "--tenant", "akanraby"]) == 2
    assert f"balance of {due} due" in capsys.readouterr().err
    assert cli(["orders", "request-balance", reference, "--tenant", "akanraby", "--by", "ada"]) == 0
    assert f"Balance of {due} requested for order {reference}" in capsys.readouterr().out
    with session_scope() as session:
        [row] = session.scalars(select(Notification).where(Notification.kind == "balance_request")).all()
        assert row.payload["by"] == "ada" and row.recipients == [f"akanraby:{PHONES['akanraby']}"]
    assert cli(["orders", "request-balance", "KHA-NOPE0", "--tenant", "akanraby"]) == 2
    assert "no order KHA-NOPE0" in capsys.readouterr().err


# ------------------------------------------------------------------ the one reminder


def requested_hours_ago(reference: str, hours: float) -> None:
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.balance_requested_at = utcnow() - timedelta(hours=hours)


@pytest.mark.parametrize("tenant_id", TWO_BUSINESSES)
def test_a_requested_balance_is_reminded_once_a_day_later(twilio, tenant_id):
    record_inbound(tenant_id, PHONES[tenant_id], "whatsapp")
    reference, _ = paid_order(tenant_id)
    due = due_text(reference)
    ask(tenant_id, reference)
    asyncio.run(deliver_pending())
    assert len(customer_messages(twilio, tenant_id)) == 1  # the request; no reminder yet

    requested_hours_ago(reference, 23)
    asyncio.run(deliver_pending())
    assert len(customer_messages(twilio, tenant_id)) == 1
    requested_hours_ago(reference, 25)
    asyncio.run(deliver_pending())
    asyncio.run(deliver_pending())
    [_, reminder] = customer_messages(twilio, tenant_id)
    assert "reminder" in reminder and reference in reminder and f"*{due}*" in reminder
    assert order_of(reference).balance_reminded_at is not None


def test_no_reminder_outside_the_window_without_a_template_nor_while_a_proof_is_with_ops(twilio, grace_env):
    phone = PHONES["akanraby"]
    record_inbound("akanraby", phone, "whatsapp")
    reference, chat = paid_order("akanraby")
    ask("akanraby", reference)
    requested_hours_ago(reference, 30)
    with session_scope() as session:  # the customer last wrote two days ago
        contact = session.scalars(select(Contact).where(Contact.phone == phone)).one()
        contact.last_inbound_at = utcnow() - timedelta(days=2)
    assert schedule_balance_reminders() == 0
    assert order_of(reference).balance_reminded_at is None  # kept for when it can reach them

    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = {"balance_reminder": {"twilio_content_sid": "HX" + "b" * 32}}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    chat.run(ActionHandleImage, "", "share_image", metadata=PICTURE)  # a balance proof is with ops now
    assert schedule_balance_reminders() == 0

    with session_scope() as session:
        reject_payment(session, get_registry().get("akanraby"), reference, "blurred screenshot")
    asyncio.run(deliver_pending())
    [reminder] = [m for m in twilio.messages if m["To"] == f"whatsapp:{phone}"]
    assert reminder["ContentSid"] == "HX" + "b" * 32
    assert json.loads(reminder["ContentVariables"]) == {"1": reference, "2": due_text(reference)}
    assert schedule_balance_reminders() == 0  # once
