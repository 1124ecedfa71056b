"""Orders: list, detail, status changes and balance requests that notify the customer."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from grace.money import format_money
from grace.shop.balance import (
    DEPOSIT_VERIFIED,
    BalanceError,
    balance_due,
    describe_delivery,
    owes_balance,
    request_balance,
)
from grace.shop.fulfilment import FulfilmentError
from grace.shop.orders import orders_of
from grace.shop.payments import payments_of
from grace.store.audit import Actor
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.audit import audit
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
                           orders=orders_of(db(), tenant.id, status, newest_first=True),
                           balance_due=balance_due, paid_statuses=DEPOSIT_VERIFIED)


@bp.route("/<reference>")
@role_required()
def detail(reference: str):
    tenant = current_tenant()
    order = order_or_404(db(), tenant.id, reference)
    order_payments = payments_of(db(), tenant.id, order_id=order.id)
    return render_template("order.html", tenant=tenant, order=order, payments=order_payments,
                           next_statuses=NEXT_STATUSES, balance_due=balance_due(order),
                           may_request_balance=owes_balance(order), delivery=describe_delivery(order))


@bp.route("/<reference>/status", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def status(reference: str):
    tenant = current_tenant()
    order = order_or_404(db(), tenant.id, reference)
    audit("order_status", order.reference, {"status": request.form.get("status", "")[:24]})  # kept with the change
    try:
        new = move_order(db(), tenant, order.reference, request.form.get("status", ""))
    except FulfilmentError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        flash(f"Order {order.reference} is now {new.replace('_', ' ')}; the customer is told.", "ok")
    return redirect(url_for("orders.detail", reference=order.reference))


@bp.route("/<reference>/request-balance", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def balance_request(reference: str):
    tenant = current_tenant()
    order = order_or_404(db(), tenant.id, reference)
    try:
        request_balance(db(), tenant, order.reference, by=f"web:{current_user.email}",
                        actor=Actor(current_user.email, request.remote_addr))
    except BalanceError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        db().commit()
        flash(f"The balance of {format_money(balance_due(order), tenant.currency)} for order {order.reference} "
              "was requested; the customer is told on WhatsApp.", "ok")
    return redirect(url_for("orders.detail", reference=order.reference))
