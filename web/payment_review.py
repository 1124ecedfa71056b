"""Payments to verify: proof, order, expected amount and stated amount side by side, with what OCR read
off the picture (grace.shop.proof_check): amount, date, reference, account and its verdict, and a warning
when the same picture came with another order. The reading is advice: the buttons are the same whatever
it says, because a receipt is easy to draw and only ops can check the money arrived."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grace.shop.payments import PaymentError, payments_of
from grace.store.audit import Actor
from grace.store.models import Payment
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.media import proof_response
from web.operations import decide
from web.queries import PAYMENT_STATUSES, payment_or_404
from web.request_store import db

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    status = request.args.get("status", "pending")
    status = status if status in PAYMENT_STATUSES else "pending"
    payments = payments_of(db(), tenant.id, status)
    return render_template("payments.html", tenant=tenant, status=status, statuses=PAYMENT_STATUSES,
                           payments=payments, reused=reused_from(tenant.id, payments))


def reused_from(tenant_id: str, payments: list[Payment]) -> dict[int, Payment]:
    """The earlier payments (this tenant's only) whose picture each listed payment's proof repeats."""
    wanted = {p.reused_payment_id for p in payments if p.reused_payment_id}
    if not wanted:
        return {}
    found = db().scalars(select(Payment).where(Payment.tenant_id == tenant_id, Payment.id.in_(wanted)))
    return {p.id: p for p in found}


@bp.route("/<int:payment_id>/proof")
@role_required()
def proof(payment_id: int):
    return proof_response(payment_or_404(db(), current_user.tenant_id, payment_id))


@bp.route("/<int:payment_id>/<any(verify, reject):verb>", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def decide_view(payment_id: int, verb: str):
    tenant = current_tenant()
    try:
        decision = decide(db(), tenant, payment_id, verb == "verify", request.form.get("reason", ""),
                          by=f"web:{current_user.email}", actor=Actor(current_user.email, request.remote_addr))
    except PaymentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("payments.index"))
    told = "the customer was told" if decision.customer_told else "the customer will be told once Grace is reachable"
    flash(f"Payment for order {decision.reference} {decision.status}; {told}.", "ok")
    return redirect(url_for("payments.index"))
