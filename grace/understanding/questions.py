"""Which of a business's own answers (its FAQ) a customer's question is about, by meaning rather than
by the words the FAQ happens to use: "can your tailor make me a kaftan?" is the FAQ "Do you sew custom
dresses?".

Words are mapped to concepts (tailor, sew, stitch, kaftan, gown, "fundi", "kushona" are all
*tailoring*), and a question is scored against each entry's question and answer by the concepts and
content words they share, typos tolerated (rapidfuzz). Below MIN_SCORE nothing fits: the caller asks
the model (when one is configured) or notes the question for the team; a guess is worse than either.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz

# One concept, the words customers and businesses use for it (English, Pidgin, Twi, Swahili/Sheng).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "tailoring": ("sew", "sewing", "sewn", "tailor", "tailors", "tailoring", "stitch", "stitching", "seamstress",
                  "fundi", "kushona", "shona", "cherehani", "make", "made", "kaftan", "kaftans", "gown", "gowns",
                  "dress", "dresses", "agbada", "boubou", "smock", "smocks", "kaba", "slit", "outfit", "outfits",
                  "style", "styles", "custom", "measurement", "measurements", "skirt", "blouse", "shirt",
                  "shirts", "suit", "senator", "dashiki", "iro", "buba"),
    "location": ("where", "shop", "showroom", "location", "located", "address", "office", "store", "branch",
                 "visit", "come", "directions", "map", "wapi", "mko", "iko", "duka"),
    "wholesale": ("wholesale", "bulk", "minimum", "moq", "quantity", "quantities", "reseller", "resell",
                  "retailer", "jumla", "dozens", "bales", "bale"),
    "pickup": ("pickup", "pick", "collect", "collection", "fetch", "come for it"),
    "swatch": ("swatch", "swatches", "sample", "samples", "feel", "touch", "cutting", "piece to see"),
    "quality": ("original", "fake", "quality", "colourfast", "colorfast", "fade", "fading", "bleed", "bleeding",
                "wash", "washing", "shrink", "shrinking", "real", "genuine", "authentic", "handwoven", "dye"),
    "reserve": ("reserve", "reserved", "hold", "keep", "save", "book", "booking"),
    "discount": ("discount", "discounts", "cheaper", "reduce", "reduction", "deal", "deals", "offer",
                 "bargain", "punguzo"),
    "yardage": ("yards", "yard", "how many", "enough", "length", "metres", "meters", "need for"),
    "group": ("aso", "ebi", "asoebi", "uniform", "uniforms", "group", "guests", "family", "wedding", "party",
              "chama", "church"),
    "payment": ("pay", "payment", "installment", "instalment", "credit", "momo", "mpesa", "m-pesa", "card",
                "transfer", "cash"),
}
STOPWORDS = frozenset(
    "a an the and or of to for in on at is are am be can could do does did you your yours u ur we our us i me my "
    "it its this that there what which who how when will would should please pls abeg una dey de o any some "
    "with from about get got have has if so just also too very really na ni ya kwa hi hello".split())
MIN_SCORE = 0.35
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class Entry(Protocol):
    @property
    def q(self) -> str: ...

    @property
    def a(self) -> str: ...


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float


def _concept_of() -> dict[str, str]:
    return {word: concept for concept, words in CONCEPTS.items() for word in words if " " not in word}


_CONCEPT_OF = _concept_of()
_PHRASES = [(phrase, concept) for concept, words in CONCEPTS.items() for phrase in words if " " in phrase]


def meaning(text: str) -> tuple[set[str], set[str]]:
    """(concepts, content words) of a text."""
    lowered = text.lower()
    words = [w for w in _WORD.findall(lowered) if w not in STOPWORDS and len(w) > 2]
    concepts = {_CONCEPT_OF[w] for w in words if w in _CONCEPT_OF}
    concepts |= {concept for phrase, concept in _PHRASES if phrase in lowered}
    for word in words:  # "tayloring", "sewng", "mnashona": a typo or a prefix still carries its concept
        if word not in _CONCEPT_OF and len(word) >= 5:
            near = next((c for known, c in _CONCEPT_OF.items() if len(known) >= 5
                         and (known in word or fuzz.ratio(word, known) >= 85)), None)
            if near:
                concepts.add(near)
    return concepts, {w for w in words if w not in _CONCEPT_OF}


def _shared_words(asked: set[str], known: set[str]) -> float:
    return sum(1.0 for w in asked if any(w == k or (len(w) > 3 and fuzz.ratio(w, k) >= 85) for k in known))


def score(question: str, entry: Entry) -> float:
    """How well the entry answers the question, 0..1: concepts count most, the entry's question more than
    its answer, and shared content words help."""
    concepts, words = meaning(question)
    if not concepts and not words:
        return 0.0
    q_concepts, q_words = meaning(entry.q)
    a_concepts, a_words = meaning(entry.a)
    asked = max(1, len(concepts) + len(words))
    by_question = (2 * len(concepts & q_concepts) + _shared_words(words, q_words)) / (asked + 1)
    by_answer = (len(concepts & a_concepts) + 0.5 * _shared_words(words, a_words)) / (asked + 2)
    return min(1.0, by_question + 0.5 * by_answer)


def best_answer(question: str, entries: Sequence[Entry] | Iterable[Entry]) -> Match | None:
    """The entry that answers the question, or None when none fits well enough."""
    scored = [Match(entry, score(question, entry)) for entry in entries]
    best = max(scored, key=lambda m: m.score, default=None)
    return best if best is not None and best.score >= MIN_SCORE else None
