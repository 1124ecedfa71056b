"""Customers with their orders and conversation."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from grace.store.models import Order
from web.access import current_tenant, role_required
from web.conversations import conversation
from web.queries import customer_or_404, customers
from web.request_store import db

bp = Blueprint("customers", __name__)


@bp.route("/customers")
@role_required()
def index():
    tenant = current_tenant()
    return render_template("customers.html", tenant=tenant, customers=customers(db(), tenant.id))


@bp.route("/customers/<int:customer_id>")
@role_required()
def detail(customer_id: int):
    tenant = current_tenant()
    customer = customer_or_404(db(), tenant.id, customer_id)
    their_orders = db().scalars(select(Order).where(Order.tenant_id == tenant.id, Order.customer_id == customer.id)
                                .order_by(Order.id.desc())).all()
    return render_template("customer.html", tenant=tenant, customer=customer, orders=their_orders,
                           turns=conversation(db(), tenant.id, customer.phone))
