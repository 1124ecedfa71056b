"""Customers are per tenant: one phone talking to two businesses is two customers."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.store.models import Customer, utcnow

MAX_LIKED = 10


def get_customer(session: Session, tenant_id: str, phone: str) -> Customer | None:
    return session.execute(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.phone == phone)
    ).scalar_one_or_none()


def get_or_create_customer(session: Session, tenant_id: str, phone: str,
                           name: str | None = None) -> Customer:
    customer = get_customer(session, tenant_id, phone)
    if customer is None:
        try:
            with session.begin_nested():
                customer = Customer(tenant_id=tenant_id, phone=phone, name=name, preferences={})
                session.add(customer)
        except IntegrityError:  # created meanwhile by a concurrent turn
            customer = get_customer(session, tenant_id, phone)
            assert customer is not None  # the row the concurrent turn created
    if name and not customer.name:
        customer.name = name[:120]
    customer.last_seen_at = utcnow()
    return customer


def remember_preferences(customer: Customer, *, skus: Sequence[str] = (), categories: Sequence[str] = (),
                         colors: Sequence[str] = ()) -> None:
    """Keep what the customer liked, newest first, for the next greeting."""
    prefs = dict(customer.preferences or {})
    for key, values in (("skus", skus), ("categories", categories), ("colors", colors)):
        merged = list(dict.fromkeys([*values, *prefs.get(key, [])]))
        prefs[key] = merged[:MAX_LIKED]
    customer.preferences = prefs  # a new dict so SQLAlchemy sees the change
