"""What fabric a customer asks for, and which catalog fabrics fit it best."""
from __future__ import annotations

from dataclasses import dataclass, field

from grace.shop.textmatch import fuzzy_in, normalise, words
from grace.tenancy.catalog import Catalog, Fabric

# Ways customers name colours, patterns and categories that differ from the catalog's words.
COLOR_ALIASES = {
    "wine": ("burgundy", "maroon", "wine"), "burgundy": ("wine", "maroon", "burgundy"),
    "gold": ("gold", "golden", "yellow"), "golden": ("gold",), "navy": ("navy", "blue"),
    "indigo": ("indigo", "blue"), "teal": ("teal", "green", "blue"), "cream": ("cream", "ivory", "white"),
    "ivory": ("ivory", "cream", "white"), "peach": ("peach", "orange", "pink"),
    "lilac": ("lilac", "purple"), "violet": ("purple",), "grey": ("grey", "gray", "silver"),
    "gray": ("grey", "gray", "silver"), "silver": ("silver", "grey"), "maroon": ("maroon", "burgundy", "wine"),
}
PATTERN_ALIASES = {
    "flower": "floral", "flowers": "floral", "flowery": "floral", "floral": "floral",
    "stripe": "stripes", "stripes": "stripes", "striped": "stripes", "lines": "stripes",
    "geometric": "geometric", "shapes": "geometric", "squares": "geometric", "triangles": "geometric",
    "dots": "polka dots", "polka": "polka dots", "spots": "polka dots",
    "tie-dye": "tie-dye", "tie": "tie-dye", "dye": "tie-dye", "abstract": "abstract",
    "plain": "plain", "embroidered": "embroidered", "embroidery": "embroidered", "beaded": "beaded",
    "beads": "beaded", "stones": "beaded", "sequin": "sequins", "sequins": "sequins", "chevron": "chevron",
}
CATEGORY_ALIASES = {
    "aso oke": "aso-oke", "asooke": "aso-oke", "aso-oke": "aso-oke", "ankara": "ankara", "ankra": "ankara",
    "wax": "ankara", "adire": "adire", "kampala": "adire", "tie and dye": "adire", "kente": "kente",
    "lace": "lace", "laces": "lace", "george": "george", "voile": "voile", "brocade": "brocade",
    "damask": "brocade",
}


@dataclass
class FabricQuery:
    categories: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.categories or self.colors or self.patterns)

    def describe(self) -> str:
        return " ".join([*self.colors, *self.patterns, *self.categories]) or "fabrics"

    def as_dict(self) -> dict:
        return {"categories": self.categories, "colors": self.colors, "patterns": self.patterns}

    @classmethod
    def from_dict(cls, data: dict | None) -> FabricQuery:
        data = data or {}
        return cls(list(data.get("categories", [])), list(data.get("colors", [])),
                   list(data.get("patterns", [])))


def parse_query(text: str, catalog: Catalog) -> FabricQuery:
    """Categories, colours and patterns named in a message, in the catalog's own words."""
    text = normalise(text)
    tokens = words(text)
    query = FabricQuery()
    for phrase, category in CATEGORY_ALIASES.items():
        if category in catalog.categories and fuzzy_in(phrase, tokens, 0.85) and category not in query.categories:
            query.categories.append(category)
    for category in sorted(catalog.categories):
        if fuzzy_in(category.replace("-", " "), tokens, 0.85) and category not in query.categories:
            query.categories.append(category)
    known_colors = catalog.colors
    for token in tokens:
        for color in (token, *COLOR_ALIASES.get(token, ())):
            if color in known_colors and color not in query.colors:
                query.colors.append(color)
                break
        pattern = PATTERN_ALIASES.get(token)
        if pattern and pattern not in query.patterns:
            query.patterns.append(pattern)
    for pattern in catalog.patterns:
        if fuzzy_in(pattern, tokens, 0.9) and pattern not in query.patterns:
            query.patterns.append(pattern)
    return query


def _score(fabric: Fabric, query: FabricQuery) -> int:
    score = 0
    if fabric.category in query.categories:
        score += 4
    score += 2 * len(set(fabric.colors).intersection(query.colors))
    if fabric.pattern in query.patterns or any(p in fabric.pattern for p in query.patterns):
        score += 2
    return score


@dataclass
class SearchResult:
    fabrics: list[Fabric]
    exact: bool  # every requested attribute is matched by the first fabric(s)


def search(catalog: Catalog, query: FabricQuery, unavailable: set[str],
           preferred: list[str] | None = None) -> SearchResult:
    """Fabrics in stock, best fit first. With no exact match, the closest alternatives."""
    in_stock = [f for f in catalog.fabrics if f.sku not in unavailable]
    if query.is_empty():
        rank = {sku: i for i, sku in enumerate(preferred or [])}
        return SearchResult(sorted(in_stock, key=lambda f: rank.get(f.sku, len(rank))), exact=True)

    def exact(f: Fabric) -> bool:
        return ((not query.categories or f.category in query.categories)
                and (not query.colors or bool(set(f.colors).intersection(query.colors)))
                and (not query.patterns or any(p in f.pattern for p in query.patterns)))

    exact_matches = [f for f in in_stock if exact(f)]
    exact_matches.sort(key=lambda f: -_score(f, query))
    if exact_matches:
        return SearchResult(exact_matches, exact=True)
    closest = sorted((f for f in in_stock if _score(f, query) > 0), key=lambda f: -_score(f, query))
    return SearchResult(closest or in_stock, exact=False)
