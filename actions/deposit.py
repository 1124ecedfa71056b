"""Payment details, proof of payment (screenshot or words), and ops' verdict."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from actions.base import GraceAction, Turn
from actions.fabrics import offer
from actions.ordering import payment_request
from grace.messaging.inbound import MEDIA_INTENT
from grace.shop.fabric_search import query_from
from grace.shop.orders import OPEN_STATUSES, latest_order, order_by_reference
from grace.shop.payments import record_proof
from grace.shop.stock import hold_ended
from grace.store.models import Order, Payment, utcnow
from grace.understanding import extract

log = logging.getLogger("grace.actions.payments")
PROOF_TYPES = ("image/", "application/pdf")


# A picture or "I have paid" this soon after the customer's latest order expired is taken as a late proof
# for it; later, it is a new message (a style picture, a question) as for any customer without an order.
LATE_PROOF_WINDOW = timedelta(days=3)


def expired_order(turn: Turn) -> Order | None:
    """The customer's latest order when it expired unpaid within LATE_PROOF_WINDOW (nothing placed since)."""
    order = latest_order(turn.session, turn.tenant.id, turn.customer().id)
    if order is None or order.status != "expired" or order.hold_expires_at is None:
        return None
    return order if utcnow() - order.hold_expires_at <= LATE_PROOF_WINDOW else None


def take_proof(turn: Turn, media: dict | None) -> None:
    """Record proof against the customer's open order (or the one that just expired), or explain why not."""
    customer = turn.customer()
    order = latest_order(turn.session, turn.tenant.id, customer.id, OPEN_STATUSES) or expired_order(turn)
    if order is None:
        paid = latest_order(turn.session, turn.tenant.id, customer.id, ("deposit_paid",))
        if paid is not None:
            turn.say("proof_already_confirmed", reference=paid.reference)
        else:
            turn.say("proof_no_order")
        return
    result = record_proof(turn.session, turn.tenant, order,
                          proof_url=(media or {}).get("url"), content_type=(media or {}).get("content_type"),
                          text=turn.metadata.get("caption", "") if turn.text == MEDIA_INTENT else turn.text)
    if result.late:  # the hold had lapsed: the team checks the fabric is still there before verifying
        turn.say("proof_after_expiry", reference=order.reference, day=hold_ended(turn.tenant, order))
    else:
        turn.say("proof_received", reference=order.reference)
        if result.stock_problem:
            turn.say("proof_stock_problem")
    turn.set("order_ref", order.reference)
    turn.set("funnel_stage", "verifying")


class ActionPaymentDetails(GraceAction):
    action_name = "action_payment_details"

    def act(self, turn: Turn) -> None:
        payment_request(turn, "payment_details")
        order = latest_order(turn.session, turn.tenant.id, turn.customer().id, ("awaiting_payment",))
        if order is not None:
            turn.say("payment_details_for_order", reference=order.reference,
                     deposit=turn.money(order.deposit_minor))


class ActionRecordPayment(GraceAction):
    """"I have paid" / "I don pay": a payment claim in words."""

    action_name = "action_record_payment"

    def act(self, turn: Turn) -> None:
        media = next(iter(turn.metadata.get("media") or []), None)
        take_proof(turn, media)


class ActionHandleImage(GraceAction):
    """A picture: payment proof when an order awaits payment, otherwise the style wanted."""

    action_name = "action_handle_image"

    def act(self, turn: Turn) -> None:
        media = [m for m in turn.metadata.get("media") or [] if isinstance(m, dict) and m.get("url")]
        if not media:
            turn.say("image_missing")
            return
        first = media[0]
        content_type = (first.get("content_type") or "").lower()
        open_order = latest_order(turn.session, turn.tenant.id, turn.customer().id, OPEN_STATUSES)
        if (open_order or expired_order(turn)) is not None and content_type.startswith(PROOF_TYPES):
            take_proof(turn, first)
            return
        if content_type.startswith("audio/"):
            turn.say("voice_note")
            return
        customer = turn.customer()
        prefs = dict(customer.preferences or {})
        prefs["style_images"] = ([m["url"] for m in media] + prefs.get("style_images", []))[:10]
        customer.preferences = prefs
        # A picture's caption is no message NLU read: the same reader finds what it asks for
        caption = extract(turn.tenant, str(turn.metadata.get("caption") or ""))
        offer(turn, query_from((e.entity, e.value) for e in caption), intro_style=True)


def order_for_event(turn: Turn):
    entities = turn.tracker.latest_message.get("entities") or []
    reference = next((e.get("value") for e in entities if e.get("entity") == "order_ref"), None)
    reference = reference or turn.slot("order_ref")
    return order_by_reference(turn.session, turn.tenant.id, reference) if reference else None


def _latest_payment(turn: Turn, order) -> Payment | None:
    return turn.session.execute(
        select(Payment).where(Payment.tenant_id == turn.tenant.id, Payment.order_id == order.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(1)
    ).scalar_one_or_none()


class ActionPaymentVerified(GraceAction):
    """Ops verified the deposit (external event). The store, not the event, is the truth."""

    action_name = "action_payment_verified"

    def act(self, turn: Turn) -> None:
        order = order_for_event(turn)
        payment = _latest_payment(turn, order) if order else None
        if order is None or payment is None or payment.status != "verified" \
                or order.customer.phone != turn.customer_key:
            log.warning("payment_verified event without a verified payment in %s (order %s, payment %s)",
                        turn.tracker.sender_id, order and order.reference, payment and payment.status)
            turn.resume()
            return
        turn.say("payment_verified", reference=order.reference, deposit=turn.money(order.deposit_minor),
                 balance=turn.money(order.balance_minor))
        turn.set("order_ref", order.reference)
        turn.set("funnel_stage", "paid")


class ActionPaymentRejected(GraceAction):
    action_name = "action_payment_rejected"

    def act(self, turn: Turn) -> None:
        order = order_for_event(turn)
        payment = _latest_payment(turn, order) if order else None
        if order is None or payment is None or payment.status != "rejected" \
                or order.customer.phone != turn.customer_key:
            turn.resume()
            return
        turn.set("order_ref", order.reference)
        if order.status == "expired":  # a late proof rejected: nothing is held for the order
            turn.say("payment_rejected_expired", reference=order.reference, reason=payment.reason)
            turn.set("funnel_stage", "start")
            return
        turn.say("payment_rejected", reference=order.reference, reason=payment.reason,
                 hold_hours=f"{turn.tenant.hold_hours:g}")
        turn.set("funnel_stage", "awaiting_payment")
