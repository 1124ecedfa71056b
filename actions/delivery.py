"""Pickup or delivery, asked before an order's first summary (tenants with a `delivery:` block), and the
summary's delivery line.

The answer is read whatever intent NLU gives it (a place name alone is no intent of its own): pending.settle
hands it here first. "pickup", "I'll pick it up", or 1 (the first choice offered) is pickup; an area or an
address in a zone ("Lekki", "I dey for Ajah", "12 Admiralty Way, Lekki") is delivery there, at its fee; a
place in no zone is answered with where the business delivers, and the question stays; a clear request of
another kind drops it (the next summary asks again). Once chosen, "deliver to Ikeja instead", "change
address to ..." or "I'll pick up instead" at the summary changes it.
"""
from __future__ import annotations

import re
from typing import Literal

from actions.base import Turn
from grace.shop.delivery import (
    DELIVERY,
    PICKUP,
    address_of,
    choices,
    find_place,
    wants_delivery,
    wants_pickup,
    zone_named,
)
from grace.shop.orders import DeliveryChoice, Quote, join_words
from grace.tenancy.registry import Delivery

SLOTS = ("delivery_method", "delivery_zone", "delivery_address", "delivery_asked")
# Messages that answer nothing about delivery: the question is asked again, not taken for a place name.
_NOT_A_PLACE = frozenset({"deny", "greet", "thank", "goodbye"})
# A yes (to confirm) or the summary asked for: their own actions answer (the confirm path checks the unpaid
# orders cap first, then asks again; the summary shows the lines and asks again).
_ASKS_AGAIN_ITSELF = frozenset({"affirm", "ask_summary"})
# What NLU makes of a place name alone ("Sokoto": a fabric asked about; "Lome": an FAQ): while the question
# is pending, a few words read so are the answer, not a request of their own.
_PLACE_MISREADS = frozenset({"check_availability", "select_fabric", "buy", "browse", "ask_faq", "ask_delivery",
                             "describe_fabric", "more_options"})
# Words that change a choice already made ("deliver to Ikeja instead", "change address to ...").
_CHANGE = re.compile(r"\b(instead|change|switch|rather|actually|new address|different address)\b", re.I)
# What comes before an address ("deliver to", "my address is", "I dey for"): the order keeps the address only.
_LEAD = re.compile(
    r"^(?:\s*(?:pls|please|abeg|ok|okay|actually|no|change|switch|make\s+it|the|my|our|address|delivery|"
    r"deliver(?:\s+(?:it|am|them))?|(?:send|bring|carry|ship)\s+(?:it|am|them)|it|am|instead|"
    r"i\s+dey|i'?m|i\s+am|we\s+are|i\s+live|we\s+live|"
    r"located|staying|stay|to|for|in|at|is)\b[\s,:.-]*)+", re.I)
_TAIL = re.compile(r"(?:[\s,.!]+(?:instead|please|pls|abeg|thanks|thank\s+you))+[\s.!]*$", re.I)
# A choice answered by its number ("1", "2."), as offered with the question (WhatsApp's numbered list).
_CHOICE_NUMBER = re.compile(r"\s*#?(\d{1,2})\s*[.)]?\s*")
Outcome = Literal["chosen", "asked", "moved_on"]


MAX_ADDRESS = 300


def delivery_choice(turn: Turn) -> DeliveryChoice | None:
    """The customer's choice as the conversation holds it, or None when there is none to use (a tenant
    without delivery, nothing chosen yet, or a zone the business no longer has). A business with a
    pickup point and no zones needs no question: it is pickup."""
    delivery = turn.tenant.delivery
    if delivery is None:
        return None
    method = turn.slot("delivery_method")
    if method == PICKUP and delivery.pickup is not None:
        return DeliveryChoice(PICKUP)
    if method == DELIVERY:
        zone = zone_named(delivery, turn.slot("delivery_zone"))
        if zone is not None:
            # The address is kept on the order for ops: a slot anyone with Rasa's API could set, so only
            # text, and no longer than an address.
            address = turn.slot("delivery_address")
            address = address.strip()[:MAX_ADDRESS] if isinstance(address, str) and address.strip() else zone.name
            return DeliveryChoice(DELIVERY, zone, address)
    if not delivery.zones and delivery.pickup is not None:
        return DeliveryChoice(PICKUP)
    return None


def needs_choice(turn: Turn) -> bool:
    return turn.tenant.delivery is not None and delivery_choice(turn) is None


def zones_text(turn: Turn, delivery: Delivery) -> str:
    """Lagos Island, VI & Ikoyi (₦3,000), Lekki & Ajah (₦4,500) and Other states (₦8,000)."""
    names = [turn.wording("delivery_zone_fee", name=zone.name, fee=turn.money(zone.fee_minor)) if zone.fee_minor
             else turn.wording("delivery_zone_free", name=zone.name) for zone in delivery.zones]
    return join_words(turn.tenant, names, "list_and")


def _params(turn: Turn, delivery: Delivery) -> dict:
    pickup = delivery.pickup
    free_above = (turn.wording("delivery_free_above_note", amount=turn.money(delivery.free_above_minor))
                  if delivery.free_above_minor and delivery.zones else "")
    return {"zones": zones_text(turn, delivery), "free_above": free_above,
            "pickup_address": pickup.address if pickup else "",
            "pickup_note": turn.wording("delivery_pickup_note", note=pickup.note) if pickup and pickup.note else ""}


def _buttons(turn: Turn, delivery: Delivery) -> list[dict]:
    """Pickup first, then each zone: the payload is words NLU and the answer reader understand."""
    return [{"title": turn.wording("button_pickup") if choice == PICKUP else choice, "payload": choice}
            for choice in choices(delivery)]


def ask_delivery(turn: Turn, before: list[str] | None = None) -> None:
    """Ask pickup or delivery (after `before`: the order's lines), with a button per choice."""
    delivery = turn.tenant.delivery
    assert delivery is not None
    question = turn.wording("delivery_ask" if delivery.pickup else "delivery_ask_no_pickup", **_params(turn, delivery))
    turn.say(text="\n".join([*(before or []), question]), buttons=_buttons(turn, delivery))
    turn.set("delivery_asked", True)
    turn.set("funnel_stage", "reviewing")


def ask_again(turn: Turn) -> None:
    """The short reminder of the question still open (after another answer, or a digression)."""
    delivery = turn.tenant.delivery
    assert delivery is not None
    turn.say("delivery_ask_again" if delivery.pickup else "delivery_ask_again_no_pickup", **_params(turn, delivery))


def _choose(turn: Turn, method: str, zone: str | None = None, address: str | None = None) -> None:
    turn.set("delivery_method", method)
    turn.set("delivery_zone", zone)
    turn.set("delivery_address", address)
    turn.set("delivery_asked", None)


def forget_delivery(turn: Turn) -> None:
    """The next order is asked again (another order may go elsewhere)."""
    for name in SLOTS:
        if turn.slot(name) is not None:
            turn.set(name, None)


def address_in(text: str) -> str:
    """The address without what was said around it: "deliver to 5 Allen Avenue, Ikeja instead" ->
    "5 Allen Avenue, Ikeja"."""
    stripped = _TAIL.sub("", _LEAD.sub("", text.strip())).strip(" ,.!")
    return address_of(stripped or text)


def _carries_another_request(turn: Turn) -> bool:
    return any(turn.entities(kind) for kind in ("fabric", "promo_code", "order_ref", "category", "ordinal"))


def settle_delivery(turn: Turn) -> Outcome:
    """Read the message as the answer to "pickup or delivery?": chosen (slots set; the caller shows the
    summary), asked (Grace answered and still waits), or moved_on (the question is dropped)."""
    from actions.pending import is_clear_request  # pending settles through here

    delivery = turn.tenant.delivery
    if delivery is None or not turn.slot("selection") or _carries_another_request(turn):
        turn.set("delivery_asked", None)
        return "moved_on"
    text = turn.text.strip()
    number = _CHOICE_NUMBER.fullmatch(text)
    offered = choices(delivery)
    if number and 1 <= int(number.group(1)) <= len(offered):
        picked = offered[int(number.group(1)) - 1]
        if picked == PICKUP:
            _choose(turn, PICKUP)
        else:
            _choose(turn, DELIVERY, picked, picked)
        return "chosen"
    place = find_place(delivery, text)
    if place is not None:
        _choose(turn, DELIVERY, place.zone.name, address_in(text))
        return "chosen"
    if turn.entities("quantity"):  # "make it 20 yards": the cart changes; asked again with the new summary
        turn.set("delivery_asked", None)
        return "moved_on"
    if wants_pickup(text) and delivery.pickup is not None:
        _choose(turn, PICKUP)
        return "chosen"
    params = _params(turn, delivery)
    question = text.endswith("?")
    if wants_delivery(text) and not question:
        named = place_words(text)
        if not named:  # "delivery pls": which area?
            turn.say("delivery_which_area", **params)
            return "asked"
        return _unknown(turn, delivery, named, params)
    short = len(text.split()) <= 4 and not question
    if turn.intent in _ASKS_AGAIN_ITSELF or (is_clear_request(turn) and not (short and turn.intent in _PLACE_MISREADS)):
        turn.set("delivery_asked", None)
        return "moved_on"
    if turn.intent in _NOT_A_PLACE or not text:
        ask_again(turn)
        return "asked"
    if len(text.split()) > 8 or question:
        turn.set("delivery_asked", None)  # a sentence of its own, not a place: answered as itself
        return "moved_on"
    return _unknown(turn, delivery, address_in(text), params)


def _unknown(turn: Turn, delivery: Delivery, place: str, params: dict) -> Outcome:
    """A place in none of the zones: where the business delivers (and its pickup point); still asked."""
    turn.say("delivery_unknown_area" if delivery.pickup else "delivery_unknown_area_no_pickup",
             place=place[:80], **params)
    return "asked"


def place_words(text: str) -> str:
    """What follows "deliver to" / "send am to": the place asked for, or "" when none is named."""
    rest = address_in(text)
    return "" if rest == address_of(text) and wants_delivery(rest) else rest


def change_delivery(turn: Turn) -> bool:
    """At the summary, a change of a choice made ("deliver to Ikeja instead", "I'll pick up instead",
    "deliver instead"): True when the message was that (the caller shows the summary again, unless Grace
    now asks the area)."""
    delivery = turn.tenant.delivery
    if delivery is None or turn.stage != "reviewing" or not turn.slot("selection") or turn.slot("delivery_asked"):
        return False
    text = turn.text.strip()
    if not _CHANGE.search(text) or _carries_another_request(turn) or text.endswith("?"):
        return False
    place = find_place(delivery, text)
    if place is not None:
        _choose(turn, DELIVERY, place.zone.name, address_in(text))
        return True
    if wants_pickup(text) and delivery.pickup is not None:
        _choose(turn, PICKUP)
        return True
    if wants_delivery(text) and delivery.zones:
        forget_delivery(turn)
        turn.say("delivery_which_area", **_params(turn, delivery))
        turn.set("delivery_asked", True)
        return True
    return False


def delivery_lines(turn: Turn, quote: Quote) -> list[str]:
    """The summary's line for the choice: pickup at the address, or delivery to the zone with its fee."""
    choice = quote.delivery
    delivery = turn.tenant.delivery
    if choice is None or delivery is None:
        return []
    if choice.method == PICKUP:
        return [turn.wording("summary_pickup", address=delivery.pickup.address if delivery.pickup else "")]
    zone = choice.zone
    assert zone is not None
    days = turn.wording("summary_delivery_days", days=zone.days) if zone.days else ""
    if quote.delivery_free_above:
        return [turn.wording("summary_delivery_free_above", zone=zone.name, days=days,
                             threshold=turn.money(quote.free_above_minor))]
    fee = turn.money(quote.delivery_fee_minor) if quote.delivery_fee_minor else turn.wording("delivery_fee_free")
    return [turn.wording("summary_delivery", zone=zone.name, days=days, fee=fee)]
