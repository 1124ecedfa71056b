"""Quotes (lines, promotion, deposit, balance) and orders that hold stock."""
from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from grace.money import format_money, percent_of
from grace.shop.delivery import delivery_fee
from grace.shop.stock import reserve
from grace.store.models import Customer, Order, OrderLine, utcnow
from grace.tenancy.catalog import Fabric, Tier, unit_for
from grace.tenancy.registry import Promotion, Tenant, Zone
from grace.tenancy.wording import Wording

log = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
MAX_QUANTITY = 10_000  # yards, pieces or bundles in one line: far beyond any real order
OPEN_STATUSES = ("awaiting_payment", "payment_submitted")


NOT_COUNTED = ("cancelled", "expired")  # orders that never happened, for first orders and code uses


class PromoError(ValueError):
    """A code that cannot be applied; the message is the reason for the customer (in the tenant's wording)."""

    def __init__(self, reason: str, key: str) -> None:
        super().__init__(reason)
        self.key = key  # the wording key of the reason (promo_reason_...)


@dataclass(frozen=True)
class OrderHistory:
    """What a customer's past orders at one business say about promo codes (cancelled and expired
    orders do not count)."""

    orders: int = 0
    uses: dict[str, int] = field(default_factory=dict)  # CODE -> orders placed with it


def order_history(session: Session, tenant_id: str, customer_id: int) -> OrderHistory:
    codes = list(session.execute(select(Order.promo_code).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status.not_in(NOT_COUNTED),
    )).scalars())
    return OrderHistory(orders=len(codes), uses=dict(Counter(code.upper() for code in codes if code)))


def check_promotion(tenant: Tenant, code: str, today: date, *, lines: list[QuoteLine] | None = None,
                    history: OrderHistory | None = None) -> Promotion:
    """The promotion when the code may be used today: by this customer (with their `history`) and on
    these `lines` (with them). Raises PromoError saying what is missing."""
    promotion = tenant.promotion(code)
    if promotion is None:
        raise _refused(tenant, "promo_reason_unknown", code=code.strip().upper())
    if promotion.starts is not None and today < promotion.starts:
        raise _refused(tenant, "promo_reason_not_started", code=promotion.code, day=_day(promotion.starts, today))
    if today > promotion.valid_until:
        raise _refused(tenant, "promo_reason_expired", code=promotion.code, day=f"{promotion.valid_until:%d %b %Y}")
    if history is not None:
        problem = customer_problem(tenant, promotion, history)
        if problem:
            raise problem
    if lines is not None:
        problem = cart_problem(tenant, promotion, lines)
        if problem:
            raise problem
    return promotion


def benefit(tenant: Tenant, promotion: Promotion) -> str:
    """What the code takes off, as a customer reads it: "10% off", "GH₵150 off"."""
    if promotion.amount_off_minor:
        return f"{format_money(promotion.amount_off_minor, tenant.currency)} off"
    return f"{promotion.percent_off:g}% off"


def usable_promotions(tenant: Tenant, today: date, history: OrderHistory) -> list[Promotion]:
    """The live codes this customer may still use (not first-order codes after a first order, not used up)."""
    return [p for p in tenant.promotions if p.is_valid_on(today) and customer_problem(tenant, p, history) is None]


def customer_problem(tenant: Tenant, promotion: Promotion, history: OrderHistory) -> PromoError | None:
    """Why this customer may not use the promotion (first orders only, used up), or None."""
    if promotion.first_order_only and history.orders:
        return _refused(tenant, "promo_reason_first_order", code=promotion.code)
    used = history.uses.get(promotion.code.upper(), 0)
    if promotion.max_uses_per_customer and used >= promotion.max_uses_per_customer:
        key = "promo_reason_used" if promotion.max_uses_per_customer == 1 else "promo_reason_used_times"
        return _refused(tenant, key, code=promotion.code, times=used)
    return None


def cart_problem(tenant: Tenant, promotion: Promotion, lines: list[QuoteLine]) -> PromoError | None:
    """What the order lacks for the promotion (the fabrics it is for, a quantity, an amount), or None."""
    qualifying = [line for line in lines if promotion.applies_to(line.fabric)]
    what = scope_words(tenant, promotion)
    if promotion.restricted and not qualifying:
        if promotion.min_qty:
            return _refused(tenant, "promo_reason_only_for_qty", code=promotion.code, what=what, qty=promotion.min_qty,
                            unit=_unit(tenant, promotion, lines, promotion.min_qty))
        if promotion.min_total_minor:
            return _refused(tenant, "promo_reason_only_for_total", code=promotion.code, what=what,
                            amount=format_money(promotion.min_total_minor, tenant.currency))
        return _refused(tenant, "promo_reason_only_for", code=promotion.code, what=what)
    quantity = sum(line.quantity for line in qualifying)
    if quantity < promotion.min_qty:
        missing = promotion.min_qty - quantity
        return _refused(tenant, "promo_reason_more_qty" if promotion.restricted else "promo_reason_more_qty_any",
                        code=promotion.code, qty=missing, unit=_unit(tenant, promotion, lines, missing), what=what)
    spent = sum(line.total_minor for line in qualifying)
    if spent < promotion.min_total_minor:
        return _refused(tenant, "promo_reason_more_total" if promotion.restricted else "promo_reason_more_total_any",
                        code=promotion.code, amount=format_money(promotion.min_total_minor - spent, tenant.currency),
                        what=what)
    return None


def scope_words(tenant: Tenant, promotion: Promotion) -> str:
    """The fabrics a promotion is for, as a customer reads them: "ankara or adire", "Royal Ivory"."""
    names = list(promotion.categories)
    for sku in promotion.skus:
        fabric = tenant.catalog.get(sku)
        names.append(fabric.name if fabric else sku)
    return join_words(tenant, names, "list_or")


def join_words(tenant: Tenant, items: list[str], key: str) -> str:
    """"a", "a or b", "a, b or c" (key list_or / list_and)."""
    if len(items) < 2:
        return "".join(items)
    return Wording(tenant)(key, items=", ".join(items[:-1]), last=items[-1])


def _refused(tenant: Tenant, key: str, **params: object) -> PromoError:
    return PromoError(Wording(tenant)(key, **params), key)


def _day(day: date, today: date) -> str:
    """1 December (the year too when it is not this year's)."""
    return f"{day.day} {day:%B}" + (f" {day.year}" if day.year != today.year else "")


def _unit(tenant: Tenant, promotion: Promotion, lines: list[QuoteLine], quantity: int) -> str:
    """The unit a minimum is counted in: the qualifying fabrics' (in the order, else in the catalog)."""
    units = ({line.fabric.unit for line in lines if promotion.applies_to(line.fabric)}
             or {f.unit for f in tenant.catalog.fabrics if promotion.applies_to(f)})
    unit = units.pop() if len(units) == 1 else Wording(tenant)("promo_unit_mixed")
    return unit_for(unit, quantity)


@dataclass(frozen=True)
class QuoteLine:
    fabric: Fabric
    quantity: int

    @property
    def tier(self) -> Tier | None:
        """The wholesale tier this line's quantity reaches (None: the catalog price)."""
        return self.fabric.tier_for(self.quantity)

    @property
    def unit_price_minor(self) -> int:
        return self.fabric.unit_price_minor(self.quantity)

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity


@dataclass(frozen=True)
class DeliveryChoice:
    """How the customer gets the fabric: "pickup", or "delivery" to a zone of the tenant (and the address
    as they wrote it)."""

    method: str
    zone: Zone | None = None
    address: str | None = None


@dataclass
class Quote:
    currency: str
    lines: list[QuoteLine]
    deposit_percent: float
    promotion: Promotion | None = None  # applied: its terms hold for these lines
    missing_skus: list[str] = field(default_factory=list)
    promo_code: str | None = None  # the code asked for, applied or not
    promo_problem: str | None = None  # why that code does not apply now, for the customer
    delivery: DeliveryChoice | None = None  # None: a tenant without delivery, or not chosen yet
    free_above_minor: int = 0  # the tenant's threshold from which delivery is free (0: never)
    deposit_includes_delivery: bool = True  # the deposit is a share of the whole total, fee included

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def discounted_lines(self) -> list[QuoteLine]:
        """The lines the promotion applies to (none without one)."""
        promotion = self.promotion
        return [line for line in self.lines if promotion.applies_to(line.fabric)] if promotion else []

    @property
    def discount_minor(self) -> int:
        """A percent of the qualifying lines' subtotal (rounded half up), or a fixed amount capped at it."""
        if self.promotion is None:
            return 0
        base = sum(line.total_minor for line in self.discounted_lines)
        if self.promotion.amount_off_minor:
            return min(self.promotion.amount_off_minor, base)
        return percent_of(base, self.promotion.percent_off)

    @property
    def fabric_total_minor(self) -> int:
        """What the fabric costs after any discount (delivery is free from the threshold on this)."""
        return self.subtotal_minor - self.discount_minor

    @property
    def delivery_fee_minor(self) -> int:
        choice = self.delivery
        if choice is None or choice.zone is None:
            return 0  # pickup is free
        return delivery_fee(choice.zone, self.fabric_total_minor, self.free_above_minor)

    @property
    def delivery_free_above(self) -> bool:
        """Delivered free because the order reaches the tenant's threshold (the zone has a fee)."""
        return bool(self.delivery and self.delivery.zone and self.delivery.zone.fee_minor
                    and self.delivery_fee_minor == 0)

    @property
    def total_minor(self) -> int:
        return self.fabric_total_minor + self.delivery_fee_minor

    @property
    def deposit_minor(self) -> int:
        """The tenant's percentage of the whole total, or of the fabric alone (deposit_includes_delivery: false)."""
        base = self.total_minor if self.deposit_includes_delivery else self.fabric_total_minor
        return percent_of(base, self.deposit_percent)

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.deposit_minor  # so deposit + balance == total exactly

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


def build_quote(tenant: Tenant, selection: list[dict], promo_code: str | None, today: date,
                history: OrderHistory | None = None, delivery: DeliveryChoice | None = None) -> Quote:
    """A quote for the selection at today's catalog prices (each line at the wholesale tier its quantity
    reaches, if any; promotions apply to those line totals). A code whose terms do not hold for these
    lines (and, with `history`, this customer) is left out, and `promo_problem` says why. With a
    `delivery` choice (tenants with a delivery block), its fee is part of the total."""
    quote = Quote(currency=tenant.currency, lines=[], deposit_percent=tenant.deposit_percent,
                  delivery=delivery if tenant.delivery is not None else None,
                  free_above_minor=tenant.delivery.free_above_minor if tenant.delivery else 0,
                  deposit_includes_delivery=tenant.deposit_includes_delivery)
    for item in selection:
        sku, quantity = _checked_item(item)
        if sku is None or quantity is None:
            log.warning("%s: a selection line that is not one was left out of the quote: %r", tenant.id, item)
            continue
        fabric = tenant.catalog.get(sku)
        if fabric is None:
            quote.missing_skus.append(sku)
        else:
            quote.lines.append(QuoteLine(fabric, quantity))
    if promo_code:
        quote.promo_code = promo_code
        try:
            quote.promotion = check_promotion(tenant, promo_code, today, lines=quote.lines, history=history)
        except PromoError as exc:
            quote.promotion, quote.promo_problem = None, str(exc)
    return quote


def _checked_item(item: object) -> tuple[str | None, int | None]:
    """A selection line as (sku, quantity), or Nones when it is not one. The selection comes from the
    conversation's slots, which anyone holding Rasa's API could set: a negative or huge quantity
    would make a negative total and free stock."""
    if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
        return None, None
    quantity = item.get("qty")
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float, str)):
        return item["sku"], None
    try:
        number = float(quantity)
    except ValueError:
        return item["sku"], None
    if not number.is_integer() or not 1 <= number <= MAX_QUANTITY:
        return item["sku"], None
    return item["sku"], int(number)


def new_reference(session: Session, tenant: Tenant) -> str:
    while True:
        reference = f"{tenant.order_prefix}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))
        exists = session.execute(select(Order.id).where(
            Order.tenant_id == tenant.id, Order.reference == reference)).first()
        if not exists:
            return reference


def place_order(session: Session, tenant: Tenant, customer: Customer, quote: Quote) -> Order:
    """Create the order and hold its stock for the tenant's hold_hours. Raises OutOfStock. The quote's
    promotion is checked against the customer's orders once more (a code for first orders, or used up,
    gives no discount, whatever the quote was built with)."""
    if quote.promotion is not None:
        problem = customer_problem(tenant, quote.promotion, order_history(session, tenant.id, customer.id))
        if problem:
            log.info("%s: %s not applied to an order of customer %s: %s", tenant.id, quote.promotion.code,
                     customer.id, problem)
            quote.promotion, quote.promo_problem = None, str(problem)
    order = Order(
        tenant_id=tenant.id, reference=new_reference(session, tenant), customer_id=customer.id,
        status="awaiting_payment",
        currency=quote.currency, subtotal_minor=quote.subtotal_minor, discount_minor=quote.discount_minor,
        total_minor=quote.total_minor, deposit_percent=quote.deposit_percent,
        deposit_minor=quote.deposit_minor, balance_minor=quote.balance_minor,
        promo_code=quote.promotion.code if quote.promotion else None,
        delivery_method=quote.delivery.method if quote.delivery else None,
        delivery_zone=quote.delivery.zone.name if quote.delivery and quote.delivery.zone else None,
        delivery_address=quote.delivery.address if quote.delivery else None,
        delivery_fee_minor=quote.delivery_fee_minor,
        hold_expires_at=utcnow() + timedelta(hours=tenant.hold_hours),
    )
    quantities: dict[str, int] = {}
    for line in quote.lines:
        quantities[line.fabric.sku] = quantities.get(line.fabric.sku, 0) + line.quantity
    reserve(session, tenant, order, quantities)  # the first write: takes the fabric locks
    session.add(order)
    for line in quote.lines:
        order.lines.append(OrderLine(
            sku=line.fabric.sku, name=line.fabric.name, unit=line.fabric.unit, quantity=line.quantity,
            unit_price_minor=line.unit_price_minor, line_total_minor=line.total_minor,
        ))
    session.flush()
    return order


def customer_orders(session: Session, tenant_id: str, customer_id: int, statuses: tuple[str, ...]) -> list[Order]:
    """The customer's orders in these states, newest first."""
    return list(session.execute(select(Order).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status.in_(statuses),
    ).order_by(Order.created_at.desc(), Order.id.desc())).scalars())


def holds_stock(now: datetime) -> ColumnElement[bool]:
    """An order's hold is still running at `now` (or it never had one): its stock is still its own."""
    return or_(Order.hold_expires_at.is_(None), Order.hold_expires_at > now)


def unpaid_orders(session: Session, tenant_id: str, customer_id: int, now: datetime) -> list[Order]:
    """The customer's orders waiting for a deposit whose hold still runs (one that lapsed holds nothing,
    even before the sweep marks it expired), newest first."""
    return list(session.execute(select(Order).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status == "awaiting_payment",
        holds_stock(now)).order_by(Order.created_at.desc(), Order.id.desc())).scalars())


def latest_order(session: Session, tenant_id: str, customer_id: int,
                 statuses: tuple[str, ...] | None = None) -> Order | None:
    query = select(Order).where(Order.tenant_id == tenant_id, Order.customer_id == customer_id)
    if statuses:
        query = query.where(Order.status.in_(statuses))
    return session.execute(query.order_by(Order.created_at.desc(), Order.id.desc()).limit(1)).scalar_one_or_none()


def orders_of(session: Session, tenant_id: str, status: str | None = None,
              newest_first: bool = False) -> list[Order]:
    """The tenant's orders, of one status when given."""
    query = select(Order).where(Order.tenant_id == tenant_id)
    if status:
        query = query.where(Order.status == status)
    return list(session.scalars(query.order_by(Order.id.desc() if newest_first else Order.id)))


def order_by_reference(session: Session, tenant_id: str, reference: str) -> Order | None:
    return session.execute(select(Order).where(
        Order.tenant_id == tenant_id, Order.reference == reference.strip().upper())).scalar_one_or_none()
