"""The owner's pages: users of the business (invite with a one-time password, change a role, remove) and API keys."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from grace.store.models import ApiKey, User
from grace.tenancy.accounts import (
    ROLES,
    AccountError,
    UnknownUser,
    change_role,
    create_api_key,
    create_user,
    one_time_password,
    remove_user,
    revoke_api_key,
)
from web.access import OWNER, current_tenant, role_required
from web.audit import audit
from web.request_store import db

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
    audit("user_added", user.email, {"role": user.role})
    db().commit()
    rows = db().scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.email)).all()
    return render_template("users.html", tenant=tenant, users=rows, roles=ROLES,
                           invited={"email": user.email, "password": password})


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required(*OWNER)
def set_role(user_id: int):
    """Takes effect on the user's next request: their session reads the role from the store each time."""
    role = request.form.get("role", "")
    return _change(lambda: change_role(db(), current_tenant().id, user_id, role, current_user.id).email,
                   "{} is now " + role + ".", "role_changed", {"role": role})


@bp.route("/users/<int:user_id>/remove", methods=["POST"])
@role_required(*OWNER)
def remove(user_id: int):
    return _change(lambda: remove_user(db(), current_tenant().id, user_id, current_user.id),
                   "{} was removed; they are signed out now.", "user_removed")


def _change(change: Callable[[], str], done: str, action: str, detail: dict | None = None) -> Response:
    """Run one change of a user (returning their email), record it as `action` and say how it went on the
    users page."""
    try:
        email = change()
    except UnknownUser:
        abort(404)
    except AccountError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        audit(action, email, detail)
        db().commit()
        flash(done.format(email), "ok")
    return redirect(url_for("team.users"))


@bp.route("/keys")
@role_required(*OWNER)
def keys():
    tenant = current_tenant()
    return render_template("keys.html", tenant=tenant, keys=_keys(tenant.id), new_key=None)


@bp.route("/keys", methods=["POST"])
@role_required(*OWNER)
def create_key():
    tenant = current_tenant()
    row, key = create_api_key(db(), tenant.id, request.form.get("label", "").strip())
    audit("api_key_created", row.prefix, {"label": row.label} if row.label else None)
    db().commit()
    return render_template("keys.html", tenant=tenant, keys=_keys(tenant.id), new_key=key)


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@role_required(*OWNER)
def revoke_key(key_id: int):
    if not revoke_api_key(db(), current_tenant().id, key_id):
        abort(404)
    revoked = db().get(ApiKey, key_id)
    audit("api_key_revoked", revoked.prefix if revoked else key_id)
    db().commit()
    flash("Key revoked: requests with it now get 401.", "ok")
    return redirect(url_for("team.keys"))


def _keys(tenant_id: str) -> list[ApiKey]:
    return db().scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)).all()
