"""The dashboard's home: what needs attention now."""
from __future__ import annotations

from flask import Blueprint, render_template

from grace.shop.orders import orders_of
from grace.shop.payments import payments_of
from web.access import current_tenant, role_required
from web.queries import handoffs
from web.request_store import db

bp = Blueprint("home", __name__)


@bp.route("/")
@role_required()
def index():
    tenant = current_tenant()
    session = db()
    return render_template("home.html", tenant=tenant, pending=len(payments_of(session, tenant.id, "pending")),
                           to_make=len(orders_of(session, tenant.id, "deposit_paid")),
                           open_handoffs=len(handoffs(session, tenant.id)))


@bp.route("/health")
def health():
    """For the runner and load balancers: the app answers (no login, nothing about any tenant)."""
    return {"status": "ok"}
