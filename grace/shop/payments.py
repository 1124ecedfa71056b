"""Proof of payment from customers, verification by the operations team."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import notify_customer, notify_ops
from grace.money import exponent, format_money
from grace.shop.orders import order_by_reference
from grace.shop.stock import OutOfStock, hold_is_live, reserve, set_reservations
from grace.store.models import Order, Payment, utcnow
from grace.tenancy.registry import Tenant
from grace.understanding.amounts import Amount, find_money

# Words that say an amount is the one paid, before it ("I don pay 45k", "sent GHS 84", "Amt: NGN45,000",
# Swahili/Sheng "nimetuma 12k", Twi "matua", Yoruba "mo ti san", Hausa "na biya") or after it
# ("Ksh12,600.00 sent to", "45k don enter").
_PAID = (r"paid|pay|payed|sent|send|transfer|transferred|transfered|tranfer|trf|tfr|deposit|deposited|credited"
         r"|debited|amt|amount|payment|lipa|nimelipa|nimelipia|nimetuma|nimekutumia|nimesend|nimepay|nimetransfer"
         r"|nimeweka|tumetuma|matua|tua|mede|san|biya|enter|entered|successful")
_PAID_BEFORE = re.compile(rf"\b(?<!will )(?<!go )(?<!'ll )(?<!to )(?<!shall )(?<!fit )(?:{_PAID})\b", re.I)
_PAID_AFTER = re.compile(rf"^\W*(?:\w+\W+){{0,2}}?(?<!will )(?<!go )(?<!'ll )(?<!to )(?:{_PAID})\b", re.I)
# What an amount is when it is not the one paid: the account's balance, a fee, a limit, what is left to pay.
_NOT_PAID_BEFORE = re.compile(
    r"(?:\b(?:bal|balance)\b\s*(?:(?:is|was|now)\b|[:=])[\s:=-]*(?:is\s*)?"
    r"|\b(?:fees?|charges?|charged|cost|tax|vat|e-?levy|levy|commission|limit)\b\W*(?:\w+\W+)?)$", re.I)
_NOT_PAID_AFTER = re.compile(r"^\W*(?:remaining|left|outstanding|balance|more|to go|fee|charges?)\b", re.I)


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
    """The amount the customer says they paid, in minor units of the order's `currency`: "I don pay 45k",
    "Transfer of N45,000 to 0123456789" (never the account, a phone, a date, a time, a reference or
    transaction id), a pasted bank alert or M-Pesa/MoMo confirmation (the amount sent, not the balance
    or fee). Of several amounts the first said to be paid or sent, else the first. A bare number
    ("I paid 45000") counts only when it is the only number in the text and plausible. None when no
    amount is stated, or when it is in another currency (never converted)."""
    text = text or ""
    amounts = find_money(text)
    if not amounts:
        bare = [a for a in find_money(text, bare=True) if not a.marked]
        numbers = [t for t in text.split() if any(c.isdigit() for c in t) and not any(c.isalpha() for c in t)]
        if len(bare) == 1 and len(numbers) == 1 and _plausible(bare[0], currency):
            amounts = bare
    paid: list[Amount] = []
    other: list[Amount] = []
    for k, amount in enumerate(amounts):
        start = max(amounts[k - 1].end if k else 0, amount.start - 40)
        end = min(amounts[k + 1].start if k + 1 < len(amounts) else len(text), amount.end + 25)
        ahead, behind = text[start:amount.start], text[amount.end:end]
        if amount.major <= 0 or _NOT_PAID_BEFORE.search(ahead) or _NOT_PAID_AFTER.match(behind):
            continue  # a balance, a fee, what is left to pay
        (paid if _PAID_BEFORE.search(ahead) or _PAID_AFTER.match(behind) else other).append(amount)
    chosen = paid or other
    return chosen[0].minor(currency) if chosen else None  # the first paid one, else the first


def _plausible(amount: Amount, currency: str) -> bool:
    """A bare number that could be a deposit: ten major units or more, below ten million."""
    minor = amount.minor(currency)
    return minor is not None and 10 * 10 ** exponent(currency) <= minor < 10_000_000 * 10 ** exponent(currency)


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
               + (f", customer says {money(amount)}" if amount is not None else "")
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
