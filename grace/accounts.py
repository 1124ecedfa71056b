"""Dashboard accounts and API keys.

A user belongs to one tenant with a role; passwords are kept as argon2id hashes. API keys are
random and long, so a SHA-256 of the key is enough to find and check it (no salt or slow hash
needed) and the key itself is never stored: it is shown once when created.
"""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import ApiKey, User, utcnow

# What each role may do; an owner may do everything.
ROLES = ("owner", "ops", "viewer")
MIN_PASSWORD = 10
KEY_PREFIX = "grk_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(GraceError):
    """An account that cannot be created or changed; the message says why."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")


def create_user(session: Session, tenant_id: str, email: str, role: str, password: str,
                must_change_password: bool = False) -> User:
    """A new user of the tenant. AccountError for a bad email, role or password, or a taken email."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email or '(empty)'} is not an email address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    check_password_rules(password)
    if user_by_email(session, email) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(tenant_id=tenant_id, email=email, role=role, password_hash=_hasher.hash(password),
                must_change_password=int(must_change_password))
    session.add(user)
    session.flush()
    return user


def user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for an unknown email)."""
    user = user_by_email(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = 0


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, tenant_id: str, label: str = "") -> tuple[ApiKey, str]:
    """A new key for the tenant: (the stored row, the key itself, to show once)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(tenant_id=tenant_id, key_hash=hash_key(key), prefix=key[:10], label=(label or "")[:120])
    session.add(row)
    session.flush()
    return row, key


def tenant_for_key(session: Session, key: str | None) -> str | None:
    """The tenant a key belongs to, or None for a missing, unknown or revoked key."""
    if not key:
        return None
    row = session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(key.strip()))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row.tenant_id


def revoke_api_key(session: Session, tenant_id: str, key_id: int) -> bool:
    row = session.execute(select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id)).scalar_one_or_none()
    if row is None:
        return False
    row.revoked_at = row.revoked_at or utcnow()
    return True
