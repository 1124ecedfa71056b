"""Stock on hand minus what orders hold, reserved so the last yards are sold once.

Available = catalog stock - held reservations not yet expired - committed
reservations of orders not yet shipped (shipping takes the goods out of the
catalog's stock: grace.shop.fulfilment). A reservation first bumps a per-fabric lock row, which
serialises concurrent reservations of that fabric on SQLite and PostgreSQL alike. An unpaid order
whose hold lapses expires (expire_order, run by the outbox worker's sweep: grace.shop.reminders):
its held reservations are released and it holds nothing any more. Stock an order releases (cancelled,
expired, its proof refused) is back on sale in the same transaction, and customers waiting for that fabric
are told then (grace.shop.follow_ups).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import Order, StockLock, StockReservation, utcnow
from grace.tenancy.registry import Tenant, get_registry

log = logging.getLogger(__name__)
SHIPPED = ("shipped", "delivered")


class OutOfStock(Exception):
    def __init__(self, shortages: dict[str, int]) -> None:
        super().__init__(f"not enough stock: {shortages}")
        self.shortages = shortages  # sku -> quantity still available


def reserved_quantities(session: Session, tenant_id: str, skus: Iterable[str] | None = None,
                        now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    query = (
        select(StockReservation.sku, func.sum(StockReservation.quantity))
        .join(Order, Order.id == StockReservation.order_id)
        .where(
            StockReservation.tenant_id == tenant_id,
            or_(
                and_(StockReservation.status == "held", StockReservation.expires_at > now),
                and_(StockReservation.status == "committed", Order.status.notin_(SHIPPED)),
            ),
        )
        .group_by(StockReservation.sku)
    )
    if skus is not None:
        query = query.where(StockReservation.sku.in_(list(skus)))
    return {sku: int(total) for sku, total in session.execute(query)}


def available_stock(session: Session, tenant: Tenant, skus: Iterable[str] | None = None) -> dict[str, int]:
    skus = list(skus) if skus is not None else [f.sku for f in tenant.catalog.fabrics]
    reserved = reserved_quantities(session, tenant.id, skus)
    result = {}
    for sku in skus:
        fabric = tenant.catalog.get(sku)
        result[sku] = max(0, (fabric.stock if fabric else 0) - reserved.get(sku, 0))
    return result


def _lock_fabrics(session: Session, tenant_id: str, skus: list[str]) -> None:
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    for sku in sorted(set(skus)):  # a fixed order: no deadlock between two orders
        session.execute(insert(StockLock).values(tenant_id=tenant_id, sku=sku, version=0)
                        .on_conflict_do_nothing())
        session.execute(update(StockLock).where(StockLock.tenant_id == tenant_id, StockLock.sku == sku)
                        .values(version=StockLock.version + 1))


def reserve(session: Session, tenant: Tenant, order: Order, quantities: dict[str, int],
            status: str = "held") -> None:
    """Reserve stock for `order` or raise OutOfStock, in the caller's transaction.

    Call before any other write in the transaction: the lock must come first.
    """
    _lock_fabrics(session, tenant.id, list(quantities))
    available = available_stock(session, tenant, quantities)
    shortages = {sku: available[sku] for sku, qty in quantities.items() if qty > available[sku]}
    if shortages:
        raise OutOfStock(shortages)
    expires = utcnow() + timedelta(hours=tenant.hold_hours) if status == "held" else None
    for sku, qty in quantities.items():
        session.add(StockReservation(tenant_id=tenant.id, sku=sku, order=order, quantity=qty,
                                     status=status, expires_at=expires))


def set_reservations(session: Session, order: Order, status: str,
                     expires_at: datetime | None = None, *, keep_released: bool = False) -> None:
    """Switch the order's reservations to `status`; with keep_released, those released stay released
    (an order whose hold lapsed and was taken again has both: the old ones must not count twice)."""
    query = update(StockReservation).where(
        StockReservation.tenant_id == order.tenant_id, StockReservation.order_id == order.id)
    if keep_released:
        query = query.where(StockReservation.status != "released")
    session.execute(query.values(status=status, expires_at=expires_at))
    if status == "released":
        back_on_sale(session, order)


def expire_order(session: Session, order: Order, now: datetime | None = None) -> bool:
    """An unpaid order whose hold has lapsed becomes `expired` and its held stock goes back on sale, in
    the caller's transaction. False when it is not such an order (any more): paid, cancelled, its hold
    renewed, or expired by someone else meanwhile. One conditional UPDATE decides, so of two workers
    sweeping at once only one expires it (SQLite: the write lock; PostgreSQL: the row lock, after which
    the condition is checked again), and a proof recorded at the same moment (grace.shop.payments) either
    comes first or finds the order expired."""
    now = now or utcnow()
    taken = session.execute(update(Order).where(
        Order.id == order.id, Order.tenant_id == order.tenant_id, Order.status == "awaiting_payment",
        Order.hold_expires_at <= now,
    ).values(status="expired").execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        session.refresh(order)
        return False
    session.execute(update(StockReservation).where(
        StockReservation.tenant_id == order.tenant_id, StockReservation.order_id == order.id,
        StockReservation.status == "held",
    ).values(status="released", expires_at=None))
    back_on_sale(session, order)
    session.refresh(order)
    return True


def hold_ended(tenant: Tenant, order: Order) -> str:
    """When the order's hold ends (or ended), in the tenant's own time: "Tue 4 Mar, 14:05"."""
    if order.hold_expires_at is None:
        return ""
    local = tenant.local(order.hold_expires_at)
    return f"{local:%a} {local.day} {local:%b, %H:%M}"


def hold_is_live(session: Session, order: Order, now: datetime | None = None) -> bool:
    """True while every reservation of the order still counts against stock (released ones aside: an
    order whose hold lapsed and whose fabric was taken again keeps its old, released rows)."""
    now = now or utcnow()
    rows = session.execute(select(StockReservation).where(
        StockReservation.tenant_id == order.tenant_id, StockReservation.order_id == order.id,
        StockReservation.status != "released",
    )).scalars().all()
    return bool(rows) and all(
        r.status == "committed" or (r.status == "held" and r.expires_at and r.expires_at > now) for r in rows
    )


def back_on_sale(session: Session, order: Order) -> None:
    """The order's fabric goes back on sale with this transaction: customers waiting for it are told as it
    commits, in it. Decided then, not now: the same transaction may take the fabric again (a lapsed hold
    renewed for a proof, grace.shop.payments), and a rollback tells nobody."""
    if _RELEASED not in session.info:  # once per session (listeners stay while it lives; sessions are short)
        event.listen(session, "before_commit", _tell_waiting_customers)
        event.listen(session, "after_rollback", _forget_released)
    session.info.setdefault(_RELEASED, {}).setdefault(order.tenant_id, set()).update(
        line.sku for line in order.lines)


_RELEASED = "grace.released_skus"  # session.info: tenant id -> skus released in the open transaction


def _tell_waiting_customers(session: Session) -> None:
    # follow_ups reads stock through this module: imported here, when stock comes back, not at the top
    from grace.shop.follow_ups import tell_restocked

    released = session.info.get(_RELEASED) or {}
    session.info[_RELEASED] = {}
    for tenant_id, skus in released.items():
        try:
            tenant = get_registry().get(tenant_id)
        except GraceError as exc:  # its files are broken: the outbox worker's restock pass tells them later
            log.error("restock alerts for %s wait: %s", tenant_id, exc)
            continue
        tell_restocked(session, tenant, skus)


def _forget_released(session: Session) -> None:
    session.info[_RELEASED] = {}
