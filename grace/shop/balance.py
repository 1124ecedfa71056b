"""The balance: what is left to pay once the deposit is verified.

An order keeps what the customer has paid so far (amount_paid_minor: verified payments, the deposit then
the balance); the balance due is the total less that. Ops request it (dashboard, API, CLI): the customer
is told on WhatsApp what is due and how to pay, and is reminded once if it is still due a day later
(grace.shop.reminders). A picture, PDF or "I have paid" while it is due is the balance proof
(grace.shop.payments.record_proof), verified or rejected by ops as a deposit is. The order does not ship
while a balance is due, unless the business takes the balance on delivery (`pay_on_delivery`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import BALANCE_REQUEST, notify_customer
from grace.money import format_money
from grace.shop.orders import order_by_reference
from grace.store.audit import Actor, record_by
from grace.store.models import Order, Payment, utcnow
from grace.tenancy.registry import Tenant

# An order whose deposit ops verified, in the order it moves through (grace.shop.fulfilment's FLOW).
DEPOSIT_VERIFIED = ("deposit_paid", "in_production", "ready", "shipped", "delivered")
# The one reminder of a requested balance goes this long after the request.
REMINDER_AFTER = timedelta(hours=24)
# A request sent this recently is not sent again: two people clicking at once, or a double click, would
# otherwise send the customer the same message twice.
REQUEST_AGAIN_AFTER = timedelta(hours=1)


class BalanceError(GraceError):
    """The balance cannot be requested; the message says why, for ops."""


def balance_due(order: Order) -> int:
    """What the customer still owes, in minor units (never below zero)."""
    return max(0, order.total_minor - (order.amount_paid_minor or 0))


def owes_balance(order: Order) -> bool:
    """The deposit is verified and something is left to pay."""
    return order.status in DEPOSIT_VERIFIED and balance_due(order) > 0


def orders_owing_balance(session: Session, tenant_id: str, customer_id: int) -> list[Order]:
    """The customer's orders past the deposit with a balance due, the latest requested (else placed) first."""
    orders = session.scalars(select(Order).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status.in_(DEPOSIT_VERIFIED),
        Order.total_minor > Order.amount_paid_minor,
    ).order_by(Order.created_at.desc(), Order.id.desc())).all()
    return sorted(orders, key=lambda o: o.balance_requested_at is None)  # stable: requested ones first


def latest_fully_paid(session: Session, tenant_id: str, customer_id: int) -> Order | None:
    return session.scalars(select(Order).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status.in_(DEPOSIT_VERIFIED),
        Order.amount_paid_minor >= Order.total_minor,
    ).order_by(Order.created_at.desc(), Order.id.desc()).limit(1)).first()


def pending_balance_payment(session: Session, order: Order) -> Payment | None:
    return session.scalars(select(Payment).where(
        Payment.tenant_id == order.tenant_id, Payment.order_id == order.id, Payment.kind == "balance",
        Payment.status == "pending").limit(1)).first()


def request_balance(session: Session, tenant: Tenant, reference: str, by: str = "ops",
                    now: datetime | None = None, actor: Actor | None = None) -> Order:
    """Ask the customer for the balance of an order whose deposit is verified: they are told on WhatsApp
    the amount due, how to pay and the order's reference. BalanceError says why it cannot be asked. The
    audit entry names `actor` (else `by`) and is written in the request's own transaction."""
    now = now or utcnow()
    order = order_by_reference(session, tenant.id, reference)
    if order is None:
        raise BalanceError(f"no order {reference.upper()} for {tenant.name}")
    if order.status not in DEPOSIT_VERIFIED:
        raise BalanceError(f"order {order.reference} is {order.status.replace('_', ' ')}: "
                           "its deposit is not verified yet")
    due = balance_due(order)
    if due <= 0:
        raise BalanceError(f"order {order.reference} is fully paid: there is no balance to request")
    if pending_balance_payment(session, order) is not None:
        raise BalanceError(f"the customer's balance payment for order {order.reference} is waiting for "
                           "verification: verify or reject it instead")
    taken = session.execute(update(Order).where(
        Order.id == order.id, Order.tenant_id == tenant.id,
        or_(Order.balance_requested_at.is_(None), Order.balance_requested_at <= now - REQUEST_AGAIN_AFTER),
    ).values(balance_requested_at=now).execution_options(synchronize_session=False))
    session.refresh(order)
    if taken.rowcount != 1:
        raise BalanceError(f"the balance of order {order.reference} was requested at "
                           f"{order.balance_requested_at:%H:%M} UTC already")
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone), BALANCE_REQUEST,
                    order_reference=order.reference, balance_minor=due, customer_name=order.customer.name, by=by)
    record_by(session, tenant.id, actor or Actor(by), "balance_requested", order.reference, {"balance_minor": due})
    return order


def describe_delivery(order: Order) -> str:
    """How the order reaches the customer, for ops ("delivery to Lekki (12 Admiralty Way), fee ₦3,000"),
    or "" when the order has no delivery details."""
    if not order.delivery_method:
        return ""
    if order.delivery_method == "pickup":
        return "pickup"
    text = "delivery" + (f" to {order.delivery_zone}" if order.delivery_zone else "")
    if order.delivery_address:
        text += f" ({order.delivery_address})"
    if order.delivery_fee_minor:
        text += f", fee {format_money(order.delivery_fee_minor, order.currency)}"
    return text
