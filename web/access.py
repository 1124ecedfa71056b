"""Who may do what: roles on dashboard pages, the signed-in user's tenant."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort, redirect, url_for
from flask_login import UserMixin, current_user, login_required

from grace.store.models import User
from grace.tenancy.accounts import session_token
from grace.tenancy.registry import Tenant, get_registry

# owner: everything; ops: payments, orders, handoffs; viewer: reads only.
ACT_ON_ORDERS = ("owner", "ops")
OWNER = ("owner",)


class SignedIn(UserMixin):
    """The session's user, detached from the request's database session."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.tenant_id = user.tenant_id
        self.role = user.role
        self.must_change_password = bool(user.must_change_password)
        self.token = session_token(user)

    def get_id(self) -> str:
        # Read back on every request (web.app's user loader): a removed user, or one whose password
        # changed, no longer matches, so their sessions stop at once.
        return self.token

    def can(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles


def current_tenant() -> Tenant:
    return get_registry().get(current_user.tenant_id)


def role_required(*roles: str) -> Callable:
    """Login required; a signed-in user without one of `roles` gets 403."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.must_change_password:  # an invited user sets their own password first
                return redirect(url_for("auth.password"))
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return wrap
