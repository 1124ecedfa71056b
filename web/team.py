"""The owner's pages: users of the business (invite with a one-time password) and API keys."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from grace.accounts import ROLES, AccountError, create_api_key, create_user, one_time_password, revoke_api_key
from grace.store.models import ApiKey, User
from web.access import OWNER, current_tenant, role_required
from web.db import db

bp = Blueprint("team", __name__)


@bp.route("/users")
@role_required(*OWNER)
def users():
    tenant = current_tenant()
    rows = db().scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.email)).all()
    return render_template("users.html", tenant=tenant, users=rows, roles=ROLES, invited=None)


@bp.route("/users", methods=["POST"])
@role_required(*OWNER)
def invite():
    """The new user gets a one-time password, shown here once, to pass on; they choose their own
    at first login (no email server needed, nothing guessable)."""
    tenant = current_tenant()
    password = one_time_password()
    try:
        user = create_user(db(), tenant.id, request.form.get("email", ""), request.form.get("role", ""), password,
                           must_change_password=True)
    except AccountError as exc:
        db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("team.users"))
    db().commit()
    rows = db().scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.email)).all()
    return render_template("users.html", tenant=tenant, users=rows, roles=ROLES,
                           invited={"email": user.email, "password": password})


@bp.route("/keys")
@role_required(*OWNER)
def keys():
    tenant = current_tenant()
    return render_template("keys.html", tenant=tenant, keys=_keys(tenant.id), new_key=None)


@bp.route("/keys", methods=["POST"])
@role_required(*OWNER)
def create_key():
    tenant = current_tenant()
    _, key = create_api_key(db(), tenant.id, request.form.get("label", "").strip())
    db().commit()
    return render_template("keys.html", tenant=tenant, keys=_keys(tenant.id), new_key=key)


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@role_required(*OWNER)
def revoke_key(key_id: int):
    if not revoke_api_key(db(), current_tenant().id, key_id):
        abort(404)
    db().commit()
    flash("Key revoked: requests with it now get 401.", "ok")
    return redirect(url_for("team.keys"))


def _keys(tenant_id: str) -> list[ApiKey]:
    return db().scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)).all()
