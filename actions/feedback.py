"""After the sale: one question for feedback, then a soft upsell.

The question is pending while the funnel stage is "feedback": the next message is the answer unless it
is a request of its own (actions/pending.py), which is answered instead.
"""
from __future__ import annotations

import logging
import re

from actions.base import GraceAction, Turn
from actions.deposit import order_for_event
from actions.fabrics import unavailable_skus
from grace.shop.orders import benefit, order_by_reference, order_history, usable_promotions
from grace.store.models import Feedback

log = logging.getLogger("grace.actions.feedback")


class ActionOrderDelivered(GraceAction):
    """The order reached the customer (external event): say so; the feedback form asks next.
    The store, not the event, is the truth."""

    action_name = "action_order_delivered"

    def act(self, turn: Turn) -> None:
        order = order_for_event(turn)
        if order is None or order.status != "delivered" or order.customer.phone != turn.customer_key:
            log.warning("order_delivered event without a delivered order in %s", turn.tracker.sender_id)
            turn.resume()
            return
        turn.say("order_delivered", reference=order.reference)
        turn.set("order_ref", order.reference)
        turn.set("funnel_stage", "paid")


class ActionAskFeedbackText(GraceAction):
    action_name = "action_ask_feedback_text"

    def act(self, turn: Turn) -> None:
        if turn.stage != "paid":
            return  # nothing was verified (the event did not come from ops): nothing to ask
        order = order_by_reference(turn.session, turn.tenant.id, turn.slot("order_ref") or "")
        delivered = order is not None and order.status == "delivered"
        turn.say("ask_feedback_delivered" if delivered else "ask_feedback")
        turn.set("funnel_stage", "feedback")


def rating_in(text: str) -> int | None:
    match = re.search(r"(?<![\d.])([1-5])(?:\s*/\s*5|\s*(?:stars?|over 5|out of 5))?(?![\d.])", text)
    return int(match.group(1)) if match else None


def save_feedback(turn: Turn) -> None:
    """Keep the customer's words as feedback on their order (a rating if they gave one), thank them,
    then suggest something that goes with it."""
    text = (turn.metadata.get("full_text") or turn.text or "").strip()
    order = order_by_reference(turn.session, turn.tenant.id, turn.slot("order_ref") or "")
    customer = turn.customer()
    turn.session.add(Feedback(tenant_id=turn.tenant.id, customer_id=customer.id,
                              order_id=order.id if order else None, text=text[:2000], rating=rating_in(text)))
    turn.say("feedback_thanks")
    turn.set("funnel_stage", "paid")
    upsell(turn, order)


def upsell(turn: Turn, order) -> None:
    """A fabric that goes with the order (same kind, one of its colours), else a live promotion."""
    catalog = turn.tenant.catalog
    looked_up = [catalog.get(line.sku) for line in (order.lines if order else [])]
    ordered = [f for f in looked_up if f]
    unavailable = unavailable_skus(turn) | {f.sku for f in ordered}
    colours = {c for f in ordered for c in f.colors}
    categories = {f.category for f in ordered}
    candidates = [f for f in catalog.fabrics if f.sku not in unavailable
                  and (f.category in categories or colours.intersection(f.colors))]
    candidates.sort(key=lambda f: (f.category not in categories, -len(colours.intersection(f.colors))))
    if candidates:
        match = candidates[0]
        turn.say("upsell_match", name=match.name, price=turn.money(match.price_minor), unit=match.unit)
        turn.set("upsell_sku", match.sku)
        turn.set("funnel_stage", "upsell")
        return
    today = turn.tenant.now().date()
    history = order_history(turn.session, turn.tenant.id, turn.customer().id)
    promotion = next(iter(usable_promotions(turn.tenant, today, history)), None)  # not a first-order code now
    if promotion:
        turn.say("upsell_promo", code=promotion.code, benefit=benefit(turn.tenant, promotion),
                 description=promotion.description, until=f"{promotion.valid_until:%d %b %Y}")
    turn.set("funnel_stage", "paid")
