"""Customers with their orders and conversation, and the handoff queue."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import select

from grace.store.models import Handoff, Order
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.conversations import history
from web.db import db
from web.queries import customer_or_404, customers, handoffs

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
                           turns=history(tenant.id, customer.phone))


@bp.route("/handoffs")
@role_required()
def handoff_queue():
    tenant = current_tenant()
    return render_template("handoffs.html", tenant=tenant, handoffs=handoffs(db(), tenant.id))


@bp.route("/handoffs/<int:handoff_id>/close", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def close_handoff(handoff_id: int):
    tenant = current_tenant()
    handoff = db().execute(select(Handoff).where(Handoff.tenant_id == tenant.id, Handoff.id == handoff_id)
                           ).scalar_one_or_none()
    if handoff is None:
        return render_template("error.html", code=404, message="Not found."), 404
    handoff.status = "closed"
    db().commit()
    flash("Handoff closed.", "ok")
    return redirect(url_for("customers.handoff_queue"))
