"""Which fabrics a message is about: named ones (the catalog-aware entities), "the second one" among
those shown, "the blue one", and "it" / "that one" / "same as last time" from the conversation."""
from __future__ import annotations

import re

from actions.base import Turn
from grace.shop.orders import latest_order
from grace.tenancy.catalog import Fabric

_POINTER = re.compile(r"\b(it|that one|this one|that|this|dis one|dat one|am|hiyo|hii|ile|same one)\b", re.I)
_AGAIN = re.compile(r"\b(same as (last time|before|my last order)|last time|the usual|as before|again)\b", re.I)


def named(turn: Turn) -> list[Fabric]:
    """Fabrics the message names (full or partial names, skus, misspellings), in order."""
    catalog = turn.tenant.catalog
    return _unique([f for e in turn.entities("fabric") if (f := catalog.get(str(e.get("value"))))])


def by_ordinal(turn: Turn) -> list[Fabric]:
    """ "the second one", "number 3", "the last one" among the fabrics shown in this conversation."""
    offered = list(turn.slot("offered_skus") or [])
    found = []
    for entity in turn.entities("ordinal"):
        value = entity.get("value")
        if not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
            continue
        number = int(value)
        index = len(offered) - 1 if number == -1 else number - 1
        if 0 <= index < len(offered) and (fabric := turn.tenant.catalog.get(offered[index])):
            found.append(fabric)
    return _unique(found)


def by_colour(turn: Turn) -> list[Fabric]:
    """ "the blue one": a colour alone picks among the fabrics shown, when it picks exactly one."""
    colours = {str(e.get("value")).lower() for e in turn.entities("colour")}
    if not colours or not re.search(r"\bone\b|\bthe\b", turn.text, re.I):
        return []
    shown = [f for f in (turn.tenant.catalog.get(s) for s in turn.slot("offered_skus") or []) if f]
    matching = [f for f in shown if colours & {c.lower() for c in f.colors}]
    return matching if len(matching) == 1 else []


def in_context(turn: Turn) -> list[Fabric]:
    """ "it", "that one": the fabric last discussed; "same as last time": what they ordered last."""
    if _AGAIN.search(turn.text):
        order = latest_order(turn.session, turn.tenant.id, turn.customer().id)
        if order is not None:
            return _unique([f for line in order.lines if (f := turn.tenant.catalog.get(line.sku))])
    last = turn.slot("last_sku")
    if last and _POINTER.search(turn.text) and (fabric := turn.tenant.catalog.get(last)):
        return [fabric]
    return []


def referenced(turn: Turn) -> list[Fabric]:
    """The fabrics the message is about, first by name, then by position, colour or context."""
    return named(turn) + [f for f in by_ordinal(turn) if f not in named(turn)] or by_colour(turn) or in_context(turn)


def _unique(fabrics: list[Fabric]) -> list[Fabric]:
    seen: list[Fabric] = []
    for fabric in fabrics:
        if fabric.sku not in {f.sku for f in seen}:
            seen.append(fabric)
    return seen
