"""Plans (plans.yml): what each plan allows per month; a business's plan is set by the platform operator.

The file names the plans, each with its monthly limits (MONTHLY) and its seats (dashboard users), and the
`default` plan of a business the operator set nothing for. A limit left out or null is unlimited. The file is
read again when it changes; a bad file is refused with the file and the field named (PlansFileError).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from grace.config import PROJECT_ROOT
from grace.errors import GraceError
from grace.store.models import TenantAccount

log = logging.getLogger("grace.tenancy.plans")

CONVERSATIONS, MESSAGES = "conversations", "messages"
MODEL_CALLS, MODEL_TOKENS = "model_calls", "model_tokens"
BROADCAST_MESSAGES = "broadcast_messages"
MONTHLY = (CONVERSATIONS, MESSAGES, MODEL_CALLS, MODEL_TOKENS, BROADCAST_MESSAGES)
SEATS = "seats"
LIMITS = (*MONTHLY, SEATS)
# How the owner reads each one (the usage page, the notices).
DESCRIBED = {CONVERSATIONS: "conversations", MESSAGES: "customer messages", MODEL_CALLS: "model answers",
             MODEL_TOKENS: "model tokens", BROADCAST_MESSAGES: "broadcast messages", SEATS: "team seats"}


class PlansFileError(GraceError):
    """The plans file is malformed: names the file and the field."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path, self.field, self.problem = path, field, problem


@dataclass(frozen=True)
class Plan:
    key: str  # as tenant_accounts.plan names it: basic
    name: str  # as the owner reads it: Basic
    limits: Mapping[str, int | None]  # every one of LIMITS; None is unlimited

    def limit(self, metric: str) -> int | None:
        return self.limits.get(metric)


@dataclass(frozen=True)
class Plans:
    default: str
    plans: Mapping[str, Plan]
    path: str

    def get(self, key: str | None, tenant_id: str = "") -> Plan:
        """The plan called `key`; the default one for None, and for a name the file does not know (logged:
        a business's turns never fail over its plan's name)."""
        if key and key in self.plans:
            return self.plans[key]
        if key:
            log.warning("%s is on plan %r, which %s does not define: the default plan %r applies",
                        tenant_id or "a business", key, self.path, self.default)
        return self.plans[self.default]

    def lowest(self, metric: str) -> int | None:
        """The smallest limit any plan sets on `metric` (None when every plan leaves it unlimited): below 80%
        of it no business can be near its limit, so metering need not ask which plan a business is on."""
        found = [p.limit(metric) for p in self.plans.values() if p.limit(metric) is not None]
        return min(found) if found else None  # type: ignore[type-var]  # Nones filtered out above


def plans_file() -> Path:
    return Path(os.environ.get("GRACE_PLANS_FILE") or PROJECT_ROOT / "plans.yml")


def parse_plans(path: Path) -> Plans:
    """Read and check a plans file; PlansFileError names the file and field at fault."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlansFileError(where, "(file)", "not found") from None
    except yaml.YAMLError as exc:
        raise PlansFileError(where, "(syntax)", str(exc).replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise PlansFileError(where, "(file)", "expected a mapping with `default` and `plans`")
    given = data.get("plans")
    if not isinstance(given, dict) or not given:
        raise PlansFileError(where, "plans", "expected a mapping of plans, e.g. basic: {messages: 20000}")
    plans = {str(key): _plan(where, str(key), body) for key, body in given.items()}
    default = data.get("default")
    if not isinstance(default, str) or default not in plans:
        raise PlansFileError(where, "default", f"{default!r} is not one of the plans ({', '.join(plans)})")
    unknown = set(data) - {"default", "plans"}
    if unknown:
        raise PlansFileError(where, sorted(unknown)[0], "unknown setting; the file has `default` and `plans`")
    return Plans(default, plans, where)


def _plan(where: str, key: str, body: object) -> Plan:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise PlansFileError(where, f"plans.{key}", "expected a mapping of limits")
    name = body.get("name", key.title())
    if not isinstance(name, str) or not name.strip():
        raise PlansFileError(where, f"plans.{key}.name", "a name the owner reads, e.g. Basic")
    limits: dict[str, int | None] = {}
    for field, value in body.items():
        if field == "name":
            continue
        if field not in LIMITS:
            raise PlansFileError(where, f"plans.{key}.{field}", f"unknown limit; use {', '.join(LIMITS)}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise PlansFileError(where, f"plans.{key}.{field}",
                                 f"{value!r} is not a whole number from 0 (or null for unlimited)")
        limits[field] = value
    return Plan(key, name.strip(), {field: limits.get(field) for field in LIMITS})


_cache: dict[str, tuple[tuple[int, int], Plans]] = {}
_lock = threading.Lock()


def load_plans() -> Plans:
    """The configured plans, read again when the file changes."""
    path = plans_file()
    try:
        stat = path.stat()
        changed = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        raise PlansFileError(str(path), "(file)", "not found") from None
    with _lock:
        cached = _cache.get(str(path))
        if cached and cached[0] == changed:
            return cached[1]
    plans = parse_plans(path)
    with _lock:
        _cache[str(path)] = (changed, plans)
    return plans


def plan_of(session: Session, tenant_id: str) -> Plan:
    """The business's plan: the operator's choice (tenant_accounts.plan), else the default."""
    account = session.get(TenantAccount, tenant_id)
    return load_plans().get(account.plan if account is not None else None, tenant_id)
