"""Log in (rate-limited; choosing the business when one email and password open several), log out,
change one's password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from grace.store.audit import record
from grace.store.models import User, utcnow
from grace.tenancy.accounts import (
    AccountError,
    authenticate,
    check_password,
    normalise_email,
    session_token,
    set_password,
    user_for_token,
)
from grace.tenancy.registry import get_registry
from web.access import SignedIn
from web.request_store import db

bp = Blueprint("auth", __name__)
# The accounts a login may still choose between (business -> session token), kept in the signed session.
CHOICES = "login_choices"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a fresh login to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():  # rate-limited by web.app.limit_logins
    if request.method == "POST" and "tenant" in request.form:
        return _chosen(request.form["tenant"])
    if request.method == "POST":
        users = authenticate(db(), request.form.get("email", ""), request.form.get("password", ""))
        if not users:
            _failed(request.form.get("email", ""))
            flash("Wrong email or password.", "error")
            return render_template("login.html", email=request.form.get("email", "")), 401
        db().commit()
        if len(users) == 1:
            return _sign_in(users[0])
        # One person with the same password at several businesses: only those are offered, and the
        # choice is checked against this list, kept where the browser cannot change it.
        session.clear()
        session[CHOICES] = {user.tenant_id: session_token(user) for user in users}
        registry = get_registry()
        businesses = sorted((registry.get(user.tenant_id).name, user.tenant_id) for user in users)
        return render_template("login.html", businesses=businesses)
    return render_template("login.html", email="")


def _chosen(tenant_id: str):
    """The business picked after a login that matched several: only one of those the password opened."""
    token = (session.pop(CHOICES, None) or {}).get(tenant_id)
    user = user_for_token(db(), token) if isinstance(token, str) else None
    if user is None:
        flash("Log in again and choose one of the businesses offered.", "error")
        return render_template("login.html", email=""), 401
    return _sign_in(user)


def _failed(email: str) -> None:
    """A wrong password for an account is told to its business's owners (never the password tried); an
    unknown email belongs to no business, so nobody's log gets it."""
    for user in db().scalars(select(User).where(User.email == normalise_email(email))):
        record(db(), user.tenant_id, user.email, "login_failed", ip=request.remote_addr)


def _sign_in(user: User):
    user.last_login_at = utcnow()
    record(db(), user.tenant_id, user.email, "login", ip=request.remote_addr)
    db().commit()
    session.clear()  # a new session at login: nothing planted before it (fixation) survives
    login_user(SignedIn(user))
    if user.must_change_password:
        return redirect(url_for("auth.password"))
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        record(db(), current_user.tenant_id, current_user.email, "logout", ip=request.remote_addr)
        db().commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        user = db().get(User, current_user.id)
        if not check_password(user, request.form.get("current", "")):
            flash("The current password is wrong.", "error")
        elif request.form.get("new") != request.form.get("confirm"):
            flash("The new passwords differ.", "error")
        else:
            try:
                set_password(user, request.form.get("new", ""))
            except AccountError as exc:
                flash(str(exc), "error")
            else:
                record(db(), user.tenant_id, user.email, "password_changed", ip=request.remote_addr)
                db().commit()
                login_user(SignedIn(user))
                flash("Password changed.", "ok")
                return redirect(url_for("home.index"))
        return render_template("password.html"), 400
    return render_template("password.html")
