"""Showing fabrics: filtered options with images, more on request, prices."""
from __future__ import annotations

import re

from actions.base import GraceAction, Turn
from actions.references import referenced
from actions.restock import offer_restock_alert
from grace.shop.customers import remember_preferences
from grace.shop.fabric_search import FabricQuery, query_from, search
from grace.shop.needs import suggest
from grace.shop.stock import available_stock
from grace.tenancy.catalog import Fabric

PAGE_SIZE = 3


def unavailable_skus(turn: Turn) -> set[str]:
    return {sku for sku, left in available_stock(turn.session, turn.tenant).items() if left <= 0}


def tier_words(turn: Turn, fabric: Fabric) -> str:
    """A fabric's wholesale tiers, briefly, as a customer reads them: "₦4,700 from 30 yards, ₦4,300 from 100
    yards" (empty without tiers)."""
    return ", ".join(turn.wording("tier_price", price=turn.money(t.price_minor), qty=t.from_qty,
                                  unit=fabric.unit_plural(t.from_qty)) for t in fabric.tiers)


def priced(key: str, fabric: Fabric) -> str:
    """The message key that shows this fabric's price: its `_tiers` variant when it has wholesale tiers."""
    return key + "_tiers" if fabric.tiers else key


def send_options(turn: Turn, fabrics: list[Fabric], intro_key: str, reasons: dict[str, str] | None = None,
                 **intro) -> None:
    """Send a page of fabrics, numbered after those already offered in this conversation (each with why
    it fits, when `reasons` says)."""
    offered = list(turn.slot("offered_skus") or [])
    if not fabrics:
        turn.say("no_more_options" if offered else "catalog_empty")
        return
    turn.say(intro_key, **intro)
    for fabric in fabrics:
        if fabric.sku in offered:
            number = offered.index(fabric.sku) + 1
        else:
            offered.append(fabric.sku)
            number = len(offered)
        turn.say(priced("option_caption", fabric), image=fabric.image_url or None, number=number,
                 name=fabric.name, sku=fabric.sku, price=turn.money(fabric.price_minor),
                 tiers=tier_words(turn, fabric), unit=fabric.unit,
                 min_qty=fabric.min_qty, min_unit=fabric.unit_plural(fabric.min_qty),
                 description=fabric.description)
        if reasons and reasons.get(fabric.sku):
            turn.replies[-1]["text"] += "\n" + turn.wording("option_reason", reason=reasons[fabric.sku])
    example = fabrics[0]
    turn.say("options_footer", example=offered.index(example.sku) + 1,
             example_qty=max(example.min_qty, 1), example_unit=example.unit_plural(max(example.min_qty, 1)))
    turn.set("offered_skus", offered)
    if turn.stage in ("start", "paid", "upsell", "browsing"):
        turn.set("funnel_stage", "browsing")


def query_of(turn: Turn) -> FabricQuery:
    """The categories, colours and patterns the message asks for, as the catalog names them (found by the
    catalog-aware entities)."""
    entities = sorted(turn.tracker.latest_message.get("entities") or [], key=lambda e: e.get("start") or 0)
    return query_from((str(e.get("entity")), e.get("value")) for e in entities)


def within_budget(turn: Turn, fabrics: list[Fabric]) -> list[Fabric]:
    """The fabrics at or under the budget the customer named ("under 5k a yard"), if any fit."""
    budget = turn.entity("budget")
    if not isinstance(budget, int):
        return fabrics
    fitting = [f for f in fabrics if f.price_minor <= budget]
    if not fitting:
        turn.say("budget_none", budget=turn.money(budget))
    return fitting or fabrics


def offer(turn: Turn, query: FabricQuery, *, intro_style: bool = False) -> None:
    """Search the catalog for the query and send the first page."""
    customer = turn.customer()
    preferred = list((customer.preferences or {}).get("skus", []))
    result = search(turn.tenant.catalog, query, unavailable_skus(turn), preferred)
    page = within_budget(turn, result.fabrics)[:PAGE_SIZE]
    turn.set("fabric_query", {**query.as_dict(), "shown": [f.sku for f in page]})
    if intro_style:
        send_options(turn, page, "options_intro_style")
    elif query.is_empty():
        send_options(turn, page, "options_intro_browse")
    elif result.exact:
        send_options(turn, page, "options_intro_exact", query=query.describe())
    else:
        send_options(turn, page, "options_intro_closest", query=query.describe())
    if not query.is_empty():
        remember_preferences(customer, categories=query.categories, colors=query.colors)


class ActionOfferFabrics(GraceAction):
    """buy / browse / describe_fabric, and "yes" to an upsell."""

    action_name = "action_offer_fabrics"

    def act(self, turn: Turn) -> None:
        upsell_sku = turn.slot("upsell_sku")
        if turn.intent == "affirm" and upsell_sku and (fabric := turn.tenant.catalog.get(upsell_sku)):
            turn.set("upsell_sku", None)
            offer(turn, FabricQuery(categories=[fabric.category], colors=list(fabric.colors[:1])))
            return
        query = query_of(turn)
        if turn.intent == "describe_fabric" and recommend(turn, query):
            return
        if turn.intent == "buy" and query.is_empty() and turn.entity("budget") is None:
            turn.say("ask_style")
            return
        offer(turn, query)


def recommend(turn: Turn, query: FabricQuery) -> bool:
    """A need described (an occasion, the weather, who wears it) answered with fabrics that fit it and
    why: worded by the model when one is configured, from the fabrics' own descriptions otherwise.
    False when the message describes no such need."""
    needs, picks = suggest(turn.tenant.catalog, turn.text, unavailable_skus(turn))
    if query.categories or query.colors:  # "red lace for a wedding": what they named comes first
        picks = [p for p in picks if (not query.categories or p.fabric.category in query.categories)
                 and (not query.colors or set(query.colors) & set(p.fabric.colors))]
    budget = turn.entity("budget")
    if isinstance(budget, int):  # a need with a budget: only what fits it (said once, by offer(), if nothing)
        picks = [p for p in picks if p.fabric.price_minor <= budget]
    if not picks:
        return False
    from actions.support import answer_from_model  # the model, when configured, words the advice

    spoken = answer_from_model(turn)
    send_options(turn, [p.fabric for p in picks], "options_intro_spoken" if spoken else "options_intro_needs",
                 reasons={p.fabric.sku: p.reason for p in picks}, needs=" and ".join(needs))
    remember_preferences(turn.customer(), categories=[p.fabric.category for p in picks])
    return True


class ActionMoreFabrics(GraceAction):
    action_name = "action_more_fabrics"

    def act(self, turn: Turn) -> None:
        stored = turn.slot("fabric_query") or {}
        query = query_of(turn)
        if query.is_empty():
            query = FabricQuery.from_dict(stored)
        offered = set(turn.slot("offered_skus") or [])
        result = search(turn.tenant.catalog, query, unavailable_skus(turn) | offered)
        page = result.fabrics[:PAGE_SIZE]
        if not page:
            turn.say("no_more_options")
            return
        turn.set("fabric_query", {**query.as_dict(), "shown": [f.sku for f in page]})
        send_options(turn, page, "options_intro_exact" if not query.is_empty() else "options_intro_browse",
                     query=query.describe())


def say_prices(turn: Turn, fabrics: list[Fabric]) -> None:
    for fabric in fabrics:
        turn.say(priced("price_one", fabric), name=fabric.name, sku=fabric.sku,
                 price=turn.money(fabric.price_minor), tiers=tier_words(turn, fabric), unit=fabric.unit,
                 min_qty=fabric.min_qty, min_unit=fabric.unit_plural(fabric.min_qty))


class ActionAnswerPrice(GraceAction):
    action_name = "action_answer_price"

    def act(self, turn: Turn) -> None:
        catalog = turn.tenant.catalog
        offered = list(turn.slot("offered_skus") or [])
        asked = referenced(turn)
        fabrics = asked or [f for f in (catalog.get(s) for s in offered[-PAGE_SIZE:]) if f]
        if asked:
            turn.set("last_sku", asked[-1].sku)  # "I'll take 12 yards of it" next means this one
        if fabrics:
            say_prices(turn, fabrics)
        else:
            ranges = []
            for category in sorted(catalog.categories):
                items = [f for f in catalog.fabrics if f.category == category]
                low, high = min(f.price_minor for f in items), max(f.price_minor for f in items)
                span = turn.money(low) if low == high else f"{turn.money(low)}–{turn.money(high)}"
                ranges.append(f"{category} {span} per {items[0].unit}")
            turn.say("price_overview", ranges="; ".join(ranges))
        turn.resume()


# Words that ask whether something is there, not what it is: left out when naming what the shop lacks.
_ASKING = re.compile(
    r"\b(do|does|you|u|una|have|has|got|get|any|is|are|it|still|available|availble|avail|in|stock|sell|"
    r"please|pls|plz|abeg|dey|de|una|for|the|a|an|some|shop|store|there|mna|mnayo|mko|na|iko|bado|ipo|"
    r"nayo|ya|hello|hi|hey|good|morning|afternoon|evening|sir|ma|madam|o|oo|ooo)\b|[?!.,]", re.I)


def what_they_named(text: str) -> str:
    """The thing asked for, in the customer's words, with the asking taken out: "velvet" from
    "do you have velvet?"."""
    left = " ".join(_ASKING.sub(" ", text).split())
    return left[:60] or "that"


class ActionCheckAvailability(GraceAction):
    """ "do you have X", "is X available", "X dey?": in stock, sold out (with the closest alternatives, then
    the offer to tell them when it is back: actions/restock.py) or not carried at all (with the closest
    matches). Never "which number from my list" when none was shown."""

    action_name = "action_check_availability"

    def act(self, turn: Turn) -> None:
        fabrics = referenced(turn)
        if not fabrics:
            self.not_carried(turn)
            return
        left = available_stock(turn.session, turn.tenant, [f.sku for f in fabrics])
        sold_out = []
        for fabric in fabrics:
            if left.get(fabric.sku, 0) > 0:
                self.in_stock(turn, fabric)
            else:
                self.sold_out(turn, fabric)
                sold_out.append(fabric)
        turn.set("last_sku", fabrics[-1].sku)
        offer_restock_alert(turn, sold_out)  # last, so that the next message answers it

    def in_stock(self, turn: Turn, fabric: Fabric) -> None:
        offered = list(turn.slot("offered_skus") or [])
        if fabric.sku not in offered:
            offered.append(fabric.sku)
            turn.set("offered_skus", offered)
        qty = max(fabric.min_qty, 1)
        turn.say(priced("availability_in_stock", fabric), image=fabric.image_url or None, name=fabric.name,
                 sku=fabric.sku, price=turn.money(fabric.price_minor), tiers=tier_words(turn, fabric),
                 unit=fabric.unit, min_qty=fabric.min_qty,
                 min_unit=fabric.unit_plural(fabric.min_qty), description=fabric.description,
                 example_qty=qty, example_unit=fabric.unit_plural(qty))
        if turn.stage in ("start", "paid", "upsell"):
            turn.set("funnel_stage", "browsing")

    def sold_out(self, turn: Turn, fabric: Fabric) -> None:
        turn.say("availability_sold_out", name=fabric.name, sku=fabric.sku)
        alike = FabricQuery(categories=[fabric.category], colors=list(fabric.colors[:2]))
        result = search(turn.tenant.catalog, alike, unavailable_skus(turn) | {fabric.sku})
        send_options(turn, result.fabrics[:PAGE_SIZE], "availability_alternatives", name=fabric.name)

    def not_carried(self, turn: Turn) -> None:
        what = what_they_named(turn.text)
        query = query_of(turn)
        result = search(turn.tenant.catalog, query, unavailable_skus(turn))
        closest = within_budget(turn, result.fabrics)[:PAGE_SIZE]  # nothing asked for: our favourites
        if closest:
            send_options(turn, closest, "availability_not_carried", what=what)
        else:
            turn.say("availability_not_carried_none", what=what)
            turn.resume()
