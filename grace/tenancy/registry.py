"""Tenants: one folder each under tenants/, read at request time through a cache.

An edit to a tenant's files takes effect on the next message (no restart, no
retraining). A malformed edit is reported with the file and field, and the last
good version keeps serving customers meanwhile.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from grace.config import load_settings
from grace.errors import TenantFileError, UnknownTenant
from grace.money import MoneyError, to_minor
from grace.tenancy.catalog import Catalog, CatalogError, Fabric, parse_catalog
from grace.tenancy.hours import OpeningHours

log = logging.getLogger(__name__)

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
REDIRECT_KINDS = ("flattery", "trivia", "smalltalk", "bot_challenge")


@dataclass(frozen=True)
class Payment:
    bank_name: str
    account_name: str
    account_number: str
    instructions: str
    sample: bool = False


@dataclass(frozen=True)
class Promotion:
    """A promo code and its terms. Money in minor units of the tenant's currency (the YAML has major units)."""

    code: str
    description: str
    percent_off: float  # 0 when the promotion takes a fixed amount off instead
    valid_until: date
    amount_off_minor: int = 0  # a fixed amount off, capped at what the qualifying lines cost
    min_qty: int = 0  # units (yards, pieces...) of the qualifying lines together; 0: no minimum
    min_total_minor: int = 0  # what the qualifying lines cost together, before the discount; 0: no minimum
    categories: tuple[str, ...] = ()  # lower case, as in the catalog; with skus: the lines that qualify
    skus: tuple[str, ...] = ()  # no categories and no skus: every line qualifies
    starts: date | None = None
    max_uses_per_customer: int = 0  # 0: no limit; orders cancelled or expired do not count
    first_order_only: bool = False  # only for customers with no order yet (cancelled or expired ones aside)

    def is_valid_on(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and day <= self.valid_until

    @property
    def restricted(self) -> bool:
        """Only some lines qualify (by category or sku)."""
        return bool(self.categories or self.skus)

    def applies_to(self, fabric: Fabric) -> bool:
        return not self.restricted or fabric.category.lower() in self.categories or fabric.sku.upper() in self.skus


@dataclass(frozen=True)
class Zone:
    """An area the business delivers to, with its fee (minor units) and how long it takes ("1-2" days)."""

    name: str
    areas: tuple[str, ...]  # the places customers name for it ("Lekki", "Ajah", "VI"): matched by grace.shop.delivery
    fee_minor: int
    days: str = ""


@dataclass(frozen=True)
class Pickup:
    address: str
    note: str = ""


@dataclass(frozen=True)
class Delivery:
    """How fabric reaches customers (`delivery:` in tenant.yml). A tenant without it asks nothing about
    delivery; with it, Grace asks pickup or delivery and the area before the summary."""

    pickup: Pickup | None
    zones: tuple[Zone, ...]
    free_above_minor: int = 0  # orders whose fabric costs this much or more are delivered free; 0: never free


PAYMENT_LINK_PROVIDERS = ("paystack", "stripe")


@dataclass(frozen=True)
class FollowUps:
    """Messages Grace writes first to bring a customer back (`follow_ups:` in tenant.yml), each one off unless
    the business turns it on: a restock alert for a sold-out fabric the customer asked to hear about, one
    nudge for an order summary left unconfirmed, a reorder suggestion some days after delivery. None of them
    goes out during the quiet hours (in the tenant's timezone): it waits for their end (grace.shop.follow_ups)."""

    restock_alerts: bool = False
    summary_nudge_minutes: float = 0  # after the summary; 0: no nudge
    reorder_after_days: int = 0  # after delivery; 0: no suggestion
    quiet_hours: tuple[time, time] | None = None  # (start, end) local time; the end may be the next morning

    def is_quiet(self, local: time) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        return start <= local < end if start < end else local >= start or local < end


@dataclass(frozen=True)
class Retention:
    """How long the business keeps what customers sent (`retention:` in tenant.yml), each in days and kept for
    ever when left out: proof pictures (the payment rows stay), conversations (Rasa's events), other media they
    sent. Applied by the outbox worker's hourly sweep (grace.privacy.retention)."""

    proof_images_days: int | None = None
    conversations_days: int | None = None
    media_days: int | None = None


@dataclass(frozen=True)
class Voice:
    persona: str
    humour: str
    redirects: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class FaqEntry:
    q: str
    a: str


@dataclass
class Tenant:
    id: str
    name: str
    whatsapp_numbers: tuple[str, ...]
    currency: str
    timezone: ZoneInfo
    deposit_percent: float
    hold_hours: float
    order_prefix: str
    image_base_url: str
    hours: OpeningHours
    payment: Payment
    ops: tuple[str, ...]
    voice: Voice
    policies: dict[str, str]
    faq: tuple[FaqEntry, ...]
    promotions: tuple[Promotion, ...]
    messages: dict[str, object]
    catalog: Catalog
    extra: dict = field(default_factory=dict)
    payment_reminder_hours: float = 6  # a confirmed order without proof is reminded once (0: never)
    max_unpaid_orders: int = 2  # orders one customer may hold stock with before paying for any
    takeover_idle_minutes: float = 120  # a person's takeover with no activity this long hands back to Grace
    delivery: Delivery | None = None
    deposit_includes_delivery: bool = True  # the deposit is a share of the whole total, delivery fee included
    pay_on_delivery: bool = False  # the balance may be paid on delivery: shipping is not held for it
    payment_links: str = ""  # "", "paystack" or "stripe": the summary after YES carries a checkout link
    payment_secret_key_env: str = ""  # the environment variable holding that provider's secret key
    # Stripe signs its webhooks with the endpoint's own signing secret (whsec_...), not the API key; Paystack
    # signs with the secret key itself (this stays "").
    payment_webhook_secret_env: str = ""
    follow_ups: FollowUps = field(default_factory=FollowUps)
    retention: Retention = field(default_factory=Retention)

    def payment_secret_key(self) -> str:
        """The payment link provider's secret key, from the environment (never from tenant.yml); "" unset."""
        return os.environ.get(self.payment_secret_key_env, "") if self.payment_secret_key_env else ""

    def payment_webhook_secret(self) -> str:
        """The secret a provider's webhook is signed with: Stripe's endpoint secret, Paystack's secret key."""
        if self.payment_webhook_secret_env:
            return os.environ.get(self.payment_webhook_secret_env, "")
        return self.payment_secret_key()

    def now(self) -> datetime:
        return datetime.now(self.timezone)

    def local(self, stored: datetime) -> datetime:
        """A time as the store keeps it (naive UTC) in the business's own timezone."""
        return stored.replace(tzinfo=timezone.utc).astimezone(self.timezone)

    def promotion(self, code: str) -> Promotion | None:
        wanted = code.strip().upper()
        return next((p for p in self.promotions if p.code.upper() == wanted), None)


class _Reader:
    """Reads typed fields from parsed YAML, naming the file and field on any problem."""

    def __init__(self, path: Path, data: object, prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def error(self, field_name: str, problem: str) -> TenantFileError:
        return TenantFileError(str(self.path), self.prefix + field_name, problem)

    def get(self, dotted: str, default=...):
        node = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node or node[part] is None:
                if default is ...:
                    raise self.error(dotted, "missing")
                return default
            node = node[part]
        return node

    def items(self, dotted: str) -> list[_Reader]:
        """One reader per entry of a list of mappings (promotions, faq)."""
        value = self.get(dotted, [])
        if not isinstance(value, list):
            raise self.error(dotted, "expected a list")
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{dotted}[{i}]", "expected a mapping")
            readers.append(_Reader(self.path, item, f"{self.prefix}{dotted}[{i}]."))
        return readers

    def text(self, dotted: str, default=...) -> str:
        value = self.get(dotted, default)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.error(dotted, f"expected text, got {value!r}")
        if default is ... and not str(value).strip():
            raise self.error(dotted, "is empty")
        return str(value).strip()

    def number(self, dotted: str, low: float, high: float, default=...) -> float:
        value = self.get(dotted, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.error(dotted, f"expected a number from {low:g} to {high:g}, got {value!r}")
        return value

    def day(self, dotted: str) -> date:
        value = self.get(dotted)
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        if not isinstance(value, date):
            raise self.error(dotted, f"expected a date YYYY-MM-DD, got {value!r}")
        return value

    def phones(self, dotted: str, default=...) -> tuple[str, ...]:
        value = self.get(dotted, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(dotted, "expected a list of E.164 numbers")
        for number in value:
            if not isinstance(number, str) or not E164.match(number):
                raise self.error(dotted, f"{number!r} is not an E.164 number like +2348012345678")
        return tuple(value)

    def text_list(self, dotted: str) -> tuple[str, ...]:
        value = self.get(dotted, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(dotted, "expected a list of texts")
        return tuple(v.strip() for v in value)


def parse_tenant(tenant_id: str, folder: Path) -> Tenant:
    """Load and validate one tenant folder. Raises TenantFileError naming file and field."""
    yml_path = folder / "tenant.yml"
    try:
        data = yaml.safe_load(yml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TenantFileError(str(yml_path), "(file)", "not found") from None
    except yaml.YAMLError as exc:
        raise TenantFileError(str(yml_path), "(syntax)", str(exc).replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise TenantFileError(str(yml_path), "(file)", "expected a mapping of settings")
    r = _Reader(yml_path, data)

    currency = r.text("currency").upper()
    if not re.match(r"^[A-Z]{3}$", currency):
        raise r.error("currency", f"expected an ISO 4217 code like NGN, got {currency!r}")
    try:
        timezone = ZoneInfo(r.text("timezone"))
    except (ZoneInfoNotFoundError, ValueError):
        raise r.error("timezone", f"unknown IANA timezone {r.get('timezone')!r}") from None
    prefix = r.text("order_prefix", tenant_id[:3]).upper()
    if not re.match(r"^[A-Z0-9]{2,5}$", prefix):
        raise r.error("order_prefix", f"expected 2-5 letters or digits, got {prefix!r}")
    voice_redirects = {kind: r.text_list(f"voice.redirects.{kind}") for kind in REDIRECT_KINDS}
    messages = r.get("messages", {})
    if not isinstance(messages, dict):
        raise r.error("messages", "expected a mapping of message name to text")
    image_base_url = r.text("image_base_url", "")
    if image_base_url and not image_base_url.endswith("/"):
        image_base_url += "/"

    catalog_path = folder / "catalog.csv"
    try:
        catalog = parse_catalog(catalog_path.read_text(encoding="utf-8-sig"), currency, image_base_url)
    except FileNotFoundError:
        raise TenantFileError(str(catalog_path), "(file)", "not found") from None
    except CatalogError as exc:
        first = exc.errors[0]
        raise TenantFileError(str(catalog_path), f"line {first.line} column {first.column}", str(exc)) from None

    return Tenant(
        id=tenant_id,
        name=r.text("name"),
        whatsapp_numbers=r.phones("whatsapp_numbers", []),
        currency=currency,
        timezone=timezone,
        deposit_percent=r.number("deposit_percent", 0, 100),
        hold_hours=r.number("hold_hours", 0.1, 24 * 30, 48),
        order_prefix=prefix,
        image_base_url=image_base_url,
        hours=OpeningHours.parse(r.get("hours"), r.error),
        payment=Payment(
            bank_name=r.text("payment.bank_name"),
            account_name=r.text("payment.account_name"),
            account_number=r.text("payment.account_number"),
            instructions=r.text("payment.instructions", ""),
            sample=bool(r.get("payment.sample", False)),
        ),
        ops=r.phones("ops"),
        voice=Voice(persona=r.text("voice.persona", ""), humour=r.text("voice.humour", ""),
                    redirects=voice_redirects),
        policies={"returns": r.text("policies.returns"), "delivery": r.text("policies.delivery")},
        faq=tuple(FaqEntry(q=i.text("q"), a=i.text("a")) for i in r.items("faq")),
        promotions=_promotions(r, currency),
        messages=messages,
        catalog=catalog,
        extra={k: v for k, v in data.items() if k in ("meta_phone_number_id", "whatsapp_templates", "llm_model")},
        payment_reminder_hours=r.number("payment_reminder_hours", 0, 24 * 30, 6),
        max_unpaid_orders=int(r.number("max_unpaid_orders", 1, 20, 2)),
        takeover_idle_minutes=r.number("takeover_idle_minutes", 1, 7 * 24 * 60, 120),
        delivery=_delivery(r, currency),
        deposit_includes_delivery=_flag(r, "deposit_includes_delivery", True),
        pay_on_delivery=_flag(r, "pay_on_delivery", False),
        **_payment_links(r, currency),
        follow_ups=_follow_ups(r),
        retention=_retention(r),
    )


def _flag(r: _Reader, key: str, default: bool) -> bool:
    value = r.get(key, default)
    if not isinstance(value, bool):
        raise r.error(key, f"expected true or false, got {value!r}")
    return value


DELIVERY_KEYS = ("pickup", "zones", "free_above")
ZONE_KEYS = ("name", "areas", "fee", "days")
# The currencies each provider's checkout takes (Paystack: its markets; Stripe: any it supports, these
# are the ones our tenants use).
PROVIDER_CURRENCIES = {"paystack": ("NGN", "GHS", "KES", "ZAR", "USD"),
                       "stripe": ("USD", "EUR", "GBP", "KES", "NGN", "GHS", "ZAR", "XOF", "XAF")}
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,80}$")


def _delivery(r: _Reader, currency: str) -> Delivery | None:
    """The `delivery` block: a pickup point and/or zones with fees. Absent: no delivery question."""
    block = r.get("delivery", None)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise r.error("delivery", "expected pickup, zones and free_above")
    d = _Reader(r.path, block, "delivery.")
    for key in block:
        if key not in DELIVERY_KEYS:
            raise d.error(str(key), "not a delivery setting (use " + ", ".join(DELIVERY_KEYS) + ")")
    pickup = None
    if d.get("pickup", None) is not None:
        if not isinstance(d.get("pickup"), dict):
            raise d.error("pickup", "expected address and note")
        pickup = Pickup(address=d.text("pickup.address"), note=d.text("pickup.note", ""))
    zones: list[Zone] = []
    for z in d.items("zones"):
        assert isinstance(z.data, dict)
        for key in z.data:
            if key not in ZONE_KEYS:
                raise z.error(str(key), "not a zone setting (use " + ", ".join(ZONE_KEYS) + ")")
        if z.get("fee", None) is None:
            raise z.error("fee", "missing (0 for free delivery to this zone)")
        zone = Zone(name=z.text("name"), areas=_names(z, "areas") if z.get("areas", None) is not None else (),
                    fee_minor=_money(z, "fee", currency, above_zero=False), days=z.text("days", ""))
        if any(other.name.lower() == zone.name.lower() for other in zones):
            raise z.error("name", f"{zone.name} is already the name of another zone")
        zones.append(zone)
    if pickup is None and not zones:
        raise d.error("zones", "give a pickup point, delivery zones, or both")
    return Delivery(pickup=pickup, zones=tuple(zones), free_above_minor=_money(d, "free_above", currency,
                                                                                 above_zero=False))


def _payment_links(r: _Reader, currency: str) -> dict:
    """`payment_links: paystack|stripe` and the environment variable naming its secret key."""
    provider = r.text("payment_links", "").lower()
    if not provider:
        return {}
    if provider not in PAYMENT_LINK_PROVIDERS:
        raise r.error("payment_links", f"expected {' or '.join(PAYMENT_LINK_PROVIDERS)}, got {provider!r}")
    if currency not in PROVIDER_CURRENCIES[provider]:
        raise r.error("payment_links", f"{provider} checkout does not take {currency} "
                                       f"(it takes {', '.join(PROVIDER_CURRENCIES[provider])})")
    key_env = f"{provider}_secret_key_env"
    env = r.text(key_env)
    if not ENV_NAME.match(env):
        raise r.error(key_env, f"expected the NAME of an environment variable like PAYSTACK_SECRET_KEY, got {env!r}"
                               " (never the key itself)")
    links = {"payment_links": provider, "payment_secret_key_env": env}
    if provider == "stripe":
        webhook_env = r.text("stripe_webhook_secret_env")
        if not ENV_NAME.match(webhook_env):
            raise r.error("stripe_webhook_secret_env", "expected the NAME of an environment variable like "
                                                       f"STRIPE_WEBHOOK_SECRET, got {webhook_env!r}")
        links["payment_webhook_secret_env"] = webhook_env
    return links


FOLLOW_UP_KEYS = ("restock_alerts", "summary_nudge_minutes", "reorder_after_days", "quiet_hours")
# The nudge goes only inside WhatsApp's 24-hour window, so it must fall due well within it.
MAX_NUDGE_MINUTES = 23 * 60
_QUIET = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")


def _follow_ups(r: _Reader) -> FollowUps:
    """The `follow_ups` block; absent, or a switch at 0 / false, is off."""
    block = r.get("follow_ups", None)
    if block is None:
        return FollowUps()
    if not isinstance(block, dict):
        raise r.error("follow_ups", "expected " + ", ".join(FOLLOW_UP_KEYS))
    f = _Reader(r.path, block, "follow_ups.")
    for key in block:
        if key not in FOLLOW_UP_KEYS:
            raise f.error(str(key), "not a follow-up setting (use " + ", ".join(FOLLOW_UP_KEYS) + ")")
    restock = block.get("restock_alerts")
    if restock is not None and not isinstance(restock, bool) and restock != 0:
        raise f.error("restock_alerts", f"expected true or false, got {restock!r}")
    minutes = _switch_number(f, "summary_nudge_minutes", MAX_NUDGE_MINUTES,
                             "minutes after the summary (0 = off; at most 1380, so it goes inside WhatsApp's "
                             "24-hour window)")
    days = _switch_number(f, "reorder_after_days", 365, "whole days after delivery (0 = off)")
    if days != int(days):
        raise f.error("reorder_after_days", f"expected whole days after delivery (0 = off), got {days!r}")
    return FollowUps(restock_alerts=bool(restock), summary_nudge_minutes=minutes, reorder_after_days=int(days),
                     quiet_hours=_quiet_hours(f))


def _switch_number(f: _Reader, key: str, high: float, expected: str) -> float:
    value = f.get(key, 0)
    if value is False:  # "false" turns it off like 0
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise f.error(key, f"expected {expected}, got {value!r}")
    return value


def _quiet_hours(f: _Reader) -> tuple[time, time] | None:
    value = f.get("quiet_hours", None)
    if value in (None, False, "", "off", "none"):
        return None
    match = _QUIET.match(value) if isinstance(value, str) else None
    if not match:
        raise f.error("quiet_hours", f"expected \"HH:MM-HH:MM\" in the business's own time, like \"21:00-08:00\", "
                                     f"got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise f.error("quiet_hours", f"the quiet hours start and end at the same time in {value!r}")
    return time(h1, m1), time(h2, m2)


RETENTION_KEYS = ("proof_images_days", "conversations_days", "media_days")
MAX_RETENTION_DAYS = 3650


def _retention(r: _Reader) -> Retention:
    """The `retention` block; a period left out or blank keeps that data."""
    block = r.get("retention", None)
    if block is None:
        return Retention()
    if not isinstance(block, dict):
        raise r.error("retention", "expected " + ", ".join(RETENTION_KEYS))
    f = _Reader(r.path, block, "retention.")
    days: dict[str, int | None] = {}
    for key, value in block.items():
        if key not in RETENTION_KEYS:
            raise f.error(str(key), "not a retention setting (use " + ", ".join(RETENTION_KEYS) + ")")
        if value in (None, ""):
            days[key] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                or not 1 <= value <= MAX_RETENTION_DAYS:
            raise f.error(key, f"expected whole days from 1 to {MAX_RETENTION_DAYS} (leave it out to keep), "
                               f"got {value!r}")
        else:
            days[key] = int(value)
    return Retention(**days)


PROMOTION_KEYS = ("code", "description", "percent_off", "amount_off", "min_qty", "min_total", "categories", "skus",
                  "starts", "valid_until", "max_uses_per_customer", "first_order_only")


def _promotions(r: _Reader, currency: str) -> tuple[Promotion, ...]:
    """The promotions. Their categories and skus are not checked against the catalog here: a catalog
    upload may drop one, and the code then applies to nothing (the customer is told what it is for);
    the dashboard checks them when promotions are edited (grace.tenancy.settings)."""
    promotions: list[Promotion] = []
    for i in r.items("promotions"):
        promotion = _promotion(i, currency)
        if any(p.code.upper() == promotion.code.upper() for p in promotions):
            raise i.error("code", f"{promotion.code} is already the code of another promotion")
        promotions.append(promotion)
    return tuple(promotions)


def _promotion(i: _Reader, currency: str) -> Promotion:
    """One promotion; its terms are money, so anything unclear is refused rather than guessed."""
    assert isinstance(i.data, dict)  # items() gives readers of mappings
    for key in i.data:
        if key not in PROMOTION_KEYS:
            raise i.error(str(key), "not a promotion setting (use " + ", ".join(PROMOTION_KEYS) + ")")
    has_percent, has_amount = i.get("percent_off", None) is not None, i.get("amount_off", None) is not None
    if has_percent and has_amount:
        raise i.error("amount_off", "give percent_off or amount_off, not both")
    if not has_percent and not has_amount:
        raise i.error("percent_off", "missing (or give amount_off, an amount off in " + currency + ")")
    starts = i.day("starts") if i.get("starts", None) is not None else None
    valid_until = i.day("valid_until")
    if starts is not None and starts > valid_until:
        raise i.error("starts", f"{starts} is after valid_until ({valid_until})")
    first_order_only = i.get("first_order_only", False)
    if not isinstance(first_order_only, bool):
        raise i.error("first_order_only", f"expected true or false, got {first_order_only!r}")
    return Promotion(
        code=i.text("code"), description=i.text("description", ""),
        percent_off=i.number("percent_off", 0.01, 100) if has_percent else 0,
        valid_until=valid_until,
        amount_off_minor=_money(i, "amount_off", currency, above_zero=True) if has_amount else 0,
        min_qty=_whole(i, "min_qty", 1, 10_000),
        min_total_minor=_money(i, "min_total", currency, above_zero=False),
        categories=tuple(c.lower() for c in _names(i, "categories")),
        skus=tuple(s.upper() for s in _names(i, "skus")),
        starts=starts,
        max_uses_per_customer=_whole(i, "max_uses_per_customer", 1, 1000),
        first_order_only=first_order_only,
    )


def _money(i: _Reader, key: str, currency: str, *, above_zero: bool) -> int:
    """An amount in major units ("1,000", 1000, 99.50) as minor units; 0 when absent."""
    value = i.get(key, None)
    if value is None:
        return 0
    problem = f"expected an amount in {currency} like 1000 or 1,000.50, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise i.error(key, problem)
    try:
        minor = to_minor(value, currency)
    except MoneyError:
        raise i.error(key, problem) from None
    if minor < 0 or (above_zero and minor == 0):
        raise i.error(key, (f"must be more than 0, got {value!r}" if above_zero
                            else f"cannot be negative, got {value!r}"))
    return minor


def _whole(i: _Reader, key: str, low: int, high: int) -> int:
    """A whole number from low to high; 0 when absent."""
    value = i.get(key, None)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or not low <= value <= high:
        raise i.error(key, f"expected a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _names(i: _Reader, key: str) -> tuple[str, ...]:
    """A list of names (one name alone is a list of one)."""
    if isinstance(i.get(key, None), str):
        return (i.text(key),)
    return i.text_list(key)


def _signature(folder: Path | str) -> tuple:
    """What a tenant's files look like now: tenant.yml's and catalog.csv's modification time, size and inode
    (a file replaced whole is another inode), None for one that is missing."""
    return tuple(_stat_of(os.path.join(folder, name)) for name in ("tenant.yml", "catalog.csv"))


def _stat_of(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class TenantRegistry:
    """Tenants by id, reloaded when their files change; thread-safe."""

    def __init__(self, root: Path, default_tenant: str) -> None:
        self.root = Path(root)
        self.default_tenant = default_tenant
        self._cache: dict[str, tuple[tuple, Tenant]] = {}
        self._errors: dict[str, TenantFileError] = {}
        self._lock = threading.Lock()
        self._claims: tuple[tuple, dict[str, list[Tenant]]] | None = None

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and TENANT_ID.match(p.name) and (p / "tenant.yml").exists())

    def exists(self, tenant_id: str) -> bool:
        return bool(TENANT_ID.match(tenant_id or "")) and (self.root / tenant_id / "tenant.yml").is_file()

    def get(self, tenant_id: str | None = None) -> Tenant:
        """The tenant (the default one for None). Raises UnknownTenant or TenantFileError."""
        tenant_id = tenant_id or self.default_tenant
        # The id comes from outside (metadata, URLs): never let it walk the file system.
        if not self.exists(tenant_id):
            raise UnknownTenant(tenant_id)
        folder = self.root / tenant_id
        signature = _signature(folder)
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached and cached[0] == signature:
                return cached[1]
            try:
                tenant = parse_tenant(tenant_id, folder)
            except TenantFileError as exc:
                self._errors[tenant_id] = exc
                if cached:
                    log.error("tenant %s: %s; still serving the last good version", tenant_id, exc)
                    return cached[1]
                raise
            self._errors.pop(tenant_id, None)
            self._cache[tenant_id] = (signature, tenant)
            return tenant

    def error(self, tenant_id: str) -> TenantFileError | None:
        """The problem with the tenant's current files, if any (even while a good copy serves)."""
        return self._errors.get(tenant_id)

    def by_whatsapp_number(self, number: str) -> Tenant | None:
        return self._owner(f"whatsapp:{number.removeprefix('whatsapp:').strip()}")

    def by_meta_phone_number_id(self, phone_number_id: str) -> Tenant | None:
        wanted = str(phone_number_id).strip()
        return self._owner(f"meta:{wanted}") if wanted else None

    def serving(self) -> Iterator[Tenant]:
        """Every business whose files load: a broken one (or one removed meanwhile) is skipped, never hiding
        the others (routing, the outbox's reminders and follow-ups, reading proofs)."""
        for tenant_id in self.ids():
            try:
                yield self.get(tenant_id)
            except (TenantFileError, UnknownTenant):
                continue

    def claims(self) -> dict[str, list[Tenant]]:
        """Every routing address ("whatsapp:+233...", "meta:1090...") and the readable tenants claiming it
        (read-only: shared by every caller until a tenant's files change). Every webhook and status callback
        asks: the table is worked out again only when a tenant folder appears or goes or its files change,
        which one listing and two stats per tenant tell."""
        signature = self._files_signature()
        last = self._claims
        if last is not None and last[0] == signature:
            return last[1]
        claimed: dict[str, list[Tenant]] = {}
        for tenant in self.serving():
            for address in routing_addresses(tenant):
                claimed.setdefault(address, []).append(tenant)
        self._claims = (signature, claimed)
        return claimed

    def _files_signature(self) -> tuple:
        """What every tenant folder's files look like now (_signature), by folder name."""
        try:
            with os.scandir(self.root) as entries:
                return tuple(sorted((entry.name, *_signature(entry.path)) for entry in entries
                                    if TENANT_ID.match(entry.name)))
        except (FileNotFoundError, NotADirectoryError):
            return ()

    def conflicts(self) -> dict[str, list[str]]:
        """Addresses two or more tenants claim: routed to none of them until the platform operator decides."""
        return {address: [t.id for t in tenants] for address, tenants in self.claims().items() if len(tenants) > 1}

    def _owner(self, address: str) -> Tenant | None:
        tenants = self.claims().get(address) or []
        if len(tenants) > 1:
            # Whichever we picked, one business would receive the other's customers: refuse both.
            log.error("%s is claimed by %s; messages to it are refused until one is released "
                      "(grace numbers release)", address, ", ".join(t.id for t in tenants))
            return None
        return tenants[0] if tenants else None


def routing_addresses(tenant: Tenant) -> list[str]:
    """The numbers a tenant receives WhatsApp messages on, as routing addresses."""
    addresses = [f"whatsapp:{number}" for number in tenant.whatsapp_numbers]
    meta_id = str(tenant.extra.get("meta_phone_number_id") or "").strip()
    return addresses + ([f"meta:{meta_id}"] if meta_id else [])


_registries: dict[tuple[str, str], TenantRegistry] = {}
_registries_lock = threading.Lock()


def get_registry() -> TenantRegistry:
    """The process-wide registry for the configured tenants folder."""
    settings = load_settings()
    key = (str(settings.tenants_dir), settings.default_tenant)
    with _registries_lock:
        if key not in _registries:
            _registries[key] = TenantRegistry(settings.tenants_dir, settings.default_tenant)
        return _registries[key]
