"""A business's standing with the platform: its plan, and whether the platform operator suspended it.

A suspended business keeps everything (orders, customers, conversations, its owners' dashboard); its
customers get a polite word instead of a turn and it writes to no one. Every change is recorded in the
business's audit log as "platform <who>", in the session of the change.

`suspended()` is asked on every customer message, so its answer is kept in this process for a few seconds
(GRACE_STANDING_CACHE_S, default 5): a suspension reaches every process within that time, and the process
that made it at once (its commit forgets the cached answer).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grace.config import load_settings
from grace.errors import GraceError
from grace.store import session_scope
from grace.store.audit import record
from grace.store.models import TenantAccount, utcnow
from grace.tenancy.plans import PlansFileError, load_plans
from grace.tenancy.registry import Tenant, get_registry
from grace.tenancy.settings import assign_number, create_tenant
from grace.tenancy.usage import month_usage

log = logging.getLogger("grace.tenancy.standing")
MAX_REASON = 200  # tenant_accounts.suspended_reason
DEFAULT_CACHE_S = 5.0


class StandingError(GraceError):
    """A change of standing that cannot be made; the message says why (nothing was changed)."""


# (database, business) -> (when read, suspended); a generation per key so that an answer read before a
# commit that changed it is never kept after that commit forgot the old one.
_answers: dict[tuple[str, str], tuple[float, bool]] = {}
_generations: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


def _cache_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("GRACE_STANDING_CACHE_S", DEFAULT_CACHE_S)))
    except ValueError:
        return DEFAULT_CACHE_S


def suspended(tenant_id: str) -> bool:
    """Whether the business is suspended (its customers get a polite message and no turn runs). Blocking."""
    key = (load_settings().database_url, tenant_id)
    now = time.monotonic()
    with _lock:
        cached = _answers.get(key)
        if cached is not None and now - cached[0] < _cache_seconds():
            return cached[1]
        generation = _generations.get(key, 0)
    try:
        with session_scope() as session:
            answer = session.execute(select(TenantAccount.suspended_at).where(TenantAccount.tenant_id == tenant_id)
                                     ).scalar_one_or_none() is not None
    except SQLAlchemyError:
        # The store did not answer: the last answer known stands (none: not suspended), so a customer is not
        # refused a reply for the platform's outage; the store is asked again on the next message.
        log.exception("could not read whether %s is suspended", tenant_id)
        return cached[1] if cached is not None else False
    with _lock:
        if _generations.get(key, 0) == generation:
            _answers[key] = (now, answer)
    return answer


def _forget_on_commit(session: Session, tenant_id: str) -> None:
    """Once `session` commits, this process asks the store again (its cached answer is stale)."""
    key = (load_settings().database_url, tenant_id)

    def forget(_session: Session) -> None:
        with _lock:
            _answers.pop(key, None)
            _generations[key] = _generations.get(key, 0) + 1

    event.listen(session, "after_commit", forget, once=True)


def account_of(session: Session, tenant_id: str) -> TenantAccount | None:
    """The business's TenantAccount row (plan, suspension), or None when the platform set nothing."""
    return session.get(TenantAccount, tenant_id)


def _account(session: Session, tenant_id: str) -> TenantAccount:
    if not get_registry().exists(tenant_id):
        raise StandingError(f"no business called {tenant_id!r}")
    account = account_of(session, tenant_id)
    if account is None:
        account = TenantAccount(tenant_id=tenant_id)
        session.add(account)
    return account


def platform_actor(by: str) -> str:
    """How the audit log names the platform operator who acted."""
    return f"platform {by}"


def suspend(session: Session, tenant_id: str, reason: str, by: str, ip: str | None = None) -> TenantAccount:
    """Suspend the business: its customers get a polite message, it sends nothing, its data is kept."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise StandingError("say why the business is suspended (its owners see the reason)")
    if len(reason) > MAX_REASON:
        raise StandingError(f"the reason is over {MAX_REASON} characters")
    account = _account(session, tenant_id)
    if account.suspended_at is not None:
        raise StandingError(f"{tenant_id} is already suspended (since {account.suspended_at:%Y-%m-%d %H:%M} UTC: "
                            f"{account.suspended_reason})")
    account.suspended_at, account.suspended_reason, account.suspended_by = utcnow(), reason, by
    record(session, tenant_id, platform_actor(by), "business_suspended", tenant_id, {"reason": reason}, ip)
    _forget_on_commit(session, tenant_id)
    return account


def resume(session: Session, tenant_id: str, by: str, ip: str | None = None) -> TenantAccount:
    """Lift the suspension: the next customer message gets a normal turn."""
    account = _account(session, tenant_id)
    if account.suspended_at is None:
        raise StandingError(f"{tenant_id} is not suspended")
    detail = {"was_suspended_at": account.suspended_at.isoformat(timespec="seconds"),
              "reason": account.suspended_reason}
    account.suspended_at = account.suspended_reason = account.suspended_by = None
    record(session, tenant_id, platform_actor(by), "business_resumed", tenant_id, detail, ip)
    _forget_on_commit(session, tenant_id)
    return account


def plan_names() -> tuple[str, ...]:
    """The plans a business may be put on, as plans.yml names them (grace.tenancy.plans)."""
    try:
        return tuple(load_plans().plans)
    except PlansFileError as exc:
        raise StandingError(f"the plans cannot be read: {exc}") from None


def set_plan(session: Session, tenant_id: str, plan: str | None, by: str, ip: str | None = None) -> TenantAccount:
    """Put the business on `plan` (None or "default": the configured default plan)."""
    wanted = (plan or "").strip() or None
    if wanted == "default":
        wanted = None
    known = plan_names()
    if wanted is not None and wanted not in known:
        raise StandingError(f"no plan called {wanted!r}; the plans are {', '.join(known) or '(none)'}, or default")
    account = _account(session, tenant_id)
    if account.plan == wanted:
        return account
    before, account.plan = account.plan, wanted
    record(session, tenant_id, platform_actor(by), "plan_changed", tenant_id,
           {"from": before or "default", "to": wanted or "default"}, ip)
    return account


def create_business(session: Session, tenant_id: str, name: str, facts: dict, by: str,
                    ip: str | None = None) -> Tenant:
    """A new business from what the platform operator gave (blank facts left out), as `grace tenants create`
    makes it: SettingsError names each field that is wrong, and then nothing is created."""
    tenant = create_tenant(tenant_id, name or tenant_id, **given(facts))
    record(session, tenant.id, platform_actor(by), "business_created", tenant.id, {"name": tenant.name}, ip)
    return tenant


def business_facts(*, currency: str | None = None, timezone: str | None = None, ops: list[str] | None = None,
                   whatsapp: list[str] | None = None, deposit_percent: object = None, bank_name: str | None = None,
                   account_name: str | None = None, account_number: str | None = None, returns: str | None = None,
                   delivery: str | None = None) -> dict:
    """What a new business needs, shaped as tenant.yml has it (the command line and the admin area alike)."""
    return {"currency": currency, "timezone": timezone, "ops": ops or [], "whatsapp_numbers": whatsapp or [],
            "deposit_percent": deposit_percent,
            "payment": {"bank_name": bank_name, "account_name": account_name, "account_number": account_number},
            "policies": {"returns": returns, "delivery": delivery}}


def given(facts: dict) -> dict:
    """The facts given (None, blank text and empty lists left out, nested too)."""
    kept = {}
    for key, value in facts.items():
        value = given(value) if isinstance(value, dict) else value
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, "", [], {}):
            kept[key] = value
    return kept


def assign(session: Session, tenant_id: str, whatsapp: str | None = None, meta_id: str | None = None, *,
           release: bool = False, by: str, ip: str | None = None) -> Tenant:
    """Give the business a WhatsApp number or Meta phone-number id, or take it back (as `grace numbers`):
    SettingsError naming the holder when another business has it, and then nothing changes."""
    whatsapp = (whatsapp or "").removeprefix("whatsapp:").strip() or None
    meta_id = (meta_id or "").strip() or None
    if not (whatsapp or meta_id):
        raise StandingError("give a WhatsApp number or a Meta phone-number id")
    if not get_registry().exists(tenant_id):
        raise StandingError(f"no business called {tenant_id!r}")
    before = _routing(get_registry().get(tenant_id))
    if release:
        held = [x for x in (whatsapp, meta_id and f"meta {meta_id}") if x and x not in before]
        if held:
            raise StandingError(f"{' and '.join(held)} is not {tenant_id}'s to release")
    tenant = assign_number(tenant_id, whatsapp, meta_id, release=release, by=platform_actor(by))
    if _routing(tenant) != before:
        what = {k: v for k, v in (("whatsapp", whatsapp), ("meta_phone_number_id", meta_id)) if v}
        record(session, tenant.id, platform_actor(by), "number_released" if release else "number_assigned",
               ", ".join(what.values()), what, ip)
    return tenant


def _routing(tenant: Tenant) -> set[str]:
    meta_id = str(tenant.extra.get("meta_phone_number_id") or "")
    return set(tenant.whatsapp_numbers) | ({f"meta {meta_id}"} if meta_id else set())


@dataclass
class Business:
    """One business as the platform operator sees it."""

    id: str
    name: str
    plan: str | None = None
    suspended_at: datetime | None = None
    suspended_reason: str | None = None
    suspended_by: str | None = None
    whatsapp_numbers: list[str] = field(default_factory=list)
    meta_phone_number_id: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int | None] = field(default_factory=dict)  # its plan's, by metric; None: unlimited
    problem: str = ""  # its files do not load

    @property
    def numbers(self) -> list[str]:
        return self.whatsapp_numbers + ([f"meta {self.meta_phone_number_id}"] if self.meta_phone_number_id else [])


def businesses(session: Session, month: str | None = None, only: str | None = None) -> list[Business]:
    """Every business (or `only` that one) with its plan, standing, numbers and usage this month (UTC), by id."""
    registry = get_registry()
    try:
        plans = load_plans()
    except PlansFileError:  # the list still serves; the usage is shown without the limits
        plans = None
    ids = sorted(i for i in registry.ids() if only is None or i == only)
    accounts = {a.tenant_id: a for a in session.scalars(select(TenantAccount).where(TenantAccount.tenant_id.in_(ids)))}
    listed = []
    for tenant_id in ids:
        try:
            tenant = registry.get(tenant_id)
            business = Business(tenant_id, tenant.name, whatsapp_numbers=list(tenant.whatsapp_numbers),
                                meta_phone_number_id=str(tenant.extra.get("meta_phone_number_id") or ""))
        except GraceError as exc:  # its files do not load (TenantFileError): listed, with the problem
            business = Business(tenant_id, tenant_id, problem=str(exc))
        account = accounts.get(tenant_id)
        if account is not None:
            business.plan, business.suspended_at = account.plan, account.suspended_at
            business.suspended_reason, business.suspended_by = account.suspended_reason, account.suspended_by
        business.usage = dict(month_usage(session, tenant_id, month))
        if plans is not None:
            business.limits = dict(plans.get(business.plan, tenant_id).limits)
        listed.append(business)
    return listed
