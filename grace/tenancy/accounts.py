"""Dashboard accounts and API keys.

A user belongs to one tenant with a role; passwords are kept as argon2id hashes. An email is unique
within a tenant only: the same person may have an account at several businesses, and nothing here
tells one business about another's accounts. API keys are
random and long, so a SHA-256 of the key is enough to find and check it (no salt or slow hash
needed) and the key itself is never stored: it is shown once when created.
"""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import ApiKey, User, utcnow
from grace.tenancy.plans import SEATS, plan_of

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


class UnknownUser(AccountError):
    """No such user in this tenant."""


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
    # Only this tenant's accounts are looked at: an email known at another business gets a separate
    # account here, with the same answer as a new email, so an owner learns nothing about the others.
    if user_by_email(session, tenant_id, email) is not None:
        raise AccountError(f"{email} already has an account here")
    check_seats(session, tenant_id)
    user = User(tenant_id=tenant_id, email=email, role=role, password_hash=_hasher.hash(password),
                must_change_password=int(must_change_password))
    session.add(user)
    session.flush()
    return user


def check_seats(session: Session, tenant_id: str) -> None:
    """AccountError when every team seat of the business's plan is taken."""
    plan = plan_of(session, tenant_id)
    seats = plan.limit(SEATS)
    if seats is None:
        return
    taken = session.scalar(select(func.count()).select_from(User).where(User.tenant_id == tenant_id)) or 0
    if taken >= seats:
        raise AccountError(f"all {seats} team seats of the {plan.name} plan are taken: remove someone's account "
                           f"first, or ask for a bigger plan")


def user_by_email(session: Session, tenant_id: str, email: str) -> User | None:
    return session.execute(select(User).where(User.tenant_id == tenant_id, User.email == normalise_email(email))
                           ).scalar_one_or_none()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def check_password(user: User, password: str) -> bool:
    """Whether `password` is the user's (a hash made with older parameters is renewed on the way)."""
    if not _verify(user.password_hash, password):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def authenticate(session: Session, email: str, password: str) -> list[User]:
    """The accounts with this email whose password this is: usually one, several when one person keeps the
    same password at several businesses, none for a wrong password or an unknown email (which still
    costs an argon2 verification, so it takes as long as a wrong password)."""
    users = session.scalars(select(User).where(User.email == normalise_email(email)).order_by(User.id)).all()
    if not users:
        _verify(_DUMMY_HASH, password)
    return [user for user in users if check_password(user, password)]


def set_password(user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = 0


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def session_token(user: User) -> str:
    """What a signed-in session carries to name its user: the id and a fingerprint of the password hash.
    A removed user's id may be given to a new account (SQLite reuses the highest id), and a changed
    password should end other sessions: either way the old token no longer matches."""
    return f"{user.id}:{hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]}"


def user_for_token(session: Session, token: str) -> User | None:
    user_id, _, _ = (token or "").partition(":")
    user = session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and secrets.compare_digest(session_token(user), token) else None


def _other_user(session: Session, tenant_id: str, user_id: int, acting_user_id: int) -> User:
    """A user of the tenant other than the one acting; AccountError otherwise (another tenant's user
    is reported as unknown, so nobody learns it exists)."""
    if user_id == acting_user_id:
        raise AccountError("you cannot change or remove your own account; another owner can")
    user = session.execute(select(User).where(User.id == user_id, User.tenant_id == tenant_id)).scalar_one_or_none()
    if user is None:
        raise UnknownUser(f"no user {user_id} in {tenant_id}")
    return user


def _keep_an_owner(session: Session, tenant_id: str, losing: User) -> None:
    # The owners' rows are locked (PostgreSQL) so two owners demoting each other at once cannot both pass.
    owners = session.scalars(select(User.id).where(User.tenant_id == tenant_id, User.role == "owner")
                             .with_for_update()).all()
    if losing.role == "owner" and set(owners) <= {losing.id}:
        raise AccountError(f"{losing.email} is the last owner; make someone else owner first")


def change_role(session: Session, tenant_id: str, user_id: int, role: str, acting_user_id: int) -> User:
    """Give another user of the tenant a new role; the tenant always keeps an owner."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    user = _other_user(session, tenant_id, user_id, acting_user_id)
    if role != "owner":
        _keep_an_owner(session, tenant_id, user)
    user.role = role
    return user


def remove_user(session: Session, tenant_id: str, user_id: int, acting_user_id: int) -> str:
    """Delete another user of the tenant (their sessions end with the row); their email."""
    user = _other_user(session, tenant_id, user_id, acting_user_id)
    _keep_an_owner(session, tenant_id, user)
    email = user.email
    session.delete(user)
    return email


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
