"""The dashboard's and the API's changes, made through the same code as the CLI so the customer is
told exactly the same way."""
from __future__ import annotations

from sqlalchemy.orm import Session

from grace.messaging.rasa_delivery import deliver_customer_events
from grace.shop.fulfilment import change_status
from grace.shop.ops import Decision, decide_payment
from grace.shop.payments import already_decided
from grace.store.audit import Actor
from grace.tenancy.registry import Tenant
from web.queries import payment_or_404


def decide(session: Session, tenant: Tenant, payment_id: int, approve: bool, reason: str, by: str,
           actor: Actor | None = None) -> Decision:
    """Verify or reject one pending payment of the tenant (404 for another tenant's id).
    AlreadyDecided when it was decided already, or by someone else meanwhile (decide_payment switches it
    from pending atomically); PaymentError when a rejection has no reason."""
    payment = payment_or_404(session, tenant.id, payment_id)
    if payment.status != "pending":
        raise already_decided(payment.order.reference, payment)
    reference = payment.order.reference
    session.rollback()  # end this read before decide_payment writes in its own session
    return decide_payment(tenant, reference, approve, (reason or "").strip(), by=by, actor=actor)


def move_order(session: Session, tenant: Tenant, reference: str, status: str) -> str:
    """Change a paid order's status and tell the customer; the new status. FulfilmentError if not allowed."""
    order = change_status(session, tenant, reference, status)
    session.commit()
    if status == "delivered":  # told inside the conversation, which then asks for feedback
        deliver_customer_events(tenant.id)
    return order.status
