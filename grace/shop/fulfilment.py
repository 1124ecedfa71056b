"""After the deposit: the order moves through production to the customer, who hears of each step.

in_production, ready and shipped are told on WhatsApp by the outbox worker;
delivered reaches the conversation through Rasa (so Grace can ask for
feedback there). Shipping takes the goods out of the catalog's stock: until
then committed reservations keep them from being sold twice, afterwards the
stock itself does. An order leaves only once its balance is paid, unless the
business takes the balance on delivery (`pay_on_delivery`).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import notify_customer
from grace.money import format_money
from grace.shop.balance import DEPOSIT_VERIFIED, balance_due
from grace.shop.orders import order_by_reference
from grace.store.models import Order
from grace.tenancy.files import edit_rows
from grace.tenancy.registry import Tenant

FLOW = DEPOSIT_VERIFIED
LEAVES_STOCK = ("shipped", "delivered")


class FulfilmentError(GraceError):
    """A status change that cannot be made; the message says why."""


def change_status(session: Session, tenant: Tenant, reference: str, status: str) -> Order:
    """Move a paid order forward (steps may be skipped, never undone) and tell the customer."""
    if status not in FLOW[1:]:
        raise FulfilmentError(f"unknown status {status!r}; use one of {', '.join(FLOW[1:])}")
    order = order_by_reference(session, tenant.id, reference)
    if order is None:
        raise FulfilmentError(f"no order {reference.upper()} for {tenant.name}")
    if order.status not in FLOW:
        raise FulfilmentError(f"order {order.reference} is {order.status}: the deposit is not verified yet")
    if FLOW.index(status) <= FLOW.index(order.status):
        raise FulfilmentError(f"order {order.reference} is already {order.status}")
    due = balance_due(order)
    leaving = status in LEAVES_STOCK and order.status not in LEAVES_STOCK  # (already gone: nothing to hold back)
    if leaving and due and not tenant.pay_on_delivery:
        raise FulfilmentError(f"order {order.reference} has a balance of {format_money(due, order.currency)} "
                              f"due: request it and verify the payment before it is {status}")
    if leaving:
        take_from_stock(tenant, {line.sku: line.quantity for line in order.lines})
    order.status = status
    recipient = conversation_id(tenant.id, order.customer.phone)
    if status == "delivered":
        notify_customer(session, tenant.id, recipient, "order_delivered", order_reference=order.reference)
    else:
        notify_customer(session, tenant.id, recipient, "order_status", order_reference=order.reference,
                        status=status, customer_name=order.customer.name)
    return order


def take_from_stock(tenant: Tenant, quantities: dict[str, int]) -> None:
    """Lower the stock in the tenant's catalog.csv through the catalog's one locked, atomic writer
    (a shipment is not a swap an owner would undo, so no backup is kept)."""

    def take(rows: list[dict[str, str]]) -> None:
        for row in rows:
            taken = quantities.get(row["sku"], 0)
            if taken:
                row["stock"] = str(max(0, int(row["stock"]) - taken))

    edit_rows(tenant, take, backup=False)
