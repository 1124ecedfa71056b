"""Categories, colours and patterns named in a message, in the tenant's catalog words.

Each is matched as a phrase of one to a few words ("wax print", "royal blue"), also in
simple plurals ("laces"), the usual other names ("asooke", "flowers" for floral) and
small misspellings ("batick", "kitengi"). A phrase both a category and a pattern of the
catalog is read as the category; a colour word is a colour even when no fabric has it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from grace.tenancy.catalog import Catalog
from grace.understanding.text import Token, name_words
from grace.understanding.vocabulary import (
    BASIC_COLOURS,
    COLOUR_SPELLINGS,
    COMMON,
    GENERIC_ATTRIBUTE_WORDS,
    MULTIWORD_COLOURS,
    SWAHILI_COLOURS,
)

# Other names of categories: (customer's words, catalog categories they may mean, first one present wins).
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "aso oke": ("aso-oke", "aso oke"), "asooke": ("aso-oke", "aso oke"), "ankra": ("ankara",),
    "wax": ("ankara", "wax print"), "kampala": ("adire",), "tie and dye": ("adire",), "damask": ("brocade",),
    "lase": ("lace",), "kitenges": ("kitenge",), "chitenge": ("kitenge",), "leso": ("kanga",),
    "lesos": ("kanga",), "shukas": ("maasai shuka",), "shuka": ("maasai shuka",),
}
# Other names of patterns.
PATTERN_ALIASES: dict[str, tuple[str, ...]] = {
    "flower": ("floral",), "flowers": ("floral",), "flowery": ("floral",), "florals": ("floral",),
    "stripe": ("stripes",), "striped": ("stripes",), "stripy": ("stripes",),
    "shapes": ("geometric",), "squares": ("geometric",), "triangles": ("geometric",),
    "dots": ("polka dots",), "polka": ("polka dots",), "spots": ("polka dots",), "dotted": ("polka dots",),
    "tie dye": ("tie-dye",), "tiedye": ("tie-dye",), "tie and dye": ("tie-dye",),
    "embroidery": ("embroidered",), "beads": ("beaded",), "stones": ("beaded",), "stoned": ("beaded",),
    "sequin": ("sequins", "sequined"), "sequins": ("sequins", "sequined"), "sequence": ("sequins", "sequined"),
    "checked": ("checks", "check", "plaid"), "checkered": ("checks", "check", "plaid"),
    "chevrons": ("chevron",), "zigzag": ("chevron",), "plaids": ("plaid",), "tartan": ("plaid",),
    "motifs": ("motif", "motifs"), "animal": ("animal print",), "leopard": ("animal print",),
}
# Colour words read as the catalog's colour when it has it ("golden" -> "gold").
COLOUR_ALIASES: dict[str, tuple[str, ...]] = {
    "golden": ("gold",), "gray": ("grey",), "grey": ("gray",), "violet": ("purple",), "maroon": ("wine", "burgundy"),
    "burgundy": ("wine", "maroon"), "wine": ("burgundy", "maroon"), "offwhite": ("off white", "cream"),
}
KIND_ORDER = ("category", "pattern", "colour")


def plural_forms(word: str) -> list[str]:
    """The plural of a catalog word ("lace" -> "laces", "dress" -> "dresses"); none for one that already
    is a plural ("stripes", "cowrie shells"): "stripess" would make "stress" a near miss of a pattern."""
    if word.endswith(("ss", "x", "ch", "sh", "z")):
        return [word + "es"]
    if word.endswith(("s", "ed")) or len(word) < 3:  # "stripes", "beaded"
        return []
    return [word + "s"]


def singular_form(word: str) -> str | None:
    """The singular of a plural catalog word ("stripes" -> "stripe", "dresses" -> "dress"), else None."""
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return None


@dataclass(frozen=True)
class AttributeMatch:
    kind: str
    value: str
    start: int  # token index
    end: int    # token index, exclusive
    score: float


@dataclass
class AttributeIndex:
    phrases: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    fuzzy_words: list[str] = field(default_factory=list)
    max_words: int = 1

    @property
    def words(self) -> frozenset[str]:
        """Every word that is (part of) a category, colour or pattern."""
        return frozenset(w for phrase in self.phrases for w in phrase)

    def single_words(self, kinds: tuple[str, ...] = ("colour", "pattern")) -> dict[str, tuple[str, str]]:
        """Each one-word phrase of these kinds and what it reads as: "golden" -> ("colour", "gold")."""
        return {p[0]: hit for p, hit in self.phrases.items() if len(p) == 1 and hit[0] in kinds}

    def add(self, phrase: tuple[str, ...] | list[str], kind: str, value: str) -> None:
        phrase = tuple(phrase)
        if phrase and phrase not in self.phrases:
            self.phrases[phrase] = (kind, value)
            self.max_words = max(self.max_words, len(phrase))

    @classmethod
    def build(cls, catalog: Catalog) -> AttributeIndex:
        index = cls()
        categories, patterns = sorted(catalog.categories), sorted(catalog.patterns)
        colours = sorted(catalog.colors)
        # Exact catalog phrases first: they win over every variant added after them.
        for kind, values in (("category", categories), ("pattern", patterns), ("colour", colours)):
            for value in values:
                index.add(name_words(value), kind, value)
                joined = "".join(name_words(value))
                if len(name_words(value)) > 1 and len(joined) >= 5:
                    index.add((joined,), kind, value)
        for kind, values in (("category", categories), ("pattern", patterns)):
            for value in values:
                words = name_words(value)
                if not words:
                    continue
                for plural in plural_forms(words[-1]):
                    index.add((*words[:-1], plural), kind, value)
                singular = singular_form(words[-1])
                if singular and singular not in COMMON:  # "checks" -> not "check"
                    index.add((*words[:-1], singular), kind, value)
        for kind, aliases, values in (("category", CATEGORY_ALIASES, categories),
                                      ("pattern", PATTERN_ALIASES, patterns)):
            for alias, targets in aliases.items():
                target = next((t for t in targets if t in values), None)
                if target:
                    index.add(alias.split(), kind, target)
        # A telling word of a longer category or pattern ("stole" -> "kente stole"); a word
        # several share ("kente" in asante kente and ewe kente) stands for itself.
        for kind, values in (("category", categories), ("pattern", patterns)):
            owners: dict[str, list[str]] = {}
            for value in values:
                words = name_words(value)
                if len(words) < 2:
                    continue
                for word in words:
                    if len(word) >= 3 and word not in GENERIC_ATTRIBUTE_WORDS and word not in COMMON:
                        owners.setdefault(word, []).append(value)
            for word, owned in sorted(owners.items()):
                value = owned[0] if len(owned) == 1 else word
                index.add((word,), kind, value)
                for plural in plural_forms(word):
                    index.add((plural,), kind, value)
        for alias, targets in COLOUR_ALIASES.items():
            target = next((t for t in targets if t in colours), None)
            if target:
                index.add((alias,), "colour", target)
        for colour in (*MULTIWORD_COLOURS, *sorted(BASIC_COLOURS)):
            spelled = COLOUR_SPELLINGS.get(colour, colour)
            index.add(colour.split(), "colour", spelled if spelled in colours else spelled)
        for word, colour in SWAHILI_COLOURS.items():
            target = next((t for t in (colour, *COLOUR_ALIASES.get(colour, ())) if t in colours), colour)
            index.add((word,), "colour", target)
        # Not the Swahili colours: "kijana" (a young man) is no misspelt "kijani".
        index.fuzzy_words = sorted(p[0] for p in index.phrases
                                   if len(p) == 1 and len(p[0]) >= 5 and p[0] not in SWAHILI_COLOURS)
        return index


def _fuzzy_ok(word: str, target: str, score: float) -> bool:
    if word[0] != target[0]:
        return False
    return score >= (80 if min(len(word), len(target)) >= 6 else 85)


def find_attributes(index: AttributeIndex, tokens: list[Token], joined: list[bool]) -> list[AttributeMatch]:
    """Longest phrases first, left to right. `joined[i]`: token i and i+1 are one phrase's words
    (only spaces or a hyphen between them)."""
    found: list[AttributeMatch] = []
    i, n = 0, len(tokens)
    while i < n:
        matched = False
        for size in range(min(index.max_words, n - i), 0, -1):
            if size > 1 and not all(joined[i:i + size - 1]):
                continue
            hit = index.phrases.get(tuple(t.norm for t in tokens[i:i + size]))
            if hit:
                found.append(AttributeMatch(hit[0], hit[1], i, i + size, 1.0))
                i += size
                matched = True
                break
        if matched:
            continue
        word = tokens[i].norm
        if 5 <= len(word) <= 30 and word not in COMMON and not tokens[i].has_digit and index.fuzzy_words:
            best = process.extractOne(word, index.fuzzy_words, scorer=fuzz.ratio, score_cutoff=80)
            if best and _fuzzy_ok(word, best[0], best[1]):
                kind, value = index.phrases[(best[0],)]
                found.append(AttributeMatch(kind, value, i, i + 1, round(best[1] / 100, 3)))
        i += 1
    return found
