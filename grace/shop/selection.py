"""Reading a customer's fabric choice: "12 yards of the Marigold", "number 2 and 4, 10 yards each".

References are found by sku, option number ("number 2", "the second one"),
fabric name (typos tolerated) or category ("the kente") among what the
customer has seen; quantities are paired with references by position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from grace.shop.orders import MAX_QUANTITY
from grace.shop.textmatch import ORDINALS, STOPWORDS, normalise, similar
from grace.tenancy.catalog import Catalog, Fabric

_UNIT = r"(?:yards?|yds?|yd|pieces?|pcs?|pc|bundles?|metres?|meters?|mtrs?|rolls?|pcs)"
_QTY_PATTERNS = (
    re.compile(rf"(?<![\w-])(-?\s*\d+(?:\.\d+)?)\s*{_UNIT}\b"),
    re.compile(r"(?<![\w-])(-?\d+(?:\.\d+)?)\s*(?:of|each|x)\b"),
    re.compile(r"\b(?:make it|change (?:it )?to|make am|increase (?:it )?to|reduce (?:it )?to|x)"
               r"\s*(-?\d+(?:\.\d+)?)\b"),
)
_OPTION = re.compile(r"(?:\b(?:number|num|no\.?|nbr|option|opt)|#)\s*(\d{1,2}(?:\s*(?:,|and|&|n)\s*\d{1,2})*)\b")
_ORDINAL = re.compile(r"\b(" + "|".join(ORDINALS) + r")\b(?:\s+one)?")


@dataclass
class Reference:
    fabric: Fabric
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


def _sku_pattern(sku: str) -> re.Pattern:
    match = re.match(r"^([A-Za-z]+)[-_ ]?0*(\d+)$", sku)
    if match:  # AK-003 also as "ak003", "ak 3"
        letters, digits = match.groups()
        return re.compile(rf"\b{letters.lower()}[\s_-]?0*{digits}\b")
    return re.compile(rf"\b{re.escape(sku.lower())}\b")


def _token_spans(text: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in re.finditer(r"[a-z0-9]+", text)]


def _name_references(text: str, fabrics: list[Fabric], context: list[str]) -> list[Reference]:
    tokens = _token_spans(text)
    found: dict[str, Reference] = {}
    # Words that name exactly one fabric ("marigold") identify it on their own.
    owners: dict[str, list[Fabric]] = {}
    for fabric in fabrics:
        for word in set(re.findall(r"[a-z0-9]+", fabric.name.lower())):
            if len(word) >= 4 and word not in STOPWORDS:
                owners.setdefault(word, []).append(fabric)
    for word, candidates in owners.items():
        if len(candidates) > 1:
            in_context = [f for f in candidates if f.sku in context]
            if len(in_context) != 1:
                continue
            candidates = in_context
        for token, pos in tokens:
            if token == word or (len(token) >= 4 and similar(token, word) >= 0.84):
                fabric = candidates[0]
                if fabric.sku not in found:
                    found[fabric.sku] = Reference(fabric, pos)
                break
    return list(found.values())


def find_references(text: str, catalog: Catalog, numbered: list[str], context: list[str]) -> list[Reference]:
    """Fabrics named in `text`. `numbered` are the skus option numbers refer to;
    `context` the skus the customer has seen or chosen (to settle "the kente")."""
    text = normalise(text)
    refs: dict[str, Reference] = {}

    def add(fabric: Fabric | None, position: int) -> None:
        if fabric and fabric.sku not in refs:
            refs[fabric.sku] = Reference(fabric, position)

    for fabric in catalog.fabrics:
        match = _sku_pattern(fabric.sku).search(text)
        if match:
            add(fabric, match.start())
    for match in _OPTION.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            index = int(number) - 1
            if 0 <= index < len(numbered):
                add(catalog.get(numbered[index]), match.start())
    for match in _ORDINAL.finditer(text):
        index = ORDINALS[match.group(1)]
        index = len(numbered) - 1 if index == -1 else index - 1
        if 0 <= index < len(numbered):
            add(catalog.get(numbered[index]), match.start())
    for ref in _name_references(text, catalog.fabrics, context):
        add(ref.fabric, ref.position)
    if not refs:  # "the kente": only when one fabric of that kind is in play
        for category in catalog.categories:
            match = re.search(rf"\b{re.escape(category.replace('-', ' '))}\b|\b{re.escape(category)}\b", text)
            in_play = [f for f in (catalog.get(s) for s in context) if f and f.category == category]
            if match and len(in_play) == 1:
                add(in_play[0], match.start())
    return sorted(refs.values(), key=lambda r: r.position)


def _quantities(text: str) -> list[tuple[str, int]]:
    found: dict[int, str] = {}
    for pattern in _QTY_PATTERNS:
        for match in pattern.finditer(text):
            found.setdefault(match.start(1), match.group(1).replace(" ", ""))
    return sorted(((q, p) for p, q in found.items()), key=lambda qp: qp[1])


_QUANTITY_ONLY_WORDS = {
    "make", "it", "am", "change", "to", "increase", "reduce", "instead", "please", "pls", "abeg", "let",
    "be", "the", "same", "just", "i", "want", "need", "of", "that", "one", "x", "ok", "okay", "actually",
}


def _only_quantity(norm: str) -> bool:
    """ "make it 20 yards" names no fabric; "10 yards of the Zebra Queen" does."""
    leftover = [w for w in re.findall(r"[a-z]+", norm)
                if w not in _QUANTITY_ONLY_WORDS and not re.fullmatch(_UNIT, w)]
    return not leftover


def parse_selection(text: str, catalog: Catalog, *, numbered: list[str], context: list[str],
                    last_sku: str | None, available: dict[str, int],
                    referenced: list[Fabric] | None = None) -> ParsedSelection:
    """Fabrics and quantities asked for, each validated; any problem leaves nothing applied. `referenced`:
    the fabrics the conversation says the message means ("12 yards of it") when the words name none."""
    result = ParsedSelection()
    norm = normalise(text)
    refs = find_references(text, catalog, numbered, context)
    if not refs and referenced:
        refs = [Reference(fabric, 0) for fabric in referenced]
    quantities = _quantities(norm)
    if not refs and quantities and last_sku and (last := catalog.get(last_sku)) and _only_quantity(norm):
        refs = [Reference(last, 0)]  # "make it 20 yards"
    if not refs:
        result.problems.append(Problem("selection_unknown_fabric"))
        return result

    each = bool(re.search(r"\b(each|both|all|apiece|per one)\b", norm))
    pairs: list[tuple[Fabric, str | None]] = []
    if not quantities:
        pairs = [(r.fabric, None) for r in refs]
    elif len(quantities) == 1 and (each or len(refs) >= 1):
        pairs = [(r.fabric, quantities[0][0]) for r in refs]
    elif len(quantities) == len(refs):
        pairs = [(r.fabric, q[0]) for r, q in zip(refs, quantities, strict=True)]
    else:  # the quantity written nearest to each fabric
        for ref in refs:
            nearest = min(quantities, key=lambda q: abs(q[1] - ref.position))
            pairs.append((ref.fabric, nearest[0]))

    for fabric, raw in pairs:
        left = available.get(fabric.sku, 0)
        unit = fabric.unit_plural(fabric.min_qty)
        params = {"name": fabric.name, "sku": fabric.sku, "min_qty": fabric.min_qty, "unit": unit,
                  "available": left, "unit_plural": fabric.unit_plural(2)}
        if left <= 0:
            result.problems.append(Problem("selection_sold_out", params))
            continue
        if raw is None:
            qty = fabric.min_qty
            result.defaulted.append(fabric)
        else:
            try:
                number = float(raw)
            except ValueError:
                number = float("nan")
            if number <= 0:
                result.problems.append(Problem("selection_qty_not_positive", {**params, "qty": raw}))
                continue
            if number != int(number):
                result.problems.append(Problem("selection_qty_whole", {**params, "qty": raw}))
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
