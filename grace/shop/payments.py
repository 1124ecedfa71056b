"""Proof of payment from customers, verification by the operations team."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import notify_customer, notify_ops
from grace.money import MoneyError, format_money, to_minor
from grace.shop.orders import order_by_reference
from grace.shop.stock import OutOfStock, hold_is_live, reserve, set_reservations
from grace.store.models import Order, Payment, utcnow
from grace.tenancy.registry import Tenant

_AMOUNT = re.compile(r"(?:₦|ngn|n|#)?\s*(\d{1,3}(?:,\d{3})+|\d{3,})(?:\.(\d{1,2}))?\s*(k\b)?", re.I)


class PaymentError(ValueError):
    """The operation cannot be done; the message says why, for ops."""


class AlreadyDecided(PaymentError):
    """Someone else (another ops person, a WhatsApp command, the API) decided the payment first."""


def payments_of(session: Session, tenant_id: str, status: str | None = None,
                order_id: int | None = None) -> list[Payment]:
    """The tenant's payments, oldest first: of one status and of one order when given."""
    query = select(Payment).where(Payment.tenant_id == tenant_id)
    if status:
        query = query.where(Payment.status == status)
    if order_id is not None:
        query = query.where(Payment.order_id == order_id)
    return list(session.scalars(query.order_by(Payment.id)))


def stated_amount(text: str, currency: str) -> int | None:
    """An amount the customer wrote ("I paid 45,000", "sent 45k"), in minor units."""
    best = None
    for match in _AMOUNT.finditer(text or ""):
        whole, cents, thousand = match.groups()
        try:
            value = to_minor(whole + (f".{cents}" if cents else ""), currency)
        except MoneyError:
            continue
        if thousand:
            value *= 1000
        best = max(best or 0, value)
    return best


@dataclass
class ProofResult:
    payment: Payment
    stock_problem: bool  # the hold had lapsed and the stock is gone


def record_proof(session: Session, tenant: Tenant, order: Order, *, proof_url: str | None,
                 content_type: str | None, text: str | None) -> ProofResult:
    """Record a payment pending verification, keep the stock for it, tell ops."""
    stock_problem = False
    if order.status == "awaiting_payment" and not hold_is_live(session, order):
        # The hold lapsed: hold the goods again if they are still there.
        set_reservations(session, order, "released")
        try:
            reserve(session, tenant, order, {line.sku: line.quantity for line in order.lines},
                    status="committed")
        except OutOfStock:
            stock_problem = True
    else:
        set_reservations(session, order, "committed")
    amount = stated_amount(text or "", order.currency)
    payment = Payment(tenant_id=tenant.id, order_id=order.id, status="pending", proof_url=proof_url,
                      proof_content_type=content_type, message_text=(text or "")[:2000],
                      stated_amount_minor=amount, expected_minor=order.deposit_minor)
    session.add(payment)
    order.status = "payment_submitted"
    session.flush()
    money = lambda minor: format_money(minor, order.currency)  # noqa: E731
    summary = (f"Payment proof for order {order.reference} from {order.customer.name or order.customer.phone}: "
               f"deposit due {money(order.deposit_minor)}"
               + (f", customer says {money(amount)}" if amount else "")
               + (" (screenshot attached)" if proof_url else " (no screenshot)")
               + (" — WARNING: hold had expired and stock is no longer available" if stock_problem else ""))
    notify_ops(session, tenant, "payment_proof", summary, order_reference=order.reference,
               payment_id=payment.id, expected_minor=order.deposit_minor, stated_minor=amount,
               proof_url=proof_url, customer=order.customer.phone, stock_problem=stock_problem)
    return ProofResult(payment, stock_problem)


def _pending_payment(session: Session, tenant_id: str, reference: str) -> tuple[Order, Payment]:
    order = order_by_reference(session, tenant_id, reference)
    if order is None:
        raise PaymentError(f"no order {reference.upper()} for tenant {tenant_id}")
    payment = session.execute(
        select(Payment).where(Payment.tenant_id == tenant_id, Payment.order_id == order.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(1)
    ).scalar_one_or_none()
    if payment is None:
        raise PaymentError(f"order {order.reference} has no payment proof yet")
    if payment.status != "pending":
        raise already_decided(order.reference, payment)
    return order, payment


def already_decided(reference: str, payment: Payment) -> AlreadyDecided:
    by = f" by {payment.decided_by}" if payment.decided_by else ""
    return AlreadyDecided(f"the payment for order {reference} was already {payment.status}{by}")


def _decide(session: Session, order: Order, payment: Payment, status: str, by: str, reason: str | None = None) -> None:
    """Switch the payment from pending in one conditional UPDATE: of two people deciding at once, the
    second finds it no longer pending (AlreadyDecided) instead of overwriting the first's decision."""
    taken = session.execute(update(Payment).where(Payment.id == payment.id, Payment.status == "pending").values(
        status=status, decided_at=utcnow(), decided_by=by, reason=reason))
    if taken.rowcount != 1:
        session.refresh(payment)
        raise already_decided(order.reference, payment)


def verify_payment(session: Session, tenant: Tenant, reference: str, by: str = "ops") -> Payment:
    order, payment = _pending_payment(session, tenant.id, reference)
    _decide(session, order, payment, "verified", by)
    order.status = "deposit_paid"
    set_reservations(session, order, "committed")
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                    "payment_verified", order_reference=order.reference)
    return payment


def reject_payment(session: Session, tenant: Tenant, reference: str, reason: str, by: str = "ops") -> Payment:
    if not reason.strip():
        raise PaymentError("a rejection needs a reason the customer can act on")
    order, payment = _pending_payment(session, tenant.id, reference)
    _decide(session, order, payment, "rejected", by, reason.strip())
    order.status = "awaiting_payment"
    # Give the customer a fresh hold to pay again.
    order.hold_expires_at = utcnow() + timedelta(hours=tenant.hold_hours)
    set_reservations(session, order, "held", order.hold_expires_at)
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                    "payment_rejected", order_reference=order.reference, reason=payment.reason)
    return payment
