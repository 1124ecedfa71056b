"""After a digression, the question the customer's funnel stage is waiting on, asked again."""
from __future__ import annotations

from actions.base import Turn
from actions.delivery import ask_again, needs_choice
from grace.shop.orders import OPEN_STATUSES, latest_order


def resume_prompt(turn: Turn) -> None:
    """Re-ask what the customer's current stage needs (after a digression)."""
    stage = turn.stage
    if stage in ("awaiting_payment", "verifying"):
        order = latest_order(turn.session, turn.tenant.id, turn.customer().id, OPEN_STATUSES)
        if order is None:
            turn.set("funnel_stage", "start")
            turn.say("resume_start")
        elif order.status == "awaiting_payment":
            turn.say("resume_payment", reference=order.reference, deposit=turn.money(order.deposit_minor))
        else:
            turn.say("resume_verifying", reference=order.reference)
    elif stage == "browsing":
        turn.say("resume_options" if turn.slot("offered_skus") else "resume_start")
    elif stage == "reviewing" and turn.slot("selection") and needs_choice(turn):
        ask_again(turn)  # the summary waits on pickup or delivery: that is the question to come back to
    elif stage == "reviewing":
        turn.say("resume_review")
    elif stage in ("paid", "upsell"):
        turn.say("resume_done")
    else:
        turn.say("resume_start")
