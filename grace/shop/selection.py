"""A customer's fabric choice, checked: "12 yards of the Marigold", "number 2 and 4, 10 yards each".

The words are read once, by the catalog-aware entities (grace.understanding: fabrics, option numbers,
quantities, each with where it is written); the actions turn them into Mentions and Amounts. Here
each fabric gets its quantity (by position) and every quantity is checked against the fabric's
minimum, the stock left and common sense.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from grace.shop.orders import MAX_QUANTITY
from grace.tenancy.catalog import Fabric


@dataclass(frozen=True)
class Mention:
    """A fabric the message means, and where it is written (0 when it is meant, not written: "it")."""
    fabric: Fabric
    position: int


@dataclass(frozen=True)
class Amount:
    """A quantity as written ("-5", "2.5", "20000": checked here, not trusted) and where."""
    value: float
    position: int


@dataclass
class Problem:
    key: str  # a message name in the messages library
    params: dict = field(default_factory=dict)


@dataclass
class ParsedSelection:
    items: list[tuple[Fabric, int]] = field(default_factory=list)
    defaulted: list[Fabric] = field(default_factory=list)  # no quantity given: minimum used
    problems: list[Problem] = field(default_factory=list)


def _pairs(mentions: list[Mention], amounts: list[Amount]) -> list[tuple[Fabric, float | None]]:
    """Each fabric with its quantity: one quantity for all ("10 yards each", "12 yards of number 2 and 4"),
    one each in the order written, else the quantity written nearest to each fabric."""
    if not amounts:
        return [(m.fabric, None) for m in mentions]
    if len(amounts) == 1:
        return [(m.fabric, amounts[0].value) for m in mentions]
    if len(amounts) == len(mentions):
        return [(m.fabric, a.value) for m, a in zip(mentions, amounts, strict=True)]
    return [(m.fabric, min(amounts, key=lambda a: abs(a.position - m.position)).value) for m in mentions]


def check_selection(mentions: list[Mention], amounts: list[Amount], available: dict[str, int]) -> ParsedSelection:
    """The fabrics and quantities asked for, each checked; any problem leaves nothing applied (the
    customer is told every problem at once). No mention: the fabric is unknown."""
    result = ParsedSelection()
    if not mentions:
        result.problems.append(Problem("selection_unknown_fabric"))
        return result
    for fabric, number in _pairs(sorted(mentions, key=lambda m: m.position), sorted(amounts, key=lambda a: a.position)):
        left = available.get(fabric.sku, 0)
        unit = fabric.unit_plural(fabric.min_qty)
        params = {"name": fabric.name, "sku": fabric.sku, "min_qty": fabric.min_qty, "unit": unit,
                  "available": left, "unit_plural": fabric.unit_plural(2)}
        if left <= 0:
            result.problems.append(Problem("selection_sold_out", params))
            continue
        if number is None:
            qty = fabric.min_qty
            result.defaulted.append(fabric)
        else:
            written = f"{number:g}"
            if not number > 0:  # NaN too
                result.problems.append(Problem("selection_qty_not_positive", {**params, "qty": written}))
                continue
            if number != int(number):
                result.problems.append(Problem("selection_qty_whole", {**params, "qty": written}))
                continue
            qty = int(number)
            if qty > MAX_QUANTITY:
                result.problems.append(Problem("selection_qty_absurd", {**params, "qty": qty}))
                continue
            if qty < fabric.min_qty:
                result.problems.append(Problem("selection_below_minimum", {**params, "qty": qty}))
                continue
        if qty > left:
            result.problems.append(Problem("selection_not_enough_stock", {**params, "qty": qty}))
            continue
        result.items.append((fabric, qty))
    if result.problems:
        result.items = []
    return result


def apply_selection(selection: list[dict], items: list[tuple[Fabric, int]]) -> list[dict]:
    """A new selection with each fabric set to its quantity: a repeated message changes nothing."""
    updated = [dict(item) for item in selection]
    for fabric, qty in items:
        for item in updated:
            if item["sku"] == fabric.sku:
                item["qty"] = qty
                break
        else:
            updated.append({"sku": fabric.sku, "qty": qty})
    return updated


def remove_from_selection(selection: list[dict], skus: list[str]) -> list[dict]:
    return [item for item in selection if item["sku"] not in skus]
