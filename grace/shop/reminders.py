"""What the outbox worker checks on every pass: unpaid orders to remind, and unpaid orders to expire.

A gentle nudge when a confirmed order has waited `payment_reminder_hours` without proof:
once per order, only while its hold is live (after that the fabric may be gone), and only
to customers reachable on WhatsApp.

When the hold lapses (the tenant's `hold_hours` after the order, or after a rejected proof)
the order expires: its stock goes back on sale and the customer is told, once, even when
several workers sweep at once (grace.shop.stock.expire_order decides in one conditional
UPDATE).

A requested balance still due a day later (grace.shop.balance.REMINDER_AFTER) gets one reminder,
written only when WhatsApp lets it reach the customer: inside their 24-hour window, or outside it
when the business has an approved `balance_reminder` template. Until then it waits (the customer may
write again), and a balance proof with ops holds it back. The messages are outbox rows, delivered
by the outbox worker like every proactive message, under WhatsApp's 24-hour rule.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grace.messaging.contacts import may_message
from grace.messaging.inbound import conversation_id, is_whatsapp_customer
from grace.messaging.notifications import BALANCE_REMINDER, ORDER_EXPIRED, PAYMENT_REMINDER, notify_customer
from grace.shop.balance import DEPOSIT_VERIFIED, REMINDER_AFTER, balance_due, pending_balance_payment
from grace.shop.stock import expire_order
from grace.store import session_scope
from grace.store.models import Contact, Notification, Order, utcnow
from grace.tenancy.catalog import line_in_words, unit_for
from grace.tenancy.registry import Tenant, get_registry


def schedule_payment_reminders(now: datetime | None = None) -> int:
    """Write a reminder for every order due one; returns how many were written."""
    now = now or utcnow()
    written = 0
    for tenant in get_registry().serving():
        if not tenant.payment_reminder_hours:
            continue
        with session_scope() as session:
            payloads = session.scalars(select(Notification.payload).where(
                Notification.tenant_id == tenant.id, Notification.kind == PAYMENT_REMINDER)).all()
            reminded = {payload.get("order_reference") for payload in payloads}
            due = session.scalars(select(Order).where(
                Order.tenant_id == tenant.id, Order.status == "awaiting_payment",
                Order.created_at <= now - timedelta(hours=tenant.payment_reminder_hours),
                Order.hold_expires_at > now)).all()
            on_whatsapp = set(session.scalars(select(Contact.phone).where(Contact.tenant_id == tenant.id)).all())
            for order in due:
                if order.reference in reminded or order.customer.phone not in on_whatsapp:
                    continue
                hours_left = max(1, int((order.hold_expires_at - now).total_seconds() // 3600))
                notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone), PAYMENT_REMINDER,
                                order_reference=order.reference, deposit_minor=order.deposit_minor,
                                hours_left=hours_left, customer_name=order.customer.name)
                written += 1
    return written


def schedule_balance_reminders(now: datetime | None = None) -> int:
    """Write the one reminder of every requested balance still due after REMINDER_AFTER, when it can reach
    the customer; returns how many were written. Each order's reminder is claimed by one conditional
    UPDATE (balance_reminded_at), so several workers sweeping at once write it once."""
    now = now or utcnow()
    written = 0
    for tenant in get_registry().serving():
        has_template = bool((tenant.extra.get("whatsapp_templates") or {}).get(BALANCE_REMINDER))
        with session_scope() as session:
            due = session.scalars(select(Order).where(
                Order.tenant_id == tenant.id, Order.status.in_(DEPOSIT_VERIFIED),
                Order.total_minor > Order.amount_paid_minor, Order.balance_reminded_at.is_(None),
                Order.balance_requested_at <= now - REMINDER_AFTER)).all()
            for order in due:
                permission = may_message(session, tenant.id, order.customer.phone, now)
                if permission.channel is None or permission.why_not == "opted_out":
                    continue  # never wrote on WhatsApp, or asked for no more messages
                if not (permission.free_text or has_template) or pending_balance_payment(session, order) is not None:
                    continue
                claimed = session.execute(update(Order).where(
                    Order.id == order.id, Order.tenant_id == tenant.id, Order.balance_reminded_at.is_(None),
                ).values(balance_reminded_at=now).execution_options(synchronize_session=False))
                if claimed.rowcount != 1:
                    continue  # another worker reminded it first
                notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                                BALANCE_REMINDER, order_reference=order.reference, balance_minor=balance_due(order),
                                customer_name=order.customer.name)
                written += 1
    return written


def expire_lapsed_orders(now: datetime | None = None) -> int:
    """Expire every unpaid order whose hold has ended by `now` and tell its customer; returns how many
    this call expired (an order another worker expired first is not counted). One transaction per order:
    a worker holds no lock for longer than one order takes."""
    now = now or utcnow()
    expired = 0
    for tenant in get_registry().serving():
        with session_scope() as session:
            due = session.scalars(select(Order.id).where(
                Order.tenant_id == tenant.id, Order.status == "awaiting_payment", Order.hold_expires_at <= now,
            ).order_by(Order.id)).all()
        for order_id in due:
            with session_scope() as session:
                order = session.get(Order, order_id)
                if order is None or not expire_order(session, order, now):
                    continue  # paid or cancelled meanwhile, or another worker expired it
                tell_expired(session, tenant, order)
                expired += 1
    return expired


def tell_expired(session: Session, tenant: Tenant, order: Order) -> None:
    """The customer hears that the order expired and how to order the same again (WhatsApp customers only)."""
    if not is_whatsapp_customer(order.customer.phone):
        return
    items = ", ".join(f"{line.quantity} {unit_for(line.unit, line.quantity)} {line.name}" for line in order.lines)
    first = order.lines[0] if order.lines else None
    example = line_in_words(first.quantity, first.unit, first.name) if first else ""
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone), ORDER_EXPIRED,
                    order_reference=order.reference, items=items, example=example,
                    customer_name=order.customer.name)

