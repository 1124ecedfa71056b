"""A gentle nudge when a confirmed order has waited `payment_reminder_hours` without proof.

Once per order, only while its hold is live (after that the fabric may be
gone), and only to customers reachable on WhatsApp. The reminder is an outbox
row, delivered by the outbox worker like every proactive message.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from grace.errors import GraceError
from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import PAYMENT_REMINDER, notify_customer
from grace.store import session_scope
from grace.store.models import Contact, Notification, Order, utcnow
from grace.tenancy.registry import get_registry


def schedule_payment_reminders(now: datetime | None = None) -> int:
    """Write a reminder for every order due one; returns how many were written."""
    now = now or utcnow()
    registry = get_registry()
    written = 0
    for tenant_id in registry.ids():
        try:
            tenant = registry.get(tenant_id)
        except GraceError:
            continue
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
