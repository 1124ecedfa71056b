"""The platform operator's accounts (platform_admins): who may use the admin area (/admin) and act on every
business. Not a user of any business: a business's owner is no platform admin, and the other way round.
Passwords are argon2id hashes, as for dashboard users (grace.tenancy.accounts)."""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import PlatformAdmin, utcnow
from grace.tenancy.accounts import check_password_rules, normalise_email

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-admin-password")


class AdminError(GraceError):
    """A platform admin account that cannot be made or changed; the message says why."""


def admin_by_email(session: Session, email: str) -> PlatformAdmin | None:
    return session.execute(select(PlatformAdmin).where(PlatformAdmin.email == normalise_email(email))
                           ).scalar_one_or_none()


def create_admin(session: Session, email: str, password: str) -> PlatformAdmin:
    """A new platform admin. AdminError for a bad email or password, or one already an admin."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AdminError(f"{email or '(empty)'} is not an email address")
    try:
        check_password_rules(password)
    except GraceError as exc:
        raise AdminError(str(exc)) from None
    if admin_by_email(session, email) is not None:
        raise AdminError(f"{email} is already a platform admin")
    admin = PlatformAdmin(email=email, password_hash=_hasher.hash(password))
    session.add(admin)
    session.flush()
    return admin


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> PlatformAdmin | None:
    """The admin with this email and password, else None. An unknown email still costs an argon2
    verification, so it takes as long as a wrong password and tells nobody which emails are admins."""
    admin = admin_by_email(session, email)
    if admin is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(admin.password_hash, password):
        return None
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
    admin.last_login_at = utcnow()
    return admin


def change_password(session: Session, admin: PlatformAdmin, current: str, new: str) -> None:
    """A new password, given the current one; the admin's other sessions end (their token no longer matches)."""
    if not _verify(admin.password_hash, current):
        raise AdminError("the current password is wrong")
    try:
        check_password_rules(new)
    except GraceError as exc:
        raise AdminError(str(exc)) from None
    admin.password_hash = _hasher.hash(new)


def session_token(admin: PlatformAdmin) -> str:
    """What an admin's session carries: the id and a fingerprint of the password hash, so a changed password
    or a removed admin ends every session at once."""
    return f"{admin.id}:{hashlib.sha256(admin.password_hash.encode()).hexdigest()[:16]}"


def admin_for_token(session: Session, token: object) -> PlatformAdmin | None:
    admin_id, _, _ = (token if isinstance(token, str) else "").partition(":")
    admin = session.get(PlatformAdmin, int(admin_id)) if admin_id.isdigit() else None
    return admin if admin is not None and secrets.compare_digest(session_token(admin), str(token)) else None
