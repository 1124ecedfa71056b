"""Which fabrics a message is about: named ones (the catalog-aware entities), "the second one" among
those shown, "the blue one", and "it" / "that one" / "same as last time" from the conversation."""
from __future__ import annotations

import re

from actions.base import Turn
from grace.shop.orders import latest_order
from grace.shop.selection import Mention
from grace.tenancy.catalog import Fabric

_POINTER = re.compile(r"\b(it|that one|this one|that|this|dis one|dat one|am|hiyo|hii|ile|same one)\b", re.I)
_AGAIN = re.compile(r"\b(same as (last time|before|my last order)|last time|the usual|as before|again)\b", re.I)


def named_at(turn: Turn) -> list[Mention]:
    """Fabrics the message names (full or partial names, skus, misspellings), where written."""
    catalog = turn.tenant.catalog
    return [Mention(fabric, int(entity.get("start") or 0))
            for entity in turn.entities("fabric") if (fabric := catalog.get(str(entity.get("value"))))]


def numbered_at(turn: Turn, among: list[str] | None = None) -> list[Mention]:
    """ "the second one", "number 3", "the last one", where written: among `among` (default: the
    fabrics shown in this conversation)."""
    listed = list(turn.slot("offered_skus") or []) if among is None else among
    found = []
    for entity in turn.entities("ordinal"):
        value = entity.get("value")
        if not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
            continue
        number = int(value)
        index = len(listed) - 1 if number == -1 else number - 1
        if 0 <= index < len(listed) and (fabric := turn.tenant.catalog.get(listed[index])):
            found.append(Mention(fabric, int(entity.get("start") or 0)))
    return found


def mentioned(turn: Turn, among: list[str] | None = None) -> list[Mention]:
    """Fabrics named or numbered, in the order written, each once."""
    seen: set[str] = set()
    found = []
    for mention in sorted(named_at(turn) + numbered_at(turn, among), key=lambda m: m.position):
        if mention.fabric.sku not in seen:
            seen.add(mention.fabric.sku)
            found.append(mention)
    return found


def named(turn: Turn) -> list[Fabric]:
    """Fabrics the message names, in order."""
    return _unique([m.fabric for m in named_at(turn)])


def by_ordinal(turn: Turn) -> list[Fabric]:
    """ "the second one", "number 3", "the last one" among the fabrics shown in this conversation."""
    return _unique([m.fabric for m in numbered_at(turn)])


def by_category(turn: Turn, in_play: list[str]) -> list[Mention]:
    """ "the kente": a kind of cloth names a fabric when exactly one of that kind is in play."""
    fabrics = [f for f in (turn.tenant.catalog.get(s) for s in in_play) if f]
    for entity in turn.entities("category"):
        kind = set(str(entity.get("value")).lower().replace("-", " ").split())
        matching = _unique([f for f in fabrics if kind <= set(f.category.lower().replace("-", " ").split())])
        if len(matching) == 1:
            return [Mention(matching[0], int(entity.get("start") or 0))]
    return []


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
