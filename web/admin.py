"""The platform administrator's area (/admin): businesses, numbers, suspension, usage. Its own accounts
(grace.tenancy.admins), never a business's user.

An admin's session is its own key in the signed session (`platform_admin`), not Flask-Login's user: a
business user signed in is refused here (403), and a platform admin sees no business page unless they
also signed in as a user of that business. Forms carry the CSRF token like the rest of the dashboard; the
login is rate-limited with the business login (web.app.limit_logins).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from grace.store.models import PlatformAdmin
from grace.tenancy.admins import AdminError, admin_for_token, authenticate, change_password, session_token
from grace.tenancy.registry import get_registry
from grace.tenancy.settings import SettingsError
from grace.tenancy.standing import (
    StandingError,
    account_of,
    assign,
    business_facts,
    businesses,
    create_business,
    plan_names,
    resume,
    set_plan,
    suspend,
)
from web.request_store import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
SESSION_KEY = "platform_admin"
log = logging.getLogger("grace.web.admin")
# The new-business form's fields, as `grace tenants create` takes them.
NEW_BUSINESS_FIELDS = ("tenant_id", "name", "currency", "timezone", "ops", "whatsapp", "deposit_percent", "bank_name",
                       "account_name", "account_number", "returns", "delivery")


def signed_in_admin() -> PlatformAdmin | None:
    token = session.get(SESSION_KEY)
    return admin_for_token(db(), token) if token else None


def admin_required(view: Callable) -> Callable:
    """A platform admin's session required: a business user gets 403, anyone else the admin login."""
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        admin = signed_in_admin()
        if admin is None:
            session.pop(SESSION_KEY, None)  # a token whose password changed ends here
            if current_user.is_authenticated:
                abort(403)
            return redirect(url_for("admin.login"))
        g.platform_admin = admin
        return view(*args, **kwargs)
    return guarded


def _by() -> str:
    return g.platform_admin.email


@bp.app_context_processor
def suspension_banner() -> dict:
    """The business pages' banner while the platform has the signed-in user's business suspended."""
    if request.blueprint == bp.name or not current_user.is_authenticated:
        return {}
    account = account_of(db(), current_user.tenant_id)
    return {"platform_suspension": account.suspended_reason if account and account.suspended_at else None}


@bp.route("/login", methods=["GET", "POST"])
def login():  # rate-limited by web.app.limit_logins
    if request.method == "GET":
        return render_template("admin_login.html", email="")
    email = request.form.get("email", "")
    admin = authenticate(db(), email, request.form.get("password", ""))
    if admin is None:
        log.warning("failed platform admin login from %s", request.remote_addr)
        flash("Wrong email or password.", "error")
        return render_template("admin_login.html", email=email), 401
    token = session_token(admin)
    db().commit()
    session.clear()  # a new session at login, as for business users: nothing planted before it survives
    session[SESSION_KEY] = token
    log.info("platform admin %s signed in from %s", admin.email, request.remote_addr)
    return redirect(url_for("admin.index"))


@bp.route("/logout", methods=["POST"])
def logout():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("admin.login"))


@bp.route("")
@admin_required
def index():
    return render_template("admin_businesses.html", businesses=businesses(db()))


def _business_page(tenant_id: str, status: int = 200, errors: dict | None = None, form: dict | None = None):
    found = businesses(db(), only=tenant_id)
    if not found:
        abort(404)
    try:
        plans = plan_names()
    except StandingError as exc:  # the page still serves standing and numbers
        plans, errors = (), {**(errors or {}), "plan": str(exc)}
    return render_template("admin_business.html", business=found[0], plans=plans, errors=errors or {},
                           form=form or {}), status


@bp.route("/businesses/<tenant_id>")
@admin_required
def business(tenant_id: str):
    return _business_page(tenant_id)


def _known(tenant_id: str) -> None:
    if not get_registry().exists(tenant_id):
        abort(404)


def _refused(tenant_id: str, problem: str, form: dict | None = None):
    db().rollback()
    flash(problem, "error")
    return _business_page(tenant_id, 422, form=form)


@bp.route("/businesses/<tenant_id>/suspend", methods=["POST"])
@admin_required
def suspend_business(tenant_id: str):
    _known(tenant_id)
    reason = request.form.get("reason", "")
    try:
        suspend(db(), tenant_id, reason, _by(), request.remote_addr)
    except StandingError as exc:
        return _refused(tenant_id, str(exc), {"reason": reason})
    db().commit()
    flash(f"{tenant_id} is suspended: its customers get a polite message; nothing is deleted.", "ok")
    return redirect(url_for("admin.business", tenant_id=tenant_id))


@bp.route("/businesses/<tenant_id>/resume", methods=["POST"])
@admin_required
def resume_business(tenant_id: str):
    _known(tenant_id)
    try:
        resume(db(), tenant_id, _by(), request.remote_addr)
    except StandingError as exc:
        return _refused(tenant_id, str(exc))
    db().commit()
    flash(f"{tenant_id} is active again: its next customer message gets a normal reply.", "ok")
    return redirect(url_for("admin.business", tenant_id=tenant_id))


@bp.route("/businesses/<tenant_id>/plan", methods=["POST"])
@admin_required
def plan(tenant_id: str):
    _known(tenant_id)
    try:
        account = set_plan(db(), tenant_id, request.form.get("plan", ""), _by(), request.remote_addr)
    except StandingError as exc:
        return _refused(tenant_id, str(exc))
    chosen = account.plan or "the default plan"
    db().commit()
    flash(f"{tenant_id} is on {chosen}.", "ok")
    return redirect(url_for("admin.business", tenant_id=tenant_id))


@bp.route("/businesses/<tenant_id>/numbers", methods=["POST"])
@admin_required
def numbers(tenant_id: str):
    _known(tenant_id)
    form = {"whatsapp": request.form.get("whatsapp", ""), "meta_id": request.form.get("meta_id", "")}
    release = request.form.get("action") == "release"
    try:
        assign(db(), tenant_id, form["whatsapp"], form["meta_id"], release=release, by=_by(),
               ip=request.remote_addr)
    except StandingError as exc:
        return _refused(tenant_id, str(exc), form)
    except SettingsError as exc:
        return _refused(tenant_id, "; ".join(exc.errors.values()), form)
    db().commit()
    given = " and ".join(x for x in (form["whatsapp"].strip(), form["meta_id"].strip()) if x)
    flash(f"{given} {'released from' if release else 'assigned to'} {tenant_id}.", "ok")
    return redirect(url_for("admin.business", tenant_id=tenant_id))


@bp.route("/businesses/new", methods=["GET", "POST"])
@admin_required
def new_business():
    if request.method == "GET":
        return render_template("admin_new_business.html", form={}, errors={})
    form = {name: request.form.get(name, "") for name in NEW_BUSINESS_FIELDS}
    facts = business_facts(currency=form["currency"], timezone=form["timezone"], ops=form["ops"].split(),
                           whatsapp=form["whatsapp"].split(), deposit_percent=form["deposit_percent"],
                           bank_name=form["bank_name"], account_name=form["account_name"],
                           account_number=form["account_number"], returns=form["returns"],
                           delivery=form["delivery"])
    try:
        tenant = create_business(db(), form["tenant_id"].strip(), form["name"].strip(), facts, _by(),
                                 request.remote_addr)
    except SettingsError as exc:
        db().rollback()
        return render_template("admin_new_business.html", form=form, errors=exc.errors), 422
    db().commit()
    flash(f"{tenant.name} ({tenant.id}) created. Next: give its owner an account "
          f"(grace users add {tenant.id} <email> --role owner).", "ok")
    return redirect(url_for("admin.business", tenant_id=tenant.id))


@bp.route("/password", methods=["GET", "POST"])
@admin_required
def password():
    if request.method == "GET":
        return render_template("admin_password.html")
    if request.form.get("new") != request.form.get("confirm"):
        flash("The new passwords differ.", "error")
        return render_template("admin_password.html"), 400
    try:
        change_password(db(), g.platform_admin, request.form.get("current", ""), request.form.get("new", ""))
    except AdminError as exc:
        db().rollback()
        flash(str(exc), "error")
        return render_template("admin_password.html"), 400
    session[SESSION_KEY] = session_token(g.platform_admin)
    db().commit()
    flash("Password changed; your other sessions have ended.", "ok")
    return redirect(url_for("admin.index"))
