"""What the app store proves for the period, per tenant: orders placed, proofs received, deposits
verified, when customers were first seen, and the turns Grace could not handle (fallback_log).

Money facts come from here rather than from conversation events: ops may verify a deposit while
Rasa is down, and the store is what the business is paid by.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from grace.analytics.period import Period
from grace.store.models import Customer, FallbackLog, Order, Payment


@dataclass(frozen=True)
class VerifiedDeposit:
    phone: str
    amount_minor: int
    currency: str
    verified_at: datetime  # naive UTC


@dataclass(frozen=True)
class UnhandledTurn:
    text: str
    at: datetime  # naive UTC


@dataclass
class StoreFacts:
    ordered: set[str] = field(default_factory=set)  # customers' phones with an order placed in the period
    proof_sent: set[str] = field(default_factory=set)
    verified: list[VerifiedDeposit] = field(default_factory=list)
    first_seen: dict[str, datetime] = field(default_factory=dict)  # phone -> customers.first_seen_at
    unhandled: list[UnhandledTurn] = field(default_factory=list)
    verified_phones: set[str] = field(default_factory=set)


def read_store(session: Session, tenant_id: str, period: Period) -> StoreFacts:
    start, end = period.start_utc, period.end_utc
    facts = StoreFacts()
    facts.ordered = set(session.scalars(
        select(Customer.phone).join(Order, Order.customer_id == Customer.id)
        .where(Order.tenant_id == tenant_id, Customer.tenant_id == tenant_id,
               Order.created_at >= start, Order.created_at < end)))
    facts.proof_sent = set(session.scalars(
        select(Customer.phone).join(Order, Order.customer_id == Customer.id).join(Payment, Payment.order_id == Order.id)
        .where(Payment.tenant_id == tenant_id, Order.tenant_id == tenant_id,
               Payment.created_at >= start, Payment.created_at < end)))
    facts.verified = [VerifiedDeposit(*row) for row in session.execute(
        select(Customer.phone, Payment.expected_minor, Order.currency, Payment.decided_at)
        .join(Order, Order.customer_id == Customer.id).join(Payment, Payment.order_id == Order.id)
        .where(Payment.tenant_id == tenant_id, Order.tenant_id == tenant_id, Payment.status == "verified",
               Payment.kind == "deposit",  # a sale is counted once, when its deposit is verified
               Payment.decided_at >= start, Payment.decided_at < end)
        .order_by(Payment.decided_at, Payment.id))]
    facts.verified_phones = {deposit.phone for deposit in facts.verified}
    facts.first_seen = dict(session.execute(
        select(Customer.phone, Customer.first_seen_at).where(Customer.tenant_id == tenant_id,
                                                             Customer.first_seen_at < end)).all())
    # Turns a flow action handled with low NLU confidence are logged as "flow:<action>" for trainers;
    # they were answered, so they are neither fallbacks nor unhandled questions.
    facts.unhandled = [UnhandledTurn(*row) for row in session.execute(
        select(FallbackLog.text, FallbackLog.created_at)
        .where(FallbackLog.tenant_id == tenant_id, not_(FallbackLog.answered_by.startswith("flow:")),
               FallbackLog.created_at >= start, FallbackLog.created_at < end)
        .order_by(FallbackLog.created_at, FallbackLog.id))]
    return facts
