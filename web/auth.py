"""Log in (rate-limited), log out, change one's password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from grace.store.models import User
from grace.tenancy.accounts import AccountError, authenticate, set_password
from web.access import SignedIn
from web.request_store import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a fresh login to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():  # rate-limited by web.app.limit_logins
    if request.method == "POST":
        user = authenticate(db(), request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            flash("Wrong email or password.", "error")
            return render_template("login.html", email=request.form.get("email", "")), 401
        db().commit()
        session.clear()  # a new session at login: nothing planted before it (fixation) survives
        login_user(SignedIn(user))
        if user.must_change_password:
            return redirect(url_for("auth.password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", email="")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        user = db().get(User, current_user.id)
        if authenticate(db(), user.email, request.form.get("current", "")) is None:
            flash("The current password is wrong.", "error")
        elif request.form.get("new") != request.form.get("confirm"):
            flash("The new passwords differ.", "error")
        else:
            try:
                set_password(user, request.form.get("new", ""))
            except AccountError as exc:
                flash(str(exc), "error")
            else:
                db().commit()
                login_user(SignedIn(user))
                flash("Password changed.", "ok")
                return redirect(url_for("home.index"))
        return render_template("password.html"), 400
    return render_template("password.html")
