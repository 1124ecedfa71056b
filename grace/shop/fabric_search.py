"""What fabric a customer asks for, and which catalog fabrics fit it best."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from grace.tenancy.catalog import Catalog, Fabric


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


def query_from(entities: Iterable[tuple[str, object]]) -> FabricQuery:
    """The query a message's catalog-aware entities make ((entity, value) pairs: grace.understanding
    found the categories, colours and patterns in the catalog's own words, aliases and typos included)."""
    query = FabricQuery()
    for entity, value in entities:
        found = {"category": query.categories, "colour": query.colors, "pattern": query.patterns}.get(entity)
        if found is not None and isinstance(value, str) and value not in found:
            found.append(value)
    return query


def _of_kind(fabric: Fabric, categories: list[str]) -> bool:
    """ "kente" asks for every kind of kente (asante kente, ewe kente); "lace" for lace."""
    kinds = set(fabric.category.replace("-", " ").split())
    return any(c == fabric.category or set(c.replace("-", " ").split()) <= kinds for c in categories)


def _score(fabric: Fabric, query: FabricQuery) -> int:
    score = 0
    if _of_kind(fabric, query.categories):
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
        return ((not query.categories or _of_kind(f, query.categories))
                and (not query.colors or bool(set(f.colors).intersection(query.colors)))
                and (not query.patterns or any(p in f.pattern for p in query.patterns)))

    exact_matches = [f for f in in_stock if exact(f)]
    exact_matches.sort(key=lambda f: -_score(f, query))
    if exact_matches:
        return SearchResult(exact_matches, exact=True)
    closest = sorted((f for f in in_stock if _score(f, query) > 0), key=lambda f: -_score(f, query))
    return SearchResult(closest or in_stock, exact=False)
