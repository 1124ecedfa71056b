"""Payment details, proof of payment (screenshot or words), and ops' verdict."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from actions.base import GraceAction, Turn
from actions.fabrics import offer
from actions.ordering import payment_request
from grace.messaging.inbound import MEDIA_INTENT
from grace.shop.balance import balance_due, latest_fully_paid, orders_owing_balance
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


def owing_balance(turn: Turn) -> Order | None:
    """The customer's order whose deposit is verified and whose balance is still due (the requested one first)."""
    return next(iter(orders_owing_balance(turn.session, turn.tenant.id, turn.customer().id)), None)


def _proof_text(turn: Turn) -> str:
    return turn.metadata.get("caption", "") if turn.text == MEDIA_INTENT else turn.text


def take_proof(turn: Turn, media: dict | None) -> None:
    """Record proof against the customer's open order (or the one that just expired), else against the
    balance of a paid order, or explain why not."""
    customer = turn.customer()
    order = latest_order(turn.session, turn.tenant.id, customer.id, OPEN_STATUSES) or expired_order(turn)
    if order is None:
        owing = owing_balance(turn)
        if owing is not None:
            take_balance_proof(turn, owing, media)
            return
        fully_paid = latest_fully_paid(turn.session, turn.tenant.id, customer.id)
        if fully_paid is not None:
            turn.say("balance_already_paid", reference=fully_paid.reference)
        else:
            turn.say("proof_no_order")
        return
    result = record_proof(turn.session, turn.tenant, order,
                          proof_url=(media or {}).get("url"), content_type=(media or {}).get("content_type"),
                          text=_proof_text(turn))
    if result.late:  # the hold had lapsed: the team checks the fabric is still there before verifying
        turn.say("proof_after_expiry", reference=order.reference, day=hold_ended(turn.tenant, order))
    else:
        turn.say("proof_received", reference=order.reference)
        if result.stock_problem:
            turn.say("proof_stock_problem")
    turn.set("order_ref", order.reference)
    turn.set("funnel_stage", "verifying")


def take_balance_proof(turn: Turn, order: Order, media: dict | None) -> None:
    """The balance proof of a paid order: recorded for ops to verify; the order itself stays as it is."""
    record_proof(turn.session, turn.tenant, order, proof_url=(media or {}).get("url"),
                 content_type=(media or {}).get("content_type"), text=_proof_text(turn))
    turn.say("balance_proof_received", reference=order.reference)
    turn.set("order_ref", order.reference)
    # Nothing is pending from the customer now (a feedback question waiting would swallow their next words).
    turn.set("funnel_stage", "start")


class ActionPaymentDetails(GraceAction):
    action_name = "action_payment_details"

    def act(self, turn: Turn) -> None:
        order = latest_order(turn.session, turn.tenant.id, turn.customer().id, ("awaiting_payment",))
        payment_request(turn, "payment_details", order)
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
    """A picture: payment proof when an order awaits payment or a paid order's balance is due, otherwise
    the style wanted."""

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
        owing = owing_balance(turn) if content_type.startswith(PROOF_TYPES) else None
        if owing is not None:  # a paid order's balance is due: the picture is its proof, not a style
            take_balance_proof(turn, owing, first)
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
        turn.set("order_ref", order.reference)
        if payment.kind == "balance":
            turn.say("balance_verified", reference=order.reference, balance=turn.money(payment.expected_minor),
                     total=turn.money(order.total_minor))
            turn.set("funnel_stage", "start")  # the feedback question came with the deposit: not asked again
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
        if payment.kind == "balance":  # the order is as it was: only its balance is still due
            turn.say("balance_rejected", reference=order.reference, reason=payment.reason,
                     balance=turn.money(balance_due(order)))
            return
        if order.status == "expired":  # a late proof rejected: nothing is held for the order
            turn.say("payment_rejected_expired", reference=order.reference, reason=payment.reason)
            turn.set("funnel_stage", "start")
            return
        turn.say("payment_rejected", reference=order.reference, reason=payment.reason,
                 hold_hours=f"{turn.tenant.hold_hours:g}")
        turn.set("funnel_stage", "awaiting_payment")
