"""Hello, thanks and goodbye: a returning customer is greeted by name with what they liked."""
from __future__ import annotations

from sqlalchemy import select

from actions.base import GraceAction, Turn
from actions.resume import resume_prompt
from grace.store.models import Order


class ActionGreet(GraceAction):
    action_name = "action_greet"

    def act(self, turn: Turn) -> None:
        customer = turn.customer()
        liked_fabrics = [turn.tenant.catalog.get(s) for s in (customer.preferences or {}).get("skus", [])]
        liked = [f.name for f in liked_fabrics if f is not None][:2]
        has_ordered = turn.session.execute(select(Order.id).where(
            Order.tenant_id == turn.tenant.id, Order.customer_id == customer.id).limit(1)).first()
        name = customer.name.split()[0] if customer.name else ""
        name_part = f", {name}" if name else ""
        if liked:
            turn.say("greet_returning", name_part=name_part, liked=" and ".join(liked))
        elif has_ordered:
            turn.say("greet_returning_no_likes", name_part=name_part)
        else:
            turn.say("greet_new", name_part=f" {name}" if name else "")
        if turn.stage not in ("start", "browsing", "paid", "upsell"):
            resume_prompt(turn)  # an order is open: remind the customer where we were


class ActionThank(GraceAction):
    action_name = "action_thank"

    def act(self, turn: Turn) -> None:
        turn.say("thank")
        if turn.stage in ("browsing", "reviewing", "awaiting_payment"):
            turn.resume()


class ActionGoodbye(GraceAction):
    action_name = "action_goodbye"

    def act(self, turn: Turn) -> None:
        turn.say("goodbye")
