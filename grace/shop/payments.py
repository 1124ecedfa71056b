"""Proof of payment from customers, verification by the operations team."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import notify_customer, notify_ops
from grace.money import exponent, format_money
from grace.shop.balance import balance_due, describe_delivery, owes_balance
from grace.shop.orders import holds_stock, order_by_reference
from grace.shop.stock import (
    OutOfStock,
    available_stock,
    expire_order,
    hold_ended,
    hold_is_live,
    reserve,
    set_reservations,
)
from grace.store.models import Order, Payment, utcnow
from grace.tenancy.catalog import unit_for
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
    late: bool = False  # sent after the order's hold had lapsed: the order expired, nothing is held for it


LATE_WARNING = "proof after the hold expired: check stock before verifying"


def record_proof(session: Session, tenant: Tenant, order: Order, *, proof_url: str | None,
                 content_type: str | None, text: str | None, now: datetime | None = None) -> ProofResult:
    """Record a payment pending verification and tell ops. In time, the order's stock is kept for it.
    After the hold lapsed (the order expired, or expires now if the sweep has not come by), the payment
    is late: recorded and flagged to ops, the order stays expired and holds nothing until ops verify
    (verify_payment takes the fabric again if it is still there). For an order past its deposit with a
    balance due, the proof is the balance's: the order and its stock stay as they are."""
    now = now or utcnow()
    if owes_balance(order):
        return _record_balance_proof(session, tenant, order, proof_url=proof_url, content_type=content_type,
                                     text=text, now=now)
    stock_problem = False
    if order.status == "awaiting_payment" and not claim_in_time(session, order, now):
        expire_order(session, order, now)  # lapsed, and the sweep has not come by yet (or just did)
    late = order.status == "expired"
    quantities = quantities_of(order)
    shortages: dict[str, int] = {}
    if late:
        available = available_stock(session, tenant, quantities)
        shortages = {sku: available[sku] for sku, qty in quantities.items() if qty > available[sku]}
        stock_problem = bool(shortages)
    elif hold_is_live(session, order, now):
        set_reservations(session, order, "committed", keep_released=True)
    else:  # the reservations lapsed though the order's hold had not (older orders): take the goods again
        set_reservations(session, order, "released")
        try:
            reserve(session, tenant, order, quantities, status="committed")
        except OutOfStock:
            stock_problem = True
    amount = stated_amount(text or "", order.currency)
    payment = Payment(tenant_id=tenant.id, order_id=order.id, status="pending", proof_url=proof_url,
                      proof_content_type=content_type, message_text=(text or "")[:2000],
                      stated_amount_minor=amount, expected_minor=order.deposit_minor, late=late, created_at=now)
    session.add(payment)
    if not late:
        order.status = "payment_submitted"
    session.flush()
    money = lambda minor: format_money(minor, order.currency)  # noqa: E731
    summary = (f"Payment proof for order {order.reference} from {order.customer.name or order.customer.phone}: "
               f"deposit due {money(order.deposit_minor)}"
               + (f", customer says {money(amount)}" if amount is not None else "")
               + (" (screenshot attached)" if proof_url else " (no screenshot)"))
    if order.delivery_method:  # what ops prepare once it is verified
        summary += f"; {describe_delivery(order)}"
    if late:
        summary += (f" — LATE: {LATE_WARNING}. The order expired on {hold_ended(tenant, order)}; "
                    + (f"the fabric is no longer all there ({_shortfall(order, shortages)})" if shortages
                       else "the fabric is still in stock now"))
    elif stock_problem:
        summary += " — WARNING: hold had expired and stock is no longer available"
    notify_ops(session, tenant, "payment_proof", summary, order_reference=order.reference,
               payment_id=payment.id, expected_minor=order.deposit_minor, stated_minor=amount,
               proof_url=proof_url, customer=order.customer.phone, stock_problem=stock_problem, late=late)
    return ProofResult(payment, stock_problem, late)


def _record_balance_proof(session: Session, tenant: Tenant, order: Order, *, proof_url: str | None,
                          content_type: str | None, text: str | None, now: datetime) -> ProofResult:
    due = balance_due(order)
    amount = stated_amount(text or "", order.currency)
    payment = Payment(tenant_id=tenant.id, order_id=order.id, kind="balance", status="pending", proof_url=proof_url,
                      proof_content_type=content_type, message_text=(text or "")[:2000],
                      stated_amount_minor=amount, expected_minor=due, created_at=now)
    session.add(payment)
    session.flush()
    money = lambda minor: format_money(minor, order.currency)  # noqa: E731
    delivery = describe_delivery(order)
    summary = (f"BALANCE proof for order {order.reference} ({order.status.replace('_', ' ')}) from "
               f"{order.customer.name or order.customer.phone}: balance due {money(due)}"
               + (f", customer says {money(amount)}" if amount is not None else "")
               + (" (screenshot attached)" if proof_url else " (no screenshot)")
               + (f"; {delivery}" if delivery else ""))
    notify_ops(session, tenant, "payment_proof", summary, order_reference=order.reference,
               payment_id=payment.id, payment_kind="balance", expected_minor=due, stated_minor=amount,
               proof_url=proof_url, customer=order.customer.phone, stock_problem=False, late=False)
    return ProofResult(payment, stock_problem=False)


def claim_in_time(session: Session, order: Order, now: datetime) -> bool:
    """The proof is in time: the order switches to payment_submitted in one conditional UPDATE, so a
    sweep expiring it at the same moment either came first (False: the proof is late) or finds it taken."""
    taken = session.execute(update(Order).where(
        Order.id == order.id, Order.tenant_id == order.tenant_id, Order.status == "awaiting_payment",
        holds_stock(now),
    ).values(status="payment_submitted").execution_options(synchronize_session=False))
    session.refresh(order)
    return taken.rowcount == 1


def quantities_of(order: Order) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for line in order.lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def _shortfall(order: Order, shortages: dict[str, int]) -> str:
    """"Midnight Batik: 3 of 5 yards left" for each fabric the order needs more of than there is."""
    needed = quantities_of(order)
    names = {line.sku: (line.name, line.unit) for line in order.lines}
    parts = []
    for sku, left in shortages.items():
        name, unit = names.get(sku, (sku, ""))
        parts.append(f"{name}: {left} of {needed.get(sku, 0)} {unit_for(unit, needed.get(sku, 0))} left")
    return "; ".join(parts)


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


class StockGone(PaymentError):
    """A late payment cannot be verified: the fabric its expired order needs has been sold meanwhile."""


def verify_payment(session: Session, tenant: Tenant, reference: str, by: str = "ops") -> Payment:
    """The deposit is confirmed: the order is paid and its stock committed. A payment for an expired order
    (a late proof) takes the fabric again first, or raises StockGone saying what is missing. A balance
    payment pays the order in full; its status is unchanged. Either way the customer is told."""
    order, payment = _pending_payment(session, tenant.id, reference)
    if payment.kind == "balance":
        _decide(session, order, payment, "verified", by)
        _add_paid(session, order, balance_due(order))
        notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                        "payment_verified", order_reference=order.reference, payment_kind="balance")
        return payment
    if order.status == "expired":  # nothing is held for it: take the fabric again if it is still there
        try:
            reserve(session, tenant, order, quantities_of(order), status="committed")
        except OutOfStock as exc:
            raise StockGone(f"order {order.reference} expired on {hold_ended(tenant, order)} and its fabric is no "
                            f"longer all there ({_shortfall(order, exc.shortages)}): reject the payment with "
                            "a reason the customer can act on (a refund or an alternative)") from None
    _decide(session, order, payment, "verified", by)
    if order.status != "expired":
        set_reservations(session, order, "committed", keep_released=True)
    order.status = "deposit_paid"
    _add_paid(session, order, order.deposit_minor)
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                    "payment_verified", order_reference=order.reference)
    return payment


def _add_paid(session: Session, order: Order, amount: int) -> None:
    """Add a verified payment to what the order has paid, never past its total. In the database, so two
    verified payments of one order (each decided once by _decide) both count."""
    paid = Order.amount_paid_minor + amount
    session.flush()  # the order's own changes first: the refresh below reads it back whole
    session.execute(update(Order).where(Order.id == order.id, Order.tenant_id == order.tenant_id).values(
        amount_paid_minor=case((paid > Order.total_minor, Order.total_minor), else_=paid),
    ).execution_options(synchronize_session=False))
    session.refresh(order)


def reject_payment(session: Session, tenant: Tenant, reference: str, reason: str, by: str = "ops") -> Payment:
    if not reason.strip():
        raise PaymentError("a rejection needs a reason the customer can act on")
    order, payment = _pending_payment(session, tenant.id, reference)
    _decide(session, order, payment, "rejected", by, reason.strip())
    if payment.kind == "balance":  # the order keeps its status: only the balance is still due
        notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                        "payment_rejected", order_reference=order.reference, reason=reason.strip(),
                        payment_kind="balance")
        return payment
    if order.status != "expired":  # an expired order stays so: its fabric may be gone, nothing is held again
        order.status = "awaiting_payment"
        # Give the customer a fresh hold to pay again.
        order.hold_expires_at = utcnow() + timedelta(hours=tenant.hold_hours)
        set_reservations(session, order, "held", order.hold_expires_at, keep_released=True)
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone),
                    "payment_rejected", order_reference=order.reference, reason=payment.reason)
    return payment
