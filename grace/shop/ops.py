"""Ops' decisions on payments, from any surface (CLI, an ops WhatsApp message, the dashboard).

A decision is written with its customer notification in one transaction, then
delivered into the customer's conversation through Rasa; if Rasa is down the
notification waits in the outbox for `grace events retry`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from grace.messaging.rasa_delivery import deliver_customer_events
from grace.money import format_money
from grace.shop.payments import PaymentError, reject_payment, verify_payment
from grace.store import session_scope
from grace.store.audit import Actor, record_by
from grace.store.models import Order, Payment
from grace.tenancy.registry import Tenant
from grace.tenancy.wording import Wording

COMMAND = re.compile(r"^\s*(approve|verify|reject)\s+([a-z]{2,6}-[a-z0-9]{3,8})\b[\s:,-]*(.*)$", re.I | re.S)


@dataclass
class Decision:
    reference: str
    status: str  # verified / rejected
    delivered: list[tuple] = field(default_factory=list)  # (notification, messages or error text)

    @property
    def customer_told(self) -> bool:
        return bool(self.delivered) and all(not isinstance(outcome, str) for _, outcome in self.delivered)


def decide_payment(tenant: Tenant, reference: str, approve: bool, reason: str = "", by: str = "ops",
                   actor: Actor | None = None) -> Decision:
    """Verify or reject the pending payment of an order, then tell the customer. PaymentError if it
    cannot be decided (unknown order, nothing pending, no reason for a rejection). The decision's audit
    entry is written in the decision's own transaction, whichever surface it came from."""
    actor = actor or Actor(by)
    with session_scope() as session:
        if approve:
            payment = verify_payment(session, tenant, reference, by=by)
        else:
            payment = reject_payment(session, tenant, reference, reason, by=by)
        decision = Decision(session.get(Order, payment.order_id).reference, payment.status)
        noted = {"payment": payment.id} | ({"reason": reason.strip()[:200]} if not approve and reason.strip() else {})
        record_by(session, tenant.id, actor, f"payment_{payment.status}", decision.reference, noted)
    decision.delivered = deliver_customer_events(tenant.id)
    return decision


def is_ops_number(tenant: Tenant, phone: str) -> bool:
    digits = re.sub(r"\D", "", phone)
    return bool(digits) and any(re.sub(r"\D", "", number) == digits for number in tenant.ops)


def answer_ops(tenant: Tenant, phone: str, text: str) -> str:
    """What Grace answers an ops number: the result of a command, or how to give one."""
    say = Wording(tenant)
    command = COMMAND.match(text or "")
    if command is None:
        return say("ops_help", pending=pending_summary(tenant))
    verb, reference, reason = command.group(1).lower(), command.group(2).upper(), command.group(3).strip()
    try:
        decision = decide_payment(tenant, reference, verb != "reject", reason, by=f"whatsapp:{phone}",
                                  actor=Actor(f"whatsapp {phone}"))
    except PaymentError as exc:
        return say("ops_command_failed", reference=reference, error=str(exc))
    key = "ops_verified" if decision.status == "verified" else "ops_rejected"
    told = say("ops_customer_told") if decision.customer_told else say("ops_customer_not_told")
    return say(key, reference=decision.reference, reason=reason, told=told)


def pending_summary(tenant: Tenant, limit: int = 5) -> str:
    with session_scope() as session:
        rows = session.execute(
            select(Order.reference, Payment.expected_minor).join(Payment, Payment.order_id == Order.id)
            .where(Payment.tenant_id == tenant.id, Payment.status == "pending").order_by(Payment.id)
        ).all()
    if not rows:
        return "none"
    shown = ", ".join(f"{ref} ({format_money(due, tenant.currency)})" for ref, due in rows[:limit])
    return f"{len(rows)}: {shown}" + ("…" if len(rows) > limit else "")
