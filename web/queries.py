"""Tenant-scoped reads shared by the pages and the API. Every query filters on the tenant: an id
of another tenant is simply not found (404), so nobody learns that it exists."""
from __future__ import annotations

from datetime import datetime

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grace.money import format_money
from grace.shop.balance import balance_due
from grace.shop.fulfilment import FLOW
from grace.shop.orders import order_by_reference
from grace.store.models import Customer, Handoff, Order, Payment
from grace.tenancy.registry import Tenant

PAYMENT_STATUSES = ("pending", "verified", "rejected")
ORDER_STATUSES = ("awaiting_payment", "payment_submitted", "deposit_paid", "in_production", "ready", "shipped",
                  "delivered", "cancelled", "expired")
NEXT_STATUSES = FLOW[1:]  # the steps a paid order moves through


def payment_or_404(session: Session, tenant_id: str, payment_id: int) -> Payment:
    payment = session.execute(select(Payment).where(
        Payment.tenant_id == tenant_id, Payment.id == payment_id)).scalar_one_or_none()
    if payment is None:
        abort(404)
    return payment


def order_or_404(session: Session, tenant_id: str, reference: str) -> Order:
    order = order_by_reference(session, tenant_id, reference)
    if order is None:
        abort(404)
    return order


def customer_or_404(session: Session, tenant_id: str, customer_id: int) -> Customer:
    customer = session.execute(select(Customer).where(
        Customer.tenant_id == tenant_id, Customer.id == customer_id)).scalar_one_or_none()
    if customer is None:
        abort(404)
    return customer


def customers(session: Session, tenant_id: str) -> list[tuple[Customer, int]]:
    """Customers with their number of orders, most recently seen first."""
    counts = (select(Order.customer_id, func.count(Order.id).label("n")).where(Order.tenant_id == tenant_id)
              .group_by(Order.customer_id).subquery())
    rows = session.execute(
        select(Customer, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.customer_id == Customer.id)
        .where(Customer.tenant_id == tenant_id).order_by(Customer.last_seen_at.desc())).all()
    return [(customer, n) for customer, n in rows]


def handoffs(session: Session, tenant_id: str, status: str = "open") -> list[Handoff]:
    return list(session.scalars(select(Handoff).where(Handoff.tenant_id == tenant_id, Handoff.status == status)
                                .order_by(Handoff.id)))


def money(tenant: Tenant, minor: int | None) -> str | None:
    return None if minor is None else format_money(minor, tenant.currency)


def payment_json(tenant: Tenant, payment: Payment) -> dict:
    return {
        "id": payment.id, "order_reference": payment.order.reference, "status": payment.status,
        "expected_deposit_minor": payment.expected_minor, "expected_deposit": money(tenant, payment.expected_minor),
        "stated_amount_minor": payment.stated_amount_minor, "stated_amount": money(tenant, payment.stated_amount_minor),
        "currency": tenant.currency, "proof_url": payment.proof_url, "message_text": payment.message_text,
        "reason": payment.reason, "created_at": payment.created_at.isoformat() + "Z",
        "late": bool(payment.late),  # proof after the hold expired: verifying takes the fabric again, or is refused
        "kind": payment.kind,  # what it pays: the deposit or the balance (expected_deposit_* is then the balance due)
        "provider": payment.provider, "provider_reference": payment.provider_reference,
        # what OCR read off the proof picture, advice for ops (never a verdict on the payment)
        "reading": payment.reading, "reading_verdict": payment.reading_verdict,
        "reused_payment_id": payment.reused_payment_id,
    }


def order_json(tenant: Tenant, order: Order) -> dict:
    return {
        "reference": order.reference, "status": order.status, "currency": order.currency,
        "customer": {"name": order.customer.name, "phone": order.customer.phone},
        "total_minor": order.total_minor, "total": money(tenant, order.total_minor),
        "deposit_minor": order.deposit_minor, "deposit": money(tenant, order.deposit_minor),
        "balance_minor": order.balance_minor, "promo_code": order.promo_code,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity, "unit": line.unit,
                   "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor}
                  for line in order.lines],
        "created_at": order.created_at.isoformat() + "Z",
        "amount_paid_minor": order.amount_paid_minor, "amount_paid": money(tenant, order.amount_paid_minor),
        "balance_due_minor": balance_due(order), "balance_due": money(tenant, balance_due(order)),
        "balance_requested_at": _at(order.balance_requested_at), "balance_reminded_at": _at(order.balance_reminded_at),
        "delivery": {"method": order.delivery_method, "zone": order.delivery_zone, "address": order.delivery_address,
                     "fee_minor": order.delivery_fee_minor} if order.delivery_method else None,
    }


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None
