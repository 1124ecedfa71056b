"""Choosing fabrics and quantities, promo codes, and the order summary."""
from __future__ import annotations

import re

from actions.base import GraceAction, Turn
from actions.delivery import ask_delivery, delivery_choice, delivery_lines, needs_choice
from actions.ordering import describe_open_orders
from actions.references import by_category, mentioned, referenced
from grace.shop.customers import remember_preferences
from grace.shop.orders import (
    MAX_QUANTITY,
    PromoError,
    Quote,
    build_quote,
    check_promotion,
    join_words,
    order_history,
)
from grace.shop.selection import Amount, Mention, apply_selection, check_selection, remove_from_selection
from grace.shop.stock import available_stock

# What the summary's buttons stand for, in words NLU reads like a customer's (a payload is
# never an intent literal: over REST and WhatsApp it comes back as the customer's text).
CONFIRM_PAYLOAD = "yes, I confirm"
MORE_PAYLOAD = "show me more fabrics"
# A fabric's next wholesale tier is suggested when it is at most this many percent more units than the line has
# (26 yards: 30 is close; 24 yards: it is not).
TIER_CLOSE_PERCENT = 20


def show_summary(turn: Turn, selection: list[dict], promo_code: str | None) -> None:
    """The order as it stands: lines, delivery, total, deposit, balance; then ask to confirm. For a business
    that delivers, the lines come first with "pickup or delivery?" until the customer has chosen."""
    if not selection:
        turn.say("selection_empty")
        turn.set("funnel_stage", "browsing")
        return
    history = order_history(turn.session, turn.tenant.id, turn.customer().id) if promo_code else None
    quote = build_quote(turn.tenant, selection, promo_code, turn.tenant.now().date(), history,
                        delivery=delivery_choice(turn))
    say = turn.wording
    parts = [say("summary_header")]
    for line in quote.lines:
        fabric, tier = line.fabric, line.tier
        parts.append(say("summary_line_tier" if tier else "summary_line", name=fabric.name, sku=fabric.sku,
                         qty=line.quantity, unit=fabric.unit_plural(line.quantity),
                         price=turn.money(line.unit_price_minor), from_qty=tier.from_qty if tier else "",
                         total=turn.money(line.total_minor)))
    if quote.promotion:
        parts.append(say("summary_subtotal", amount=turn.money(quote.subtotal_minor)))
        parts.append(discount_line(turn, quote))
    elif quote.promo_code and quote.promo_problem:
        parts.append(say("summary_promo_not_applied", code=quote.promo_code.upper(), reason=quote.promo_problem))
    if quote.lines and needs_choice(turn):
        ask_delivery(turn, parts)  # the total depends on it
        return
    parts.extend(delivery_lines(turn, quote))
    parts.append(say("summary_total", amount=turn.money(quote.total_minor)))
    fabric_only = quote.delivery_fee_minor and not quote.deposit_includes_delivery
    parts.append(say("summary_deposit_fabric_only" if fabric_only else "summary_deposit",
                     percent=f"{quote.deposit_percent:g}", amount=turn.money(quote.deposit_minor)))
    parts.append(say("summary_balance", amount=turn.money(quote.balance_minor)))
    if quote.missing_skus:
        parts.append(say("summary_missing", names=", ".join(quote.missing_skus)))
    parts.extend(tier_hints(turn, quote))
    parts.append(say("summary_prompt"))
    turn.say(text="\n".join(parts), buttons=[
        {"title": say("button_confirm"), "payload": CONFIRM_PAYLOAD},
        {"title": say("button_more_fabrics"), "payload": MORE_PAYLOAD},
    ])
    turn.set("funnel_stage", "reviewing")


def tier_hints(turn: Turn, quote: Quote) -> list[str]:
    """For each line whose fabric's next wholesale tier is close (TIER_CLOSE_PERCENT) and in stock: how many
    more units reach it and what that saves on the tier's quantity at the line's unit price now; or, when
    the tier's quantity costs less than the line does now, that."""
    close = [(line, tier) for line in quote.lines if (tier := line.fabric.next_tier(line.quantity)) is not None
             and (tier.from_qty - line.quantity) * 100 <= line.quantity * TIER_CLOSE_PERCENT
             and tier.from_qty <= MAX_QUANTITY]
    if not close:
        return []
    left = available_stock(turn.session, turn.tenant, [line.fabric.sku for line, _ in close])
    hints = []
    for line, tier in close:
        fabric, quantity = line.fabric, line.quantity
        if tier.from_qty > left.get(fabric.sku, 0):
            continue  # the shop could not sell that many
        more = tier.from_qty - quantity
        params = {"more": more, "more_unit": fabric.unit_plural(more), "name": fabric.name,
                  "price": turn.money(tier.price_minor), "unit": fabric.unit, "qty": tier.from_qty,
                  "qty_unit": fabric.unit_plural(tier.from_qty)}
        next_total = tier.price_minor * tier.from_qty
        if next_total < line.total_minor:
            hints.append(turn.wording("summary_tier_hint_cheaper", **params, next_total=turn.money(next_total),
                                      current=quantity, current_unit=fabric.unit_plural(quantity),
                                      total=turn.money(line.total_minor)))
        else:
            saving = (line.unit_price_minor - tier.price_minor) * tier.from_qty
            hints.append(turn.wording("summary_tier_hint", **params, saving=turn.money(saving)))
    return hints


def discount_line(turn: Turn, quote: Quote) -> str:
    """Promo OWAMBE10 (-10% on Marigold Bloom): -₦5,400: the lines it applies to named when not all."""
    promotion = quote.promotion
    assert promotion is not None
    lines = quote.discounted_lines
    names = join_words(turn.tenant, [line.fabric.name for line in lines], "list_and")
    on = len(lines) < len(quote.lines)
    params = {"code": promotion.code, "amount": turn.money(quote.discount_minor), "names": names,
              "percent": f"{promotion.percent_off:g}", "off": turn.money(promotion.amount_off_minor)}
    if promotion.amount_off_minor:
        return turn.wording("summary_discount_amount_on" if on else "summary_discount_amount", **params)
    return turn.wording("summary_discount_on" if on else "summary_discount", **params)


# The words that may stand beside a quantity when the message changes the last fabric's ("make it 20
# yards", "20 instead pls"): any other word may name a fabric Grace does not know, so it is not assumed.
_QUANTITY_ONLY_WORDS = frozenset(
    "make it am change to increase reduce instead please pls abeg let be the same just i want need of that one x "
    "ok okay actually".split())


def amounts(turn: Turn) -> list[Amount]:
    """The quantities the message gives, as written, and where."""
    found = []
    for entity in turn.entities("quantity"):
        value = entity.get("value")
        amount = value.get("amount") if isinstance(value, dict) else None
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            found.append(Amount(float(amount), int(entity.get("start") or 0)))
    return found


def only_a_quantity(turn: Turn) -> bool:
    """Whether the message gives a quantity and says nothing else ("make it 20 yards")."""
    spans = [(e.get("start") or 0, e.get("end") or 0) for e in turn.entities("quantity")]
    rest = "".join(" " if any(a <= i < b for a, b in spans) else ch for i, ch in enumerate(turn.text.lower()))
    return bool(spans) and all(word in _QUANTITY_ONLY_WORDS for word in re.findall(r"[a-z]+", rest))


def chosen(turn: Turn, offered: list[str], in_play: list[str]) -> list[Mention]:
    """The fabrics a choice is about: named or numbered, else the one kind in play ("the kente"), else
    the blue one / it / same as last time, else the last fabric when only a quantity is given."""
    found = mentioned(turn, among=offered) or by_category(turn, in_play)
    if not found:
        found = [Mention(fabric, 0) for fabric in referenced(turn)]
    last = turn.tenant.catalog.get(turn.slot("last_sku") or "")
    if not found and last is not None and only_a_quantity(turn):
        found = [Mention(last, 0)]
    return found


# The problems after which Grace waits for a quantity of that fabric ("How many yards of Marigold?",
# "the minimum is 6 yards"): the next message may be a number alone.
QUANTITY_PROBLEMS = frozenset({"selection_qty_not_positive", "selection_qty_whole", "selection_qty_absurd",
                               "selection_below_minimum", "selection_not_enough_stock"})


def update_selection(turn: Turn, mentions: list[Mention], quantities: list[Amount]) -> None:
    """Put the fabrics at their quantities in the cart and show the summary; or say every problem and
    keep the cart as it was."""
    catalog = turn.tenant.catalog
    selection = list(turn.slot("selection") or [])
    offered = list(turn.slot("offered_skus") or [])
    parsed = check_selection(mentions, quantities, available_stock(turn.session, turn.tenant))
    if parsed.problems:
        example = offered[0] if offered else catalog.fabrics[0].sku if catalog.fabrics else "AB-001"
        for problem in parsed.problems:
            key = problem.key
            if key == "selection_unknown_fabric" and not offered:
                key = "selection_unknown_fabric_no_list"  # never "a number from my list" when none was shown
            turn.say(key, example_sku=example, **problem.params)
        asked = {p.params.get("sku") for p in parsed.problems if p.key in QUANTITY_PROBLEMS}
        sku = asked.pop() if len(asked) == 1 and len(parsed.problems) == 1 else None
        turn.set("quantity_asked", sku)
        if selection:
            turn.say("selection_kept")
        elif sku is None:
            turn.resume()  # a quantity asked for is the question already
        return
    turn.set("quantity_asked", None)
    selection = apply_selection(selection, parsed.items)
    for fabric in parsed.defaulted:
        turn.say("selection_defaulted", name=fabric.name, min_qty=fabric.min_qty,
                 unit=fabric.unit_plural(fabric.min_qty))
    turn.set("selection", selection)
    turn.set("last_sku", parsed.items[-1][0].sku)
    remember_preferences(turn.customer(), skus=[f.sku for f, _ in parsed.items])
    show_summary(turn, selection, turn.slot("promo_code"))


class ActionUpdateSelection(GraceAction):
    action_name = "action_update_selection"

    def act(self, turn: Turn) -> None:
        offered = list(turn.slot("offered_skus") or [])
        in_play = offered + [i["sku"] for i in turn.slot("selection") or []]
        update_selection(turn, chosen(turn, offered, in_play), amounts(turn))


class ActionRemoveItem(GraceAction):
    action_name = "action_remove_item"

    def act(self, turn: Turn) -> None:
        selection = list(turn.slot("selection") or [])
        skus = [i["sku"] for i in selection]
        # "number 2" is the second line of the selection here, not of the fabrics shown
        refs = [m.fabric for m in mentioned(turn, among=skus) or by_category(turn, skus) if m.fabric.sku in skus]
        if not refs:
            turn.say("remove_unknown" if selection else "selection_empty")
            if selection:
                show_summary(turn, selection, turn.slot("promo_code"))
            return
        selection = remove_from_selection(selection, [f.sku for f in refs])
        turn.say("removed", names=", ".join(f.name for f in refs))
        turn.set("selection", selection)
        show_summary(turn, selection, turn.slot("promo_code"))


def take_code(turn: Turn, code: str, *, show: bool = True) -> bool:
    """Apply a promo code the customer gave, or refuse it with the reason. With `show`, the order as it
    now stands follows (a summary to confirm again), else the caller's own summary shows it."""
    selection = list(turn.slot("selection") or [])
    today = turn.tenant.now().date()
    # The terms that need fabrics are checked once there are some (the summary says when they stop holding);
    # without `show` the same message changes the cart ("make it 12 yards, code OWAMBE10"): the caller's
    # summary says whether the code applies to the cart as it will be.
    lines = build_quote(turn.tenant, selection, None, today).lines if selection else None
    try:
        promotion = check_promotion(turn.tenant, code, today, lines=lines if show else None,
                                    history=order_history(turn.session, turn.tenant.id, turn.customer().id))
    except PromoError as exc:
        turn.say("promo_invalid", reason=str(exc))
        if show:
            turn.resume()
        return False
    turn.set("promo_code", promotion.code)
    percent, amount = f"{promotion.percent_off:g}", turn.money(promotion.amount_off_minor)
    kind = "_amount" if promotion.amount_off_minor else ""
    if selection:
        if show:
            turn.say("promo_applied" + kind, code=promotion.code, percent=percent, amount=amount)
            show_summary(turn, selection, promotion.code)
    else:
        if (promotion.restricted or promotion.min_qty or promotion.min_total_minor) and promotion.description:
            turn.say("promo_saved_for_later_terms", code=promotion.code,
                     description=promotion.description.rstrip(" .!"))
        else:
            turn.say("promo_saved_for_later" + kind, code=promotion.code, percent=percent, amount=amount)
        if show:
            turn.resume()
    return True


class ActionApplyPromo(GraceAction):
    action_name = "action_apply_promo"

    def act(self, turn: Turn) -> None:
        code = turn.entity("promo_code")
        if code is None:
            turn.say("promo_ask_code")
            return
        take_code(turn, str(code))


class ActionShowSummary(GraceAction):
    """The order summary on request, at any time: the cart as it stands, or the open order."""

    action_name = "action_show_summary"

    def act(self, turn: Turn) -> None:
        selection = list(turn.slot("selection") or [])
        if selection:
            show_summary(turn, selection, turn.slot("promo_code"))
            return
        if not describe_open_orders(turn):  # an order placed already is the summary
            turn.say("selection_empty")
            turn.resume()
