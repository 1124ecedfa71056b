"""A business's own provider accounts (Twilio, Meta, model endpoint), sealed in the store.

An owner enters them in the dashboard (web/credentials.py); they are sealed with the platform's key
(grace.store.secrets) and never shown back: what may be shown is `status` (set or not, a hint such as
"AC…1234", when and by whom). The hot paths (webhook signature checks, sends, model calls) ask
`twilio_for` / `meta_for` / `model_for`: the business's own account, else the environment's (the
single-business default), else None. A business whose stored account cannot be opened (a dropped key) gets
None, never the platform's account: its webhooks are refused rather than checked with someone else's secret.

Answers are kept in this process for a few seconds (GRACE_CREDENTIALS_CACHE_S, 5), so a webhook costs no
database read and no decryption beyond the first in that time; a save or a removal here forgets the
business's entry at once (other processes see it when their entry expires).
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from grace.config import local_development
from grace.errors import GraceError
from grace.store import session_scope
from grace.store.audit import record
from grace.store.models import TenantCredential, utcnow
from grace.store.secrets import SecretKeyMissing, SecretUnreadable, reseal, seal, unseal

log = logging.getLogger("grace.tenancy.credentials")

TWILIO, META, MODEL = "twilio", "meta", "model"
KINDS = (TWILIO, META, MODEL)
# The fields an owner gives, by kind; `api_base_url` (Twilio, Meta) is not on the page: the platform operator
# may point one business at a Twilio- or Graph-compatible server (tests do: a local fake per account).
FIELDS: dict[str, tuple[str, ...]] = {
    TWILIO: ("account_sid", "auth_token", "api_base_url"),
    META: ("access_token", "app_secret", "api_base_url"),
    MODEL: ("base_url", "api_key", "model"),
}
REQUIRED: dict[str, tuple[str, ...]] = {TWILIO: ("account_sid", "auth_token"), META: ("access_token", "app_secret"),
                                        MODEL: ("base_url",)}
NAMES = {TWILIO: "Twilio", META: "Meta WhatsApp Cloud API", MODEL: "model endpoint"}
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
AUTH_TOKEN = re.compile(r"^[0-9a-zA-Z]{32}$")
TOKEN = re.compile(r"^\S{16,1024}$")  # Meta's tokens and secrets: long, no spaces
MODEL_NAME = re.compile(r"^[\w.:/@+-]{1,100}$")
MAX_URL = 300


class CredentialsRefused(GraceError):
    """What an owner entered cannot be kept (the message says why; nothing stored changes)."""


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str
    api_base_url: str = ""  # "" : Twilio's own
    own: bool = False  # the business's own, not the platform's


@dataclass(frozen=True)
class MetaAccount:
    access_token: str
    app_secret: str  # "" when the environment has none: webhooks are then refused
    api_base_url: str = ""
    own: bool = False


@dataclass(frozen=True)
class ModelEndpoint:
    base_url: str  # "" : OpenAI's own
    api_key: str
    model: str = ""  # "" : the platform's default (a tenant's `llm_model` still wins)
    own: bool = False


@dataclass(frozen=True)
class Status:
    """What the dashboard may show of one kind: never a secret."""

    kind: str
    set: bool
    hint: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""


# Validation ---------------------------------------------------------------------------------------------


def _http_url(value: str, what: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if len(value) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialsRefused(f"{what} must be an http(s) address, e.g. https://api.example.com/v1")
    return value


def _outside_only(url: str) -> None:
    """An owner's model endpoint is called from inside the platform: outside local development it must be https
    on a public address, never this platform's own network (its databases, Rasa, the cloud's metadata service).
    Checked when saved; the address is resolved here, so a name that points inside is refused too."""
    if local_development():
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise CredentialsRefused("the model endpoint must be an https address")
    host = parts.hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise CredentialsRefused(f"the model endpoint's host {host} does not resolve") from None
    inside = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global)
    if inside:
        raise CredentialsRefused(f"the model endpoint must be a public address: {host} is {inside[0]}, "
                                 "a private or local one")


def _checked(kind: str, values: dict[str, Any]) -> dict[str, str]:
    """The values to keep, trimmed and checked; CredentialsRefused with the reason otherwise."""
    if kind not in KINDS:
        raise CredentialsRefused(f"unknown kind of account {kind!r} (one of {', '.join(KINDS)})")
    given = {name: str(values.get(name) or "").strip() for name in FIELDS[kind]}
    missing = [name.replace("_", " ") for name in REQUIRED[kind] if not given[name]]
    if missing:
        raise CredentialsRefused(f"{NAMES[kind]}: {' and '.join(missing)} required")
    if kind == TWILIO:
        if not ACCOUNT_SID.match(given["account_sid"]):
            raise CredentialsRefused("a Twilio account SID starts with AC and has 34 characters "
                                     "(letters a-f and digits after AC)")
        if not AUTH_TOKEN.match(given["auth_token"]):
            raise CredentialsRefused("a Twilio auth token has 32 letters and digits (Twilio console, Account Info)")
    elif kind == META:
        for name in ("access_token", "app_secret"):
            if not TOKEN.match(given[name]):
                raise CredentialsRefused(f"the Meta {name.replace('_', ' ')} is at least 16 characters, no spaces")
    else:
        given["base_url"] = _http_url(given["base_url"], "the model endpoint")
        _outside_only(given["base_url"])
        if given["api_key"] and not TOKEN.match(given["api_key"]):
            raise CredentialsRefused("the model API key is at least 16 characters, no spaces")
        if given["model"] and not MODEL_NAME.match(given["model"]):
            raise CredentialsRefused("the model name is letters, digits and . : / @ + - _ (at most 100)")
    if given.get("api_base_url"):
        given["api_base_url"] = _http_url(given["api_base_url"], "the API address")
    return {name: value for name, value in given.items() if value}


def hint_of(kind: str, values: dict[str, str]) -> str:
    """What identifies the account without revealing it: the SID's ends, the token's last 4, the model's host."""
    if kind == TWILIO:
        sid = values["account_sid"]
        return f"{sid[:2]}…{sid[-4:]}"
    if kind == META:
        return f"token …{values['access_token'][-4:]}"
    host = urlsplit(values["base_url"]).hostname or ""
    return f"{host}{' · ' + values['model'] if values.get('model') else ''}"[:60]


# Owner's changes ----------------------------------------------------------------------------------------


def _row(session: Session, tenant_id: str, kind: str) -> TenantCredential | None:
    return session.scalars(select(TenantCredential).where(TenantCredential.tenant_id == tenant_id,
                                                          TenantCredential.kind == kind)).one_or_none()


def save(session: Session, tenant_id: str, kind: str, values: dict[str, Any], by: str,
         ip: str | None = None) -> Status:
    """Keep the business's own account of `kind` (replacing the one before), sealed, and audit it (the kind
    only). CredentialsRefused when a value is wrong, SecretKeyMissing without the platform's key: either way
    nothing stored changes. Committed with the caller's session."""
    kept = _checked(kind, values)
    sealed = seal(kept)  # SecretKeyMissing before anything is added to the session
    row = _row(session, tenant_id, kind)
    if row is None:
        row = TenantCredential(tenant_id=tenant_id, kind=kind)
        session.add(row)
    row.sealed, row.hint = sealed, hint_of(kind, kept)
    row.updated_at, row.updated_by = utcnow(), by[:254]
    record(session, tenant_id, by, "credentials_saved", kind, {"kind": kind}, ip)
    _forget_on_commit(session, tenant_id)
    return Status(kind, True, row.hint, row.updated_at, row.updated_by)


def clear(session: Session, tenant_id: str, kind: str, by: str, ip: str | None = None) -> bool:
    """Remove the business's own account of `kind` (the platform's is used again); whether there was one."""
    if kind not in KINDS:
        raise CredentialsRefused(f"unknown kind of account {kind!r}")
    row = _row(session, tenant_id, kind)
    if row is None:
        return False
    session.delete(row)
    record(session, tenant_id, by, "credentials_cleared", kind, {"kind": kind}, ip)
    _forget_on_commit(session, tenant_id)
    return True


def status(session: Session, tenant_id: str) -> dict[str, Status]:
    """Per kind: whether the business has its own, its hint, when and by whom it was set. Never a secret."""
    rows = {row.kind: row for row in session.scalars(
        select(TenantCredential).where(TenantCredential.tenant_id == tenant_id))}
    return {kind: Status(kind, True, rows[kind].hint, rows[kind].updated_at, rows[kind].updated_by)
            if kind in rows else Status(kind, False) for kind in KINDS}


def reseal_all(session: Session) -> int:
    """Seal every stored credential again under GRACE_SECRET_KEY's newest key; how many were resealed. A row
    no key opens is logged (business and kind) and left as it is: the owner enters it again."""
    resealed = 0
    for row in session.scalars(select(TenantCredential).order_by(TenantCredential.id)):
        try:
            row.sealed = reseal(row.sealed)
        except SecretUnreadable:
            log.error("the %s account of %s opens with none of GRACE_SECRET_KEY's keys: kept as it is; "
                      "its owner must enter it again", row.kind, row.tenant_id)
            continue
        resealed += 1
    forget()
    return resealed


def unreadable(session: Session) -> list[tuple[str, str]]:
    """(business, kind) of every stored account no key opens."""
    found = []
    for row in session.scalars(select(TenantCredential).order_by(TenantCredential.id)):
        try:
            unseal(row.sealed)
        except SecretUnreadable:
            found.append((row.tenant_id, row.kind))
    return found


# Resolution for the hot paths ---------------------------------------------------------------------------

_UNUSABLE = object()  # stored, but no key opens it (or no key at all)
_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _ttl() -> float:
    return float(os.environ.get("GRACE_CREDENTIALS_CACHE_S", "5"))


def forget(tenant_id: str | None = None) -> None:
    """Drop this process's cached answers (of one business, or all)."""
    with _cache_lock:
        for key in [key for key in _cache if tenant_id is None or key[0] == tenant_id]:
            del _cache[key]


def _forget_on_commit(session: Session, tenant_id: str) -> None:
    # Now, and again once the change is committed: a read between the two would cache the old row.
    forget(tenant_id)
    event.listen(session, "after_commit", lambda _session: forget(tenant_id), once=True)


def _load(tenant_id: str, kind: str) -> Any:
    """The business's own values of `kind` (a dict), None when it has none, _UNUSABLE when unreadable."""
    with session_scope() as session:
        sealed = session.scalars(select(TenantCredential.sealed).where(
            TenantCredential.tenant_id == tenant_id, TenantCredential.kind == kind)).one_or_none()
    if sealed is None:
        return None
    try:
        return unseal(sealed)
    except (SecretUnreadable, SecretKeyMissing) as exc:
        log.error("the %s account of %s cannot be opened (%s): its traffic is refused until it is entered again",
                  kind, tenant_id, exc)
        return _UNUSABLE


def _own(tenant_id: str, kind: str) -> Any:
    key, now = (tenant_id, kind), time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    found = _load(tenant_id, kind)
    with _cache_lock:
        _cache[key] = (now + _ttl(), found)
    return found


def twilio_for(tenant_id: str | None) -> TwilioAccount | None:
    """The Twilio account the business's traffic uses: its own, else the environment's, else None."""
    own = _own(tenant_id, TWILIO) if tenant_id else None
    if own is _UNUSABLE:
        return None
    if own:
        # Without an address of its own, the platform's (TWILIO_API_BASE_URL: a region's edge, or a test's server).
        return TwilioAccount(own["account_sid"], own["auth_token"],
                             own.get("api_base_url") or os.environ.get("TWILIO_API_BASE_URL", ""), own=True)
    sid, token = os.environ.get("TWILIO_ACCOUNT_SID", ""), os.environ.get("TWILIO_AUTH_TOKEN", "")
    return TwilioAccount(sid, token, os.environ.get("TWILIO_API_BASE_URL", "")) if sid and token else None


def meta_for(tenant_id: str | None) -> MetaAccount | None:
    """The Meta account (access token, app secret) the business's traffic uses: its own, else the
    environment's (META_ACCESS_TOKEN, META_APP_SECRET), else None."""
    own = _own(tenant_id, META) if tenant_id else None
    if own is _UNUSABLE:
        return None
    if own:
        return MetaAccount(own["access_token"], own["app_secret"],
                           own.get("api_base_url") or os.environ.get("META_API_BASE_URL", ""), own=True)
    token = os.environ.get("META_ACCESS_TOKEN", "")
    return MetaAccount(token, os.environ.get("META_APP_SECRET", ""),
                       os.environ.get("META_API_BASE_URL", "")) if token else None


def model_for(tenant_id: str | None) -> ModelEndpoint | None:
    """The model endpoint the business's fallback answers use: its own, else the environment's
    (OPENAI_BASE_URL / OPENAI_API_KEY / GRACE_LLM_MODEL), else None."""
    own = _own(tenant_id, MODEL) if tenant_id else None
    if own is _UNUSABLE:
        return None
    if own:
        return ModelEndpoint(own["base_url"], own.get("api_key", ""), own.get("model", ""), own=True)
    base_url, key = os.environ.get("OPENAI_BASE_URL", ""), os.environ.get("OPENAI_API_KEY", "")
    if not base_url and not key:
        return None
    return ModelEndpoint(base_url, key, os.environ.get("GRACE_LLM_MODEL", ""))
