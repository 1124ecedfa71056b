"""extract(tenant, text): the entities of one message, read against the tenant's catalog and settings."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from grace.tenancy.registry import Tenant
from grace.understanding.amounts import find_budgets, find_ordinals, find_quantities
from grace.understanding.attributes import find_attributes
from grace.understanding.codes import find_codes
from grace.understanding.fabrics import find_by_name, find_by_sku
from grace.understanding.index import TenantIndex, index_for
from grace.understanding.text import MAX_CHARS, Token, lower_same_length, tokenize

log = logging.getLogger(__name__)

EXTRACTOR = "CatalogEntityExtractor"

# Where two readings of the same characters compete, the first kind here wins (then the longer one).
_PRIORITY = {"order_ref": 0, "known_promo_code": 1, "fabric_sku": 2, "budget": 3, "quantity": 4, "ordinal": 5,
             "fabric": 6, "promo_code": 7, "category": 8, "pattern": 9, "colour": 10}


@dataclass(frozen=True)
class Entity:
    """One entity: `value` as documented in grace.understanding; start/end are offsets in the text."""
    entity: str
    value: Any
    start: int
    end: int
    confidence: float = 1.0
    text: str = ""

    def as_rasa(self, extractor: str = EXTRACTOR) -> dict[str, Any]:
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
                "confidence_entity": self.confidence, "extractor": extractor}


def _gaps(text: str, tokens: list[Token]) -> list[str]:
    """What separates each token from the next: "-" (hyphen, underscore), " " (spaces) or "|" (anything else)."""
    gaps = []
    for a, b in zip(tokens, tokens[1:], strict=False):
        between = text[a.end:b.start]
        if between.strip(" ") in ("-", "_") and len(between) <= 3:
            gaps.append("-")
        elif between.isspace() or between == "":
            gaps.append(" ")
        else:
            gaps.append("|")
    return gaps


def _shop_name_spans(shop_name: tuple[str, ...], tokens: list[Token], joined: list[bool]) -> list[tuple[int, int]]:
    """Token spans where the customer writes the shop's name, or its first two words or more: "Kente House",
    "kitenge corner nairobi". Their words name the shop, not a category ("hello Kente House")."""
    if not shop_name:
        return []
    least = min(2, len(shop_name))
    spans = []
    for i in range(len(tokens)):
        k = 0
        while (k < len(shop_name) and i + k < len(tokens) and tokens[i + k].norm == shop_name[k]
               and (k == 0 or joined[i + k - 1])):
            k += 1
        if k >= least:
            spans.append((i, i + k))
    return spans


def _candidates(index: TenantIndex, text: str) -> list[tuple[str, Entity]]:
    low = lower_same_length(text)
    tokens = tokenize(text)
    gaps = _gaps(text, tokens)
    joined = [g in ("-", " ") for g in gaps]
    found: list[tuple[str, Entity]] = []

    def add(kind: str, entity: str, value: Any, start: int, end: int, confidence: float = 1.0) -> None:
        found.append((kind, Entity(entity, value, start, end, round(float(confidence), 3), text[start:end])))

    for code in find_codes(index.codes, text):
        add("order_ref" if code.kind == "order_ref" else ("known_promo_code" if code.known else "promo_code"),
            code.kind, code.value, code.start, code.end, 1.0 if code.known else 0.8)
    for match in find_by_sku(index.fabrics, tokens, gaps):
        add("fabric_sku", "fabric", match.sku, tokens[match.start].start, tokens[match.end - 1].end)
    for amount in (*find_budgets(low, index.currency), *find_quantities(low), *find_ordinals(low, tokens)):
        add(amount.kind, amount.kind, amount.value, amount.start, amount.end)
    shop = _shop_name_spans(index.shop_name, tokens, joined)

    def in_shop_name(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in shop)

    attributes = [a for a in find_attributes(index.attributes, tokens, joined) if not in_shop_name(a.start, a.end)]
    for match in find_by_name(index.fabrics, tokens, joined):
        if in_shop_name(match.start, match.end):
            continue
        size = match.end - match.start
        if match.by_attribute and any(a.start <= match.start and match.end <= a.end and a.end - a.start > size
                                      for a in attributes):
            continue  # "the emerald green one": a longer colour than the fabric's own word "emerald"
        add("fabric", "fabric", match.sku, tokens[match.start].start, tokens[match.end - 1].end, match.score)
    for attribute in attributes:
        add(attribute.kind, attribute.kind, attribute.value, tokens[attribute.start].start,
            tokens[attribute.end - 1].end, attribute.score)
    return found


def _resolve(candidates: list[tuple[str, Entity]]) -> list[Entity]:
    """Non-overlapping entities, by kind priority then length; in text order."""
    ordered = sorted(candidates, key=lambda c: (_PRIORITY[c[0]], -(c[1].end - c[1].start), c[1].start))
    taken: list[Entity] = []
    for _, entity in ordered:
        if all(entity.end <= other.start or entity.start >= other.end for other in taken):
            taken.append(entity)
    return sorted(taken, key=lambda e: (e.start, e.end))


def extract_with(index: TenantIndex, text: str) -> list[Entity]:
    if not isinstance(text, str) or not text.strip():
        return []
    return _resolve(_candidates(index, text[:MAX_CHARS]))


def extract(tenant: Tenant, text: str) -> list[Entity]:
    """The entities in the first 1,000 characters of `text`, read against `tenant`. Never raises:
    a failure is logged and reads as no entities."""
    try:
        return extract_with(index_for(tenant), text)
    except Exception:  # one odd message must never break a conversation
        log.exception("could not read entities for tenant %s", getattr(tenant, "id", "?"))
        return []


