"""The dashboard's app factory: config, extensions, blueprints, error pages."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from grace.config import load_settings
from grace.tenancy.accounts import user_for_token
from web.access import SignedIn
from web.extensions import csrf, login_manager
from web.request_store import db, init_db
from web.whatsapp_text import whatsapp_markup

MAX_UPLOAD_BYTES = 16 * 1024 * 1024

log = logging.getLogger("grace.web")


def secret_key() -> str:
    """GRACE_WEB_SECRET_KEY, else a random key made once and kept in var/web_secret (owner-only),
    so sessions survive a restart without a secret in git."""
    key = os.environ.get("GRACE_WEB_SECRET_KEY")
    if key:
        return key
    path = Path(load_settings().var_dir) / "web_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=None, MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("GRACE_WEB_SECURE_COOKIES", "") == "1",
        RATELIMIT_STORAGE_URI=os.environ.get("REDIS_URL") or "memory://",
        LOGIN_LIMIT=os.environ.get("GRACE_WEB_LOGIN_LIMIT", "10 per minute"),
    )
    app.config.update(config or {})
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or secret_key()

    proxies = int(os.environ.get("GRACE_WEB_PROXIES", "0"))
    if proxies:  # behind that many proxies: rate limits see the real client (X-Forwarded-For, no deeper)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    else:
        app.before_request(_warn_of_a_forgotten_proxy)

    init_db(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(token: str) -> SignedIn | None:
        user = user_for_token(db(), token)
        return SignedIn(user) if user else None

    from web.queries import money

    app.jinja_env.globals["money"] = money
    app.jinja_env.filters["whatsapp"] = whatsapp_markup
    from web import (
        admin,
        analytics,
        api,
        audit,
        auth,
        broadcasts,
        catalog,
        catalog_backups,
        contacts,
        credentials,
        customers,
        handoffs,
        home,
        inbox,
        media,
        orders,
        payment_review,
        privacy,
        settings,
        simulator,
        team,
        usage,
    )

    for module in (auth, home, payment_review, orders, customers, inbox, handoffs, catalog, catalog_backups, analytics,
                   simulator, settings, team, media, api):
        app.register_blueprint(module.bp)
    app.register_blueprint(contacts.bp)
    app.register_blueprint(broadcasts.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(admin.bp)
    for module in (credentials, usage, privacy):  # each has a page and its part of /api/v1
        app.register_blueprint(module.bp)
        app.register_blueprint(module.api)
        csrf.exempt(module.api)
    csrf.exempt(api.bp)  # the API authenticates each request by key, not by cookie
    limit_logins(app)
    _error_pages(app)
    app.after_request(_security_headers)
    return app


_proxy_warned = False


def _warn_of_a_forgotten_proxy() -> None:
    """A request that came through a proxy while GRACE_WEB_PROXIES is 0: every client then has the proxy's
    address, so one client's failed logins lock everyone out. Said once per process, loudly."""
    global _proxy_warned
    if not _proxy_warned and ("X-Forwarded-For" in request.headers or "Forwarded" in request.headers):
        _proxy_warned = True
        log.warning("requests arrive through a proxy (X-Forwarded-For) but GRACE_WEB_PROXIES is 0: the login "
                    "rate limit counts every client as the proxy; set GRACE_WEB_PROXIES to the number of proxies")


def _security_headers(response):
    # Scripts only from the app's own files (the inbox's refresher), never inline or from elsewhere: an
    # escaping slip cannot run code. The refresher fetches only the app's own routes (connect-src).
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; "
                                "script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
                                "form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def limit_logins(app: Flask) -> Limiter:
    """Login attempts per client address (LOGIN_LIMIT, e.g. "10 per minute"), counted in memory or,
    with REDIS_URL, in Redis so every dashboard process counts together."""
    limiter = Limiter(key_func=get_remote_address, app=app)
    for endpoint in ("auth.login", "admin.login"):  # the businesses' and the platform admins' logins
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]  # Flask-Limiter's async union
            lambda: app.config["LOGIN_LIMIT"], methods=["POST"])(view)
    return limiter


def _error_pages(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith("/api/")

    def page(code: int, message: str):
        if wants_json():
            return jsonify(error=message), code
        return render_template("error.html", code=code, message=message), code

    app.register_error_handler(403, lambda e: page(403, "Your role does not allow that."))
    app.register_error_handler(404, lambda e: page(404, "Not found."))
    app.register_error_handler(405, lambda e: page(405, "That method is not allowed here."))
    app.register_error_handler(413, lambda e: page(413, f"The upload is over {MAX_UPLOAD_BYTES // 2**20} MB."))
    app.register_error_handler(503, lambda e: page(503, "The file store did not answer; try again in a moment."))
    app.register_error_handler(429, lambda e: page(429, "Too many attempts; wait a minute and try again."))
    app.register_error_handler(CSRFError, lambda e: page(400, "The form expired; reload the page and try again."))
