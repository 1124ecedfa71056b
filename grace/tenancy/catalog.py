"""A tenant's fabric catalog: parsing with row-level validation, and look-ups."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from grace.money import MoneyError, exponent, format_money, to_minor

COLUMNS = ("sku", "name", "category", "colors", "pattern", "price", "unit",
           "min_qty", "stock", "image_url", "description", "tiers")
OPTIONAL_COLUMNS = ("tiers",)  # a catalog without them still loads (written before they existed)
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
TIERS_EXAMPLE = "30:4000;100:3600"
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_TIER = re.compile(r"^([0-9]+)\s*:(.*)$")  # from-quantity:price
MAX_QTY = 100_000


@dataclass(frozen=True)
class Tier:
    """A wholesale price: from `from_qty` units (in one order line) each costs `price_minor`."""

    from_qty: int
    price_minor: int


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
    tiers: tuple[Tier, ...] = ()  # quantities going up, prices going down, all below price_minor

    def tier_for(self, qty: int) -> Tier | None:
        """The wholesale tier a line of `qty` units reaches (None: the catalog price)."""
        reached = [tier for tier in self.tiers if tier.from_qty <= qty]
        return reached[-1] if reached else None

    def next_tier(self, qty: int) -> Tier | None:
        """The first tier above `qty` units, if any."""
        return next((tier for tier in self.tiers if tier.from_qty > qty), None)

    def unit_price_minor(self, qty: int) -> int:
        """The price of one unit in a line of `qty` units."""
        tier = self.tier_for(qty)
        return tier.price_minor if tier else self.price_minor

    def unit_plural(self, qty: int) -> str:
        return unit_for(self.unit, qty)


def plural(unit: str) -> str:
    return unit if unit.endswith("s") else unit + "s"


def unit_for(unit: str, quantity: int) -> str:
    """"1 yard", "6 yards": the unit as a quantity of it reads."""
    return unit if quantity == 1 else plural(unit)


def line_in_words(quantity: int, unit: str, name: str) -> str:
    """"6 yards of Marigold Bloom": an order line as a customer reads it."""
    return f"{quantity} {unit_for(unit, quantity)} of {name}"


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


def major_text(minor: int, currency: str) -> str:
    """An amount as a catalog cell holds it, in major units without symbol or separators: 4000, 85.50."""
    exp = exponent(currency)
    major, rest = divmod(minor, 10**exp) if exp else (minor, 0)
    return f"{major}.{rest:0{exp}d}" if rest else str(major)


def parse_tiers(text: str, currency: str, price_minor: int | None,
                min_qty: int | None) -> tuple[tuple[Tier, ...], str | None]:
    """The tiers of a `tiers` cell ("30:4000;100:3600", major units) and the first problem, or None.

    From-quantities must go up and stay above the minimum order (at the minimum every order would pay
    the tier: that is the price); each tier's price must be below the one before it, the first below
    `price_minor` (None: the price column is itself wrong, so that check waits)."""
    tiers: list[Tier] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        match = _TIER.match(part)
        if not match:
            return (), f"{part!r} is not quantity:price (write them like {TIERS_EXAMPLE})"
        qty, amount = int(match.group(1)), match.group(2).strip()
        if not re.fullmatch(r"-?[0-9,]*\.?[0-9]+", amount):
            return (), f"{part!r} is not quantity:price (write them like {TIERS_EXAMPLE})"
        try:
            price = to_minor(amount, currency)
        except MoneyError as exc:
            return (), f"the price from {qty}: {exc}"
        if qty > MAX_QTY:
            return (), f"from {qty}: quantities go up to {MAX_QTY}"
        if price <= 0:
            return (), f"the price from {qty} must be more than 0"
        if tiers and qty <= tiers[-1].from_qty:
            return (), f"the quantities must go up: {qty} comes after {tiers[-1].from_qty}"
        if min_qty is not None and qty <= min_qty:
            return (), (f"from {qty} is not above the minimum order ({min_qty}): every order would pay it; "
                        "change the price instead")
        money = format_money(price, currency)
        if tiers and price >= tiers[-1].price_minor:
            before = tiers[-1]
            return (), (f"the price from {qty} ({money}) must be below the one from {before.from_qty} "
                        f"({format_money(before.price_minor, currency)})")
        if not tiers and price_minor is not None and price >= price_minor:
            return (), f"the price from {qty} ({money}) must be below the price ({format_money(price_minor, currency)})"
        tiers.append(Tier(qty, price))
    return tuple(tiers), None


def parse_catalog(text: str, currency: str, image_base_url: str = "") -> Catalog:
    """Parse catalog CSV text. Raises CatalogError listing every bad row and column."""
    text = text.lstrip("\ufeff")  # Excel writes a BOM
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
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
        price_ok = False
        try:
            price = to_minor(row["price"], currency)
            if price <= 0:
                errors.append(RowError(line, sku, "price", f"must be more than 0, got {row['price']!r}"))
            else:
                price_ok = True
        except MoneyError as exc:
            errors.append(RowError(line, sku, "price", str(exc)))
            price = 0
        found = len(errors)
        min_qty = _int_field(row["min_qty"] or "1", "min_qty", line, sku, errors, 1)
        min_ok = len(errors) == found
        stock = _int_field(row["stock"] or "0", "stock", line, sku, errors, 0)
        tiers, problem = parse_tiers(row.get("tiers", ""), currency, price if price_ok else None,
                                     min_qty if min_ok else None)
        if problem:
            errors.append(RowError(line, sku, "tiers", problem))
        image = row["image_url"]
        if image and re.match(r"^[a-z]+:", image, re.I) and not image.lower().startswith(("http://", "https://")):
            errors.append(RowError(line, sku, "image_url", f"must be http(s) or a relative path, got {image!r}"))
        fabrics.append(Fabric(
            sku=sku, name=row["name"], category=row["category"].lower(),
            colors=tuple(c.strip().lower() for c in row["colors"].split(";") if c.strip()),
            pattern=row["pattern"].lower(), price_minor=price, unit=row["unit"].lower(),
            min_qty=min_qty, stock=stock,
            image_url=urljoin(image_base_url, image) if image else "",
            description=row["description"], tiers=tiers,
        ))
    if errors:
        raise CatalogError(errors)
    return Catalog(fabrics)
