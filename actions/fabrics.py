"""Showing fabrics: filtered options with images, more on request, prices."""
from __future__ import annotations

from actions.base import GraceAction, Turn
from grace.shop.customers import remember_preferences
from grace.shop.fabric_search import FabricQuery, parse_query, search
from grace.shop.selection import find_references
from grace.shop.stock import available_stock
from grace.tenancy.catalog import Fabric

PAGE_SIZE = 3


def unavailable_skus(turn: Turn) -> set[str]:
    return {sku for sku, left in available_stock(turn.session, turn.tenant).items() if left <= 0}


def send_options(turn: Turn, fabrics: list[Fabric], intro_key: str, **intro) -> None:
    """Send a page of fabrics, numbered after those already offered in this conversation."""
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
        turn.say("option_caption", image=fabric.image_url or None, number=number, name=fabric.name,
                 sku=fabric.sku, price=turn.money(fabric.price_minor), unit=fabric.unit,
                 min_qty=fabric.min_qty, min_unit=fabric.unit_plural(fabric.min_qty),
                 description=fabric.description)
    example = fabrics[0]
    turn.say("options_footer", example=offered.index(example.sku) + 1,
             example_qty=max(example.min_qty, 1), example_unit=example.unit_plural(max(example.min_qty, 1)))
    turn.set("offered_skus", offered)
    if turn.stage in ("start", "paid", "upsell", "browsing"):
        turn.set("funnel_stage", "browsing")


def offer(turn: Turn, query: FabricQuery, *, intro_style: bool = False) -> None:
    """Search the catalog for the query and send the first page."""
    customer = turn.customer()
    preferred = list((customer.preferences or {}).get("skus", []))
    result = search(turn.tenant.catalog, query, unavailable_skus(turn), preferred)
    page = result.fabrics[:PAGE_SIZE]
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
        query = parse_query(turn.text, turn.tenant.catalog)
        if turn.intent == "buy" and query.is_empty():
            turn.say("ask_style")
            return
        offer(turn, query)


class ActionMoreFabrics(GraceAction):
    action_name = "action_more_fabrics"

    def act(self, turn: Turn) -> None:
        stored = turn.slot("fabric_query") or {}
        query = parse_query(turn.text, turn.tenant.catalog)
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


class ActionAnswerPrice(GraceAction):
    action_name = "action_answer_price"

    def act(self, turn: Turn) -> None:
        catalog = turn.tenant.catalog
        offered = list(turn.slot("offered_skus") or [])
        refs = find_references(turn.text, catalog, numbered=offered, context=offered)
        fabrics = [r.fabric for r in refs] or [f for f in (catalog.get(s) for s in offered[-PAGE_SIZE:]) if f]
        if fabrics:
            for fabric in fabrics:
                turn.say("price_one", name=fabric.name, sku=fabric.sku, price=turn.money(fabric.price_minor),
                         unit=fabric.unit, min_qty=fabric.min_qty, min_unit=fabric.unit_plural(fabric.min_qty))
        else:
            ranges = []
            for category in sorted(catalog.categories):
                items = [f for f in catalog.fabrics if f.category == category]
                low, high = min(f.price_minor for f in items), max(f.price_minor for f in items)
                span = turn.money(low) if low == high else f"{turn.money(low)}–{turn.money(high)}"
                ranges.append(f"{category} {span} per {items[0].unit}")
            turn.say("price_overview", ranges="; ".join(ranges))
        turn.resume()
