"""What a customer's message settles before the action its intent asks for, and the second request a
message may carry after it ("are you open today and how much is the marigold?": both answered).

- A pending feedback question: the answer is kept as feedback, unless the message is clearly another
  request (order status, a question, a fabric...), which is answered instead; the question then drops.
- A pending "how many?" (a quantity refused or below the minimum): a message that gives an amount and
  names no fabric answers it for that fabric ("12", "ok 14 yards then"); anything else drops it.
- A pending "pickup or delivery?" (actions/delivery.py): the answer, whatever its intent ("Lekki", "I'll
  pick up", "1"), then the summary with the delivery line; a place Grace does not deliver to is answered with
  where it does; another clear request drops the question. At the summary, "deliver to Ikeja instead" changes it.
- A pending "shall I tell you when it's back?" (after "sold out", actions/restock.py): a yes in the customer's
  words ("yes pls", "ok tell me", "abeg let me know", "sawa niambie"), whatever intent NLU gives it, records
  the restock alert; a no is acknowledged; anything else moves on and records nothing. Asked once either way.
  A fabric found sold out when chosen or at the confirmation gets the same offer after the action's answer.
- A promo code anywhere in the message: applied, or refused with the reason, first. A "yes" (or any
  answer that is not a request of its own) that came with a code gets the fresh summary to confirm,
  so an order is never placed while a code in the same message was ignored.
"""
from __future__ import annotations

import re

from actions.base import Turn
from actions.delivery import change_delivery, settle_delivery
from actions.fabrics import ActionCheckAvailability, say_prices
from actions.feedback import save_feedback
from actions.info import say_hours
from actions.references import named
from actions.restock import offer_restock_alert, settle_restock_answer, sold_out_among
from actions.selection import chosen, only_a_quantity, show_summary, take_code, update_selection
from grace.shop.selection import Amount, Mention
from grace.tenancy.catalog import Fabric
from grace.understanding import only_a_number

# Intents that are a request of their own, answered even while Grace waits for feedback.
CLEAR_REQUESTS = frozenset({
    "order_status", "human_handoff", "ask_hours", "ask_delivery", "ask_returns", "ask_faq", "ask_price",
    "ask_payment_details", "ask_summary", "check_availability", "cancel_order", "inform_paid", "apply_promo",
    "more_options", "browse", "buy", "select_fabric", "remove_item", "share_image",
})
# After a code is settled these still get their own answer (the code was said on the way); the others
# (a yes, a price or the summary asked for, a code alone) are answered by the fresh summary itself.
ANSWERED_AFTER_A_CODE = (CLEAR_REQUESTS | {"describe_fabric"}) - {"ask_price", "ask_summary", "apply_promo", "buy"}


# While a question is pending, the customer is most likely answering it: another request must be read
# with high confidence to take over (real ones are, ~0.99: "where is my order?"; a compliment misread as
# a request is not: "the adire is even finer in person" reads as a handoff at 0.78).
PENDING_YIELD_CONFIDENCE = 0.9


def is_clear_request(turn: Turn) -> bool:
    """A request of its own, read with confidence. A description ("the adire is even finer in person")
    is feedback unless asked as a question."""
    if turn.confidence < PENDING_YIELD_CONFIDENCE:
        return False
    if turn.intent == "describe_fabric":
        return turn.text.rstrip().endswith("?")
    return turn.intent in CLEAR_REQUESTS or bool(turn.entity("order_ref"))


def settle(turn: Turn, action_name: str) -> bool:
    """Settle what the message answers or carries before `action_name` runs; True when that was the
    whole answer to it."""
    if turn.intent.startswith("EXTERNAL_"):  # Grace's own events, not the customer's words
        return False
    if settle_restock_answer(turn):  # the last question Grace asked: the message answers it first
        return True
    if turn.stage == "feedback":
        if not is_clear_request(turn):
            save_feedback(turn)
            return True
        turn.set("funnel_stage", "paid")  # they moved on: the question is not asked again
    asked = turn.slot("quantity_asked")
    if asked:
        amount = quantity_answer(turn)
        fabric = turn.tenant.catalog.get(asked)
        if amount is not None and fabric is not None:
            update_selection(turn, [Mention(fabric, 0)], [Amount(float(amount), 0)])
            return True
        turn.set("quantity_asked", None)  # they moved on: the question is not asked again
    if turn.tenant.delivery is not None and settle_delivery_answer(turn):
        return True
    code = turn.entity("promo_code")
    if code and action_name != "action_apply_promo":
        take_code(turn, str(code), show=turn.intent not in ("select_fabric", "remove_item"))
        return turn.intent not in ANSWERED_AFTER_A_CODE
    return False


def settle_delivery_answer(turn: Turn) -> bool:
    """The answer to "pickup or delivery?", or a change of it at the summary: True when that was the message."""
    if turn.slot("delivery_asked"):
        outcome = settle_delivery(turn)
        if outcome == "chosen":
            show_summary(turn, list(turn.slot("selection") or []), turn.slot("promo_code"))
        return outcome != "moved_on"
    if change_delivery(turn):
        if not turn.slot("delivery_asked"):  # chosen anew, not "which area?"
            show_summary(turn, list(turn.slot("selection") or []), turn.slot("promo_code"))
        return True
    return False


def quantity_answer(turn: Turn) -> int | float | None:
    """The amount a message gives when it says nothing else ("14 yards then", "12 pls"): the answer to
    "how many?" ("10 yards of the Zebra Queen" names a fabric Grace does not know: no answer)."""
    if any(turn.entities(kind) for kind in ("fabric", "ordinal", "promo_code", "order_ref", "category")):
        return None
    quantities = [e.get("value") for e in turn.entities("quantity")]
    if len(quantities) == 1 and isinstance(quantities[0], dict) and only_a_quantity(turn):
        amount = quantities[0].get("amount")
        return amount if isinstance(amount, (int, float)) and not isinstance(amount, bool) else None
    return only_a_number(turn.text) if not quantities else None


_HOURS = re.compile(r"\b(open|opened|close|closed|closing|opening|what time|mnafungua|mnafunga|una dey open)\b", re.I)
_PRICE = re.compile(r"\b(how much|price|prices|cost|costs|bei|hw much|hm)\b", re.I)
_AVAILABLE = re.compile(r"\b(do you (still )?have|you get|una get|available|in stock|dey\?|iko|mnayo|still have)", re.I)


def also(turn: Turn, action_name: str) -> None:
    """Answer the second request a message carries, when its intent's action answered only the first."""
    if turn.intent.startswith("EXTERNAL_") or turn.stage == "feedback":
        return
    offer_restock_alert(turn, sold_out_when_chosen(turn, action_name))
    if action_name != "action_answer_hours" and _HOURS.search(turn.text):
        say_hours(turn, week=False)
    fabrics = named(turn)
    if not fabrics:
        return
    if action_name not in ("action_answer_price", "action_check_availability", "action_update_selection",
                           "action_show_summary") and _PRICE.search(turn.text):
        say_prices(turn, fabrics)
    elif action_name not in ("action_check_availability", "action_update_selection", "action_answer_price") \
            and _AVAILABLE.search(turn.text):
        ActionCheckAvailability().act(turn)


def sold_out_when_chosen(turn: Turn, action_name: str) -> list[Fabric]:
    """The fabrics the action just told the customer are sold out when they chose them ("6 yards of Market
    Day"), or when their YES found the last of it gone: the restock offer follows its answer."""
    if action_name == "action_update_selection":
        offered = list(turn.slot("offered_skus") or [])
        in_play = offered + [i["sku"] for i in turn.slot("selection") or [] if isinstance(i, dict) and "sku" in i]
        return sold_out_among(turn, [m.fabric for m in chosen(turn, offered, in_play)])
    # The confirmation that found the stock gone is the one that sets the stage back to "reviewing" and
    # nothing else (asking pickup or delivery sets delivery_asked, a code refused clears promo_code).
    set_now = {e.get("name"): e.get("value") for e in turn.events if e.get("event") == "slot"}
    if action_name in ("action_answer_yes_no", "action_confirm_order") and set_now.get("funnel_stage") == "reviewing" \
            and not {"delivery_asked", "promo_code"} & set(set_now) and turn.slot("selection"):
        fabrics = [f for i in turn.slot("selection") if isinstance(i, dict)
                   and (f := turn.tenant.catalog.get(str(i.get("sku"))))]
        return sold_out_among(turn, fabrics)
    return []
