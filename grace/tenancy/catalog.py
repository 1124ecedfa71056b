"""A tenant's fabric catalog: parsing with row-level validation, and look-ups."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from grace.money import MoneyError, to_minor

COLUMNS = ("sku", "name", "category", "colors", "pattern", "price", "unit",
           "min_qty", "stock", "image_url", "description")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
MAX_QTY = 100_000


@dataclass(frozen=True)
class Fabric:
    sku: str
    name: str
    category: str
    colors: tuple[str, ...]
    pattern: str
    price_minor: int
    unit: str
    min_qty: int
    stock: int
    image_url: str
    description: str

    def unit_plural(self, qty: int) -> str:
        return self.unit if qty == 1 else plural(self.unit)


def plural(unit: str) -> str:
    return unit if unit.endswith("s") else unit + "s"


@dataclass(frozen=True)
class RowError:
    line: int
    sku: str
    column: str
    problem: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (sku {self.sku})" if self.sku else "")
        return f"{where}, column {self.column}: {self.problem}"


class CatalogError(ValueError):
    """Every problem found in a catalog file, so all can be fixed in one go."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} problem(s): {shown}{more}")


@dataclass
class Catalog:
    fabrics: list[Fabric]
    by_sku: dict[str, Fabric] = field(init=False)

    def __post_init__(self) -> None:
        self.by_sku = {f.sku.upper(): f for f in self.fabrics}

    def get(self, sku: str) -> Fabric | None:
        return self.by_sku.get(sku.upper())

    @property
    def categories(self) -> set[str]:
        return {f.category for f in self.fabrics}

    @property
    def colors(self) -> set[str]:
        return {c for f in self.fabrics for c in f.colors}

    @property
    def patterns(self) -> set[str]:
        return {f.pattern for f in self.fabrics if f.pattern}


def _int_field(value: str, column: str, line: int, sku: str, errors: list[RowError],
               minimum: int) -> int:
    try:
        number = int(value.replace(",", "").strip())
    except ValueError:
        errors.append(RowError(line, sku, column, f"expected a whole number, got {value!r}"))
        return 0
    if number < minimum or number > MAX_QTY:
        errors.append(RowError(line, sku, column, f"must be between {minimum} and {MAX_QTY}, got {number}"))
    return number


def parse_catalog(text: str, currency: str, image_base_url: str = "") -> Catalog:
    """Parse catalog CSV text. Raises CatalogError listing every bad row and column."""
    text = text.lstrip("\ufeff")  # Excel writes a BOM
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CatalogError([RowError(1, "", c, "missing column") for c in missing])
    reader.fieldnames = header
    errors: list[RowError] = []
    fabrics: list[Fabric] = []
    seen_skus: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        row = {k: (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()}
        sku = row["sku"]
        if not _SKU.match(sku):
            errors.append(RowError(line, sku, "sku", "letters, digits, '-' or '_' only (1-32)"))
        elif sku.upper() in seen_skus:
            errors.append(RowError(line, sku, "sku", f"duplicate of line {seen_skus[sku.upper()]}"))
        else:
            seen_skus[sku.upper()] = line
        for column in ("name", "category", "unit"):
            if not row[column]:
                errors.append(RowError(line, sku, column, "is empty"))
        try:
            price = to_minor(row["price"], currency)
            if price <= 0:
                errors.append(RowError(line, sku, "price", f"must be more than 0, got {row['price']!r}"))
        except MoneyError as exc:
            errors.append(RowError(line, sku, "price", str(exc)))
            price = 0
        min_qty = _int_field(row["min_qty"] or "1", "min_qty", line, sku, errors, 1)
        stock = _int_field(row["stock"] or "0", "stock", line, sku, errors, 0)
        image = row["image_url"]
        if image and re.match(r"^[a-z]+:", image, re.I) and not image.lower().startswith(("http://", "https://")):
            errors.append(RowError(line, sku, "image_url", f"must be http(s) or a relative path, got {image!r}"))
        fabrics.append(Fabric(
            sku=sku, name=row["name"], category=row["category"].lower(),
            colors=tuple(c.strip().lower() for c in row["colors"].split(";") if c.strip()),
            pattern=row["pattern"].lower(), price_minor=price, unit=row["unit"].lower(),
            min_qty=min_qty, stock=stock,
            image_url=urljoin(image_base_url, image) if image else "",
            description=row["description"],
        ))
    if errors:
        raise CatalogError(errors)
    return Catalog(fabrics)
