"""Fabrics for a need the customer describes rather than names: an occasion, the weather, who wears it
("which of your fabrics would survive a beach wedding in the rainy season?"), each with the reason,
drawn from the fabric's own description and attributes.

Without a language model this is how Grace answers such questions; with one, the model words the
advice (grounded in the same catalog) and these fabrics follow as pictures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from grace.tenancy.catalog import Catalog, Fabric

# A need, the words that say it, and what in a fabric answers it.
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "the heat": (("beach", "hot", "heat", "sun", "sunny", "summer", "coast", "harmattan", "jua", "warm"),
                 ("breathable", "light", "cool", "airy", "voile", "cotton", "linen", "breeze", "coast", "kikoi",
                      "kanga", "soft")),
    "rain": (("rain", "rainy", "wet", "mvua", "monsoon"),
             ("wax", "durable", "sturdy", "dark", "deep", "everyday", "quick", "handwoven", "fugu", "thick")),
    "a wedding": (("wedding", "weddings", "bride", "bridal", "groom", "ruracio", "engagement", "introduction",
                   "aso", "ebi", "asoebi", "marriage", "harusi"),
                  ("wedding", "weddings", "bridal", "bride", "groom", "lace", "elegant", "ceremony", "ruracio",
                   "celebration", "royal", "premium", "statement")),
    "a party": (("party", "owambe", "birthday", "dinner", "celebration", "sherehe", "bash"),
                ("owambe", "party", "dinner", "statement", "bold", "sequin", "sequined", "beaded", "celebration",
                 "bright")),
    "church": (("church", "sunday", "service", "kanisa"), ("church", "sunday", "modest", "elegant", "family")),
    "work": (("office", "work", "job", "corporate", "kazi"), ("office", "work", "everyday", "subtle", "classic",
                                                               "shirts")),
    "a funeral": (("funeral", "burial", "mourning", "memorial", "matanga"), ("mourning", "funeral", "black",
                                                                             "adinkra", "stamped")),
    "men": (("men", "man", "husband", "groom", "brother", "father", "agbada", "kaftan", "senator", "shirt"),
            ("men", "men's", "agbada", "kaftan", "shirts", "groom", "chief", "smock")),
    "children": (("kids", "kid", "children", "child", "baby", "watoto"), ("kids", "children", "playful", "soft")),
}
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Suggestion:
    fabric: Fabric
    reason: str  # the fabric's own words that answer the need


def needs_in(text: str) -> list[str]:
    """The needs a message describes, in the order of NEEDS."""
    said = set(_WORD.findall(text.lower()))
    return [need for need, (cues, _) in NEEDS.items() if said & set(cues)]


def _fabric_words(fabric: Fabric) -> set[str]:
    text = " ".join([fabric.name, fabric.category, fabric.pattern, " ".join(fabric.colors), fabric.description])
    return set(_WORD.findall(text.lower()))


def suggest(catalog: Catalog, text: str, unavailable: set[str], limit: int = 3) -> tuple[list[str], list[Suggestion]]:
    """(the needs read in the message, the fabrics that answer most of them, each with its reason)."""
    needs = needs_in(text)
    if not needs:
        return [], []
    scored = []
    for fabric in catalog.fabrics:
        if fabric.sku in unavailable:
            continue
        words = _fabric_words(fabric)
        answered = [(need, sorted(words & set(NEEDS[need][1]))) for need in needs]
        hits = [(need, found) for need, found in answered if found]
        if hits:
            reason = "; ".join(f"{', '.join(found)} for {need}" for need, found in hits)
            scored.append((len(hits), sum(len(f) for _, f in hits), Suggestion(fabric, reason)))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return needs, [s for *_, s in scored[:limit]]
