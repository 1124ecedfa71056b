"""Quotes (lines, promotion, deposit, balance) and orders that hold stock."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.money import format_money, percent_of
from grace.shop.stock import reserve
from grace.store.models import Customer, Order, OrderLine, utcnow
from grace.tenancy.catalog import Fabric
from grace.tenancy.registry import Promotion, Tenant

log = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
MAX_QUANTITY = 10_000  # yards, pieces or bundles in one line: far beyond any real order
OPEN_STATUSES = ("awaiting_payment", "payment_submitted")


class PromoError(ValueError):
    """A code that cannot be applied; the message is the reason for the customer."""


def check_promotion(tenant: Tenant, code: str, today: date) -> Promotion:
    promotion = tenant.promotion(code)
    if promotion is None:
        raise PromoError(f"{code.upper()} is not one of our codes")
    if not promotion.is_valid_on(today):
        raise PromoError(f"{promotion.code} expired on {promotion.valid_until:%d %b %Y}")
    return promotion


@dataclass(frozen=True)
class QuoteLine:
    fabric: Fabric
    quantity: int

    @property
    def total_minor(self) -> int:
        return self.fabric.price_minor * self.quantity


@dataclass
class Quote:
    currency: str
    lines: list[QuoteLine]
    deposit_percent: float
    promotion: Promotion | None = None
    missing_skus: list[str] = field(default_factory=list)

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return percent_of(self.subtotal_minor, self.promotion.percent_off) if self.promotion else 0

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor

    @property
    def deposit_minor(self) -> int:
        return percent_of(self.total_minor, self.deposit_percent)

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.deposit_minor  # so deposit + balance == total exactly

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


def build_quote(tenant: Tenant, selection: list[dict], promo_code: str | None, today: date) -> Quote:
    """A quote for the selection at today's catalog prices. An invalid promo is left out."""
    quote = Quote(currency=tenant.currency, lines=[], deposit_percent=tenant.deposit_percent)
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
        try:
            quote.promotion = check_promotion(tenant, promo_code, today)
        except PromoError:
            quote.promotion = None
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
    """Create the order and hold its stock for the tenant's hold_hours. Raises OutOfStock."""
    order = Order(
        tenant_id=tenant.id, reference=new_reference(session, tenant), customer_id=customer.id,
        status="awaiting_payment",
        currency=quote.currency, subtotal_minor=quote.subtotal_minor, discount_minor=quote.discount_minor,
        total_minor=quote.total_minor, deposit_percent=quote.deposit_percent,
        deposit_minor=quote.deposit_minor, balance_minor=quote.balance_minor,
        promo_code=quote.promotion.code if quote.promotion else None,
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
            unit_price_minor=line.fabric.price_minor, line_total_minor=line.total_minor,
        ))
    session.flush()
    return order


def customer_orders(session: Session, tenant_id: str, customer_id: int, statuses: tuple[str, ...]) -> list[Order]:
    """The customer's orders in these states, newest first."""
    return list(session.execute(select(Order).where(
        Order.tenant_id == tenant_id, Order.customer_id == customer_id, Order.status.in_(statuses),
    ).order_by(Order.created_at.desc(), Order.id.desc())).scalars())


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
