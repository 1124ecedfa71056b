"""Which of the tenant's fabrics a message names: by sku, by name, by part of a name, misspelt.

A span of the message's words is matched word by word against the words of fabric names
(rapidfuzz's ratio for misspellings, same first letter, about one slip in five letters) and
accepted when it settles on one fabric and
  - it is the whole name (a name of only everyday words, like "Sunday Best", also needs a
    pointer: "the sunday best", "have sunday best", or opening the message), or
  - it holds a distinctive word: one no other fabric's name has, that is no colour, category,
    pattern or everyday word ("marigold", "lagoon"; a place like "lagos", or a namesake like "nkrumah" or
    "matatu", only pointed at: "the lagos one"), or
  - it holds two or more words of the name, one of them not everyday ("watamu sunset").
Colour, category and pattern words alone never name a fabric: "gold" is a colour. The exception is a
fabric's own colour or pattern word: one only its name has and no other fabric carries as its colour
or pattern ("ochre" of Ochre Ripple when no fabric is ochre, "champagne" of Champagne Whisper, the only
champagne one). It tells the name apart like a name word ("I need royal ivory"), and names the fabric
alone when pointed at or all the message says ("the ochre one", "remove the champagne", "plaid iko?",
"champagne?"), not when said as a colour ("something ochre", "any champagne lace", "in champagne",
"the champagne colour"). "blue" of Takpekpe Blue, among many blue fabrics, stays a colour.
Words of places after "in", "to", "at" or before "side", "state" are places ("I live in the rift
valley", "like abeokuta side", "how is nairobi"), and a word after "my name is" a name.
The confidence is rapidfuzz's token-sort ratio of the words against the name's words, times
0.9 + 0.1 x the share of the name they cover.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from grace.tenancy.catalog import Catalog, Fabric
from grace.understanding.text import Token, name_words, singular_forms
from grace.understanding.vocabulary import (
    COLOUR_NOUNS,
    COLOUR_SPELLINGS,
    COMMON,
    HAVE_BEFORE_NA,
    IS_AT,
    LOCATIVES,
    LOCATIVES_AFTER,
    MESSAGE_FILLERS,
    NAMESAKES,
    OWN_WORD_POINTERS_AFTER,
    OWN_WORD_POINTERS_BEFORE,
    PLACES,
    POINTERS_AFTER,
    POINTERS_BEFORE,
    WHERE_AFTER_IS_AT,
)

_SKU_PARTS = re.compile(r"^([a-z]+)[-_ ]?(\d+)$")
# Before a place, Pidgin's "comot" and Swahili's "toa" are leaving it ("has my package comot Lagos?"), not taking
# the fabric named after it out of the order ("comot the lagos one" still is); Swahili's "za" is "of" the
# place ("bei za nairobi"), where "za harusi kanga" is of the fabric.
_PLACE_POINTERS = POINTERS_BEFORE - {"comot", "toa", "za"}
_PLACE_POINTERS_BUT_IS = _PLACE_POINTERS - {"is"}


@dataclass(frozen=True)
class FabricMatch:
    sku: str
    start: int  # token index
    end: int    # token index, exclusive
    score: float
    by_sku: bool
    by_attribute: bool = False  # named only by its own colour or pattern word ("the ochre one")


def is_common(word: str) -> bool:
    return word in COMMON or any(s in COMMON for s in singular_forms(word))


@dataclass
class FabricIndex:
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)      # sku -> its name's words
    owners: dict[str, frozenset[str]] = field(default_factory=dict)      # name word -> skus
    joined: dict[str, str] = field(default_factory=dict)                 # "marigoldbloom" -> sku
    sku_keys: dict[str, str] = field(default_factory=dict)               # "AK003" -> "AK-003"
    sku_numbers: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)  # ("ak", 3) -> (sku, width)
    fuzzy_words: list[str] = field(default_factory=list)
    attribute_words: frozenset[str] = frozenset()
    own: dict[str, str] = field(default_factory=dict)  # "ochre" -> "AD-003": a fabric's own colour/pattern word

    @classmethod
    def build(cls, catalog: Catalog, attribute_words: frozenset[str],
              attribute_of: dict[str, tuple[str, str]] | None = None) -> FabricIndex:
        """`attribute_of`: the colour and pattern one word reads as ("golden" -> ("colour", "gold"))."""
        index = cls(attribute_words=attribute_words)
        owners: dict[str, set[str]] = {}
        for fabric in catalog.fabrics:
            words = tuple(dict.fromkeys(name_words(fabric.name)))
            index.names[fabric.sku] = words
            for raw in re.findall(r"[^\W_]+(?:['’][^\W_]+)*", fabric.name.lower()):
                if raw.endswith(("'s", "’s")):  # "oba's" is also written "oba"
                    owners.setdefault(raw[:-2], set()).add(fabric.sku)
            for word in words:
                owners.setdefault(word, set()).add(fabric.sku)
            if len(words) > 1:
                index.joined.setdefault("".join(words), fabric.sku)
            key = re.sub(r"[^A-Za-z0-9]", "", fabric.sku).upper()
            index.sku_keys.setdefault(key, fabric.sku)
            parts = _SKU_PARTS.match(fabric.sku.lower())
            if parts:
                index.sku_numbers.setdefault((parts.group(1), int(parts.group(2))), (fabric.sku, len(parts.group(2))))
        index.owners = {w: frozenset(s) for w, s in owners.items()}
        index.fuzzy_words = sorted(w for w in index.owners if len(w) >= 5 and not is_common(w))
        index.own = _own_words(catalog, index.owners, attribute_of or {})
        return index

    def kind(self, word: str) -> str:
        """'attribute', 'common', 'place' (a place or a namesake: a fabric's only when pointed at), or 'name'
        (a word only a fabric's name would use)."""
        if word in self.attribute_words:
            return "attribute"
        if is_common(word) or len(word) < 3 or word.isdigit():
            return "common"
        if word in PLACES or word in NAMESAKES:
            return "place"
        return "name"


def _carries(fabric: Fabric, kind: str, value: str) -> bool:
    """Whether the fabric is of this colour or pattern ("emerald" also for an "emerald green" fabric)."""
    said = set(name_words(value))
    values = fabric.colors if kind == "colour" else (fabric.pattern,)
    return any(v == value or (said and said <= set(name_words(v))) for v in values)


def _own_words(catalog: Catalog, owners: dict[str, frozenset[str]],
               attribute_of: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The colour and pattern words that are one fabric's own: only its name has the word and no
    other fabric carries that colour or pattern. "ochre" -> "AD-003"; not "golden" where many are gold."""
    own: dict[str, str] = {}
    for word, skus in owners.items():
        if len(skus) != 1 or word not in attribute_of:
            continue
        sku = next(iter(skus))
        kind, value = attribute_of[word]
        if all(f.sku == sku or not _carries(f, kind, value) for f in catalog.fabrics):
            own[word] = sku
    return own


def _word_matches(index: FabricIndex, token: Token) -> dict[str, tuple[str, float]]:
    """The fabrics whose names have this word: sku -> (name word, score 0-100)."""
    hits: dict[str, tuple[str, float]] = {}
    for form in dict.fromkeys((token.norm, token.base, COLOUR_SPELLINGS.get(token.norm, token.norm))):
        for sku in index.owners.get(form, ()):
            hits.setdefault(sku, (form, 100.0))
    if hits or token.has_digit:
        return hits
    word = token.norm
    for singular in singular_forms(word):  # "sunflowers"
        for sku in index.owners.get(singular, ()):
            hits.setdefault(sku, (singular, 95.0))
    if hits or not 5 <= len(word) <= 30 or is_common(word):
        return hits
    if word in index.joined:
        return {}
    for target, score, _ in process.extract(word, index.fuzzy_words, scorer=fuzz.ratio, score_cutoff=80, limit=5):
        if target[0] == word[0] and score >= (80 if min(len(word), len(target)) >= 7 else 83):
            for sku in index.owners[target]:
                if sku not in hits or hits[sku][1] < score:
                    hits[sku] = (target, score)
    return hits


def _pointed(tokens: list[Token], start: int, end: int, attribute_words: frozenset[str],
             before_words: frozenset[str] = POINTERS_BEFORE) -> bool:
    """A word before or after the span that points at a fabric: "the lagos one", "have garden party",
    "mko na harusi kanga"."""
    before = tokens[start - 1].norm if start > 0 else ""
    before2 = tokens[start - 2].norm if start > 1 else ""
    after = tokens[end].norm if end < len(tokens) else ""
    return (before in before_words or (before == "na" and before2 in HAVE_BEFORE_NA) or after in POINTERS_AFTER
            or after in attribute_words)


def _pointed_as_fabric(tokens: list[Token], start: int, end: int) -> bool:
    """Whether a fabric's own colour or pattern word is meant as the fabric: "the ochre one", "remove the
    champagne", "plaid iko?", "champagne?"; not "something ochre", "any champagne lace" or "the champagne
    colour"."""
    before = tokens[start - 1].norm if start > 0 else ""
    before2 = tokens[start - 2].norm if start > 1 else ""
    after = tokens[end].norm if end < len(tokens) else ""
    if after in COLOUR_NOUNS or before in COLOUR_NOUNS or (before == "of" and before2 in COLOUR_NOUNS):
        return False
    alone = all(t.norm in MESSAGE_FILLERS for t in (*tokens[:start], *tokens[end:]))
    return alone or before in OWN_WORD_POINTERS_BEFORE or after in OWN_WORD_POINTERS_AFTER


def _located_or_named(tokens: list[Token], start: int, end: int) -> tuple[bool, bool]:
    """Whether the span follows "in", "to the", ... or comes before "side", "state", ... (a place meant as
    a place: "like abeokuta side") or follows "my name is", "called", "I am" (a person)."""
    before = tokens[start - 1].norm if start > 0 else ""
    before2 = tokens[start - 2].norm if start > 1 else ""
    after = tokens[end].norm if end < len(tokens) else ""
    after2 = tokens[end + 1].norm if end + 1 < len(tokens) else ""
    located = (before in LOCATIVES or (before == "the" and before2 in LOCATIVES) or after in LOCATIVES_AFTER
               or (after in IS_AT and after2 in WHERE_AFTER_IS_AT))
    named = before in ("called", "named", "im") or (before, before2) in (("is", "name"), ("am", "i"))
    return located, named


def _span_match(index: FabricIndex, tokens: list[Token], start: int, end: int,
                hits: list[dict[str, tuple[str, float]]], skus: set[str]) -> FabricMatch | None:
    covered: dict[str, dict[str, float]] = {}
    for sku in skus:
        words: dict[str, float] = {}
        for i in range(start, end):
            word, score = hits[i][sku]
            words[word] = max(words.get(word, 0.0), score)
        covered[sku] = words
    full = [s for s in skus if set(index.names[s]) <= set(covered[s])]
    if len(skus) == 1:
        sku = next(iter(skus))
    elif len(full) == 1:
        sku = full[0]
    else:
        return None  # "royal": Royal Ivory or Royal Weave?
    words = covered[sku]
    name = index.names[sku]
    kinds = {w: index.kind(w) for w in words}
    pointed = _pointed(tokens, start, end, index.attribute_words)
    # "how much is amboseli" asks about a fabric, "how is nairobi treating you" about a city
    how_is = start > 1 and tokens[start - 1].norm == "is" and tokens[start - 2].norm in ("how", "hows")
    place_pointed = _pointed(tokens, start, end, index.attribute_words,
                             _PLACE_POINTERS_BUT_IS if how_is else _PLACE_POINTERS)
    own = {w for w in words if index.own.get(w) == sku}
    telling = [w for w, k in kinds.items() if k in ("name", "place") or w in own]
    distinctive = [w for w in telling if len(index.owners.get(w, ())) == 1 and (
        kinds[w] == "name" or (place_pointed if kinds[w] == "place" else _pointed_as_fabric(tokens, start, end)))]
    is_full = set(name) <= set(words)
    located, named = _located_or_named(tokens, start, end)
    if located and all(kinds[w] != "name" for w in words):
        return None  # "I live in the rift valley", "deliver to lagos"
    if named and not is_full:
        return None  # "my name is Amani"
    accepted = (
        (is_full and len(name) > 1 and (telling or ((pointed or start == 0) and max(map(len, name)) >= 4)))
        or (is_full and len(name) == 1 and bool(distinctive))
        or bool(distinctive)
        or (len(words) >= 2 and bool(telling))
    )
    if not accepted:
        return None
    said = " ".join(tokens[i].norm for i in range(start, end))
    meant = " ".join(w for w in name if w in words) or " ".join(words)
    coverage = len(set(words) & set(name)) / len(name) if name else 1.0
    score = fuzz.token_sort_ratio(said, meant) / 100 * (0.9 + 0.1 * coverage)
    by_attribute = all(kinds[w] == "attribute" for w in words)
    return FabricMatch(sku, start, end, round(score, 3), by_sku=False, by_attribute=by_attribute)


def find_by_name(index: FabricIndex, tokens: list[Token], joined: list[bool]) -> list[FabricMatch]:
    hits = [_word_matches(index, t) for t in tokens]
    found: list[FabricMatch] = []
    i, n = 0, len(tokens)
    while i < n:
        sku = index.joined.get(tokens[i].norm)
        if sku:  # "sundaybest"
            found.append(FabricMatch(sku, i, i + 1, 0.97, by_sku=False))
            i += 1
            continue
        if not hits[i]:
            i += 1
            continue
        skus, j = set(hits[i]), i + 1
        while j < n and joined[j - 1] and hits[j] and skus & set(hits[j]):
            skus &= set(hits[j])
            j += 1
        match = _span_match(index, tokens, i, j, hits, skus)
        if match is None and j - i > 1:  # the run as a whole settles nothing: try its first word alone
            match = _span_match(index, tokens, i, i + 1, hits, set(hits[i]))
            j = i + 1
        if match:
            match = _with_short_misspelling(index, tokens, joined, match, j)
            found.append(match)
            j = match.end
        i = j
    return found


def _with_short_misspelling(index: FabricIndex, tokens: list[Token], joined: list[bool], match: FabricMatch,
                            end: int) -> FabricMatch:
    """ "akyekyede akye" for Akyekyede Akyi: a short word (too short to be read as a typo on its own) right
    after a matched name is part of it when it is a misspelling of that name's next word."""
    if end >= len(tokens) or not joined[end - 1]:
        return match
    word, name = tokens[end].norm, index.names[match.sku]
    said = {tokens[k].norm for k in range(match.start, end)}
    for part in name:
        if part not in said and 3 <= len(part) <= 4 and len(word) >= 3 and part[0] == word[0] \
                and fuzz.ratio(word, part) >= 70:
            return FabricMatch(match.sku, match.start, end + 1, match.score, match.by_sku, match.by_attribute)
    return match


def find_by_sku(index: FabricIndex, tokens: list[Token], gaps: list[str]) -> list[FabricMatch]:
    """"AK-003", "ak003", "AK_003", "ak 003" (a space only with the zeros: "same as 2" is no sku).
    `gaps[k]` is what separates token k from k+1: "-" (a hyphen or underscore), " " or "|" (anything else)."""
    found: list[FabricMatch] = []
    n, i = len(tokens), 0
    while i < n:
        for size in (3, 2, 1):
            inner = gaps[i:i + size - 1]
            if i + size > n or "|" in inner or (" " in inner and size > 2):
                continue
            words = [t.norm for t in tokens[i:i + size]]
            key = "".join(words)
            if not any(c.isdigit() for c in key) or not any(c.isalpha() for c in key):
                continue
            spaced = " " in inner
            sku = None if spaced else index.sku_keys.get(key.upper())
            parts = _SKU_PARTS.match(key) if size <= 2 else None
            if sku is None and parts:
                hit = index.sku_numbers.get((parts.group(1), int(parts.group(2))))
                if hit and (not spaced or (hit[1] > 1 and len(parts.group(2)) >= hit[1])):
                    sku = hit[0]
            if sku:
                found.append(FabricMatch(sku, i, i + size, 1.0, by_sku=True))
                i += size
                break
        else:
            i += 1
    return found
