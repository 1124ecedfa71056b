"""Orders: list, detail, status changes that notify the customer."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from grace.shop.fulfilment import FulfilmentError
from grace.shop.orders import orders_of
from grace.shop.payments import payments_of
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.operations import move_order
from web.queries import NEXT_STATUSES, ORDER_STATUSES, order_or_404
from web.request_store import db

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    status = request.args.get("status") or None
    status = status if status in ORDER_STATUSES else None
    return render_template("orders.html", tenant=tenant, status=status, statuses=ORDER_STATUSES,
                           orders=orders_of(db(), tenant.id, status, newest_first=True))


@bp.route("/<reference>")
@role_required()
def detail(reference: str):
    tenant = current_tenant()
    order = order_or_404(db(), tenant.id, reference)
    order_payments = payments_of(db(), tenant.id, order_id=order.id)
    return render_template("order.html", tenant=tenant, order=order, payments=order_payments,
                           next_statuses=NEXT_STATUSES)


@bp.route("/<reference>/status", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def status(reference: str):
    tenant = current_tenant()
    order = order_or_404(db(), tenant.id, reference)
    try:
        new = move_order(db(), tenant, order.reference, request.form.get("status", ""))
    except FulfilmentError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        flash(f"Order {order.reference} is now {new.replace('_', ' ')}; the customer is told.", "ok")
    return redirect(url_for("orders.detail", reference=order.reference))
