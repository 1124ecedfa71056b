"""What each business uses per month, metered in the store, against its plan (grace.tenancy.plans).

Each event is one atomic statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on SQLite and PostgreSQL
alike), so replicas and threads metering at once never lose a count. The statement hands back the month's new
count with whether the owner was already told, so the common case (far from any limit, or already told) is
that one statement and nothing else.

The owner is told once per metric per month, at 80% of the plan's limit and again at 100%: `warned_at` and
`exceeded_at` are set by an UPDATE that only one process can win, and the winner writes the ops notification
(WhatsApp to the business's ops numbers) in the same transaction; the dashboard shows owners a banner.

Past a limit customers are never left without a reply: turns keep running whatever the count. The model
fallback stops first (model_stopped: the funnel and the canned library answer), and broadcasts wait
(grace.shop.broadcasts); both resume on the 1st of next month or on a bigger plan.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store import session_scope
from grace.store.models import Notification, UsageCount, User, utcnow
from grace.tenancy.plans import (
    BROADCAST_MESSAGES,
    CONVERSATIONS,
    DESCRIBED,
    MESSAGES,
    MODEL_CALLS,
    MODEL_TOKENS,
    MONTHLY,
    SEATS,
    Plan,
    PlansFileError,
    load_plans,
    plan_of,
)
from grace.tenancy.registry import get_registry

log = logging.getLogger("grace.tenancy.usage")

# The ops notification's kind (grace.messaging.notifications.KINDS lists it; this room sits below messaging,
# so the row is written here the way notify_ops writes one).
PLAN_USAGE = "plan_usage"
WARN_PERCENT = 80
# A conversation's mark for the month: a row per customer who wrote, so "conversations" counts each once
# across processes. A digest of the month and the conversation, never the number itself.
SEEN_PREFIX = "seen:"
# Used up: what stops. Messages and conversations stop nothing customers see.
STOPS = {
    MODEL_CALLS: "Grace answers from your canned replies instead of the model",
    MODEL_TOKENS: "Grace answers from your canned replies instead of the model",
    MESSAGES: "customers still get every reply, but Grace answers from your canned replies instead of the model",
    CONVERSATIONS: "customers still get every reply, but Grace answers from your canned replies instead of the model",
    BROADCAST_MESSAGES: "broadcasts wait",
}
# Over these, the model is not asked (messages and conversations: only once past the limit, since the message
# that reaches it is still within the plan; calls and tokens: once they reach it, the next call would be over).
MODEL_GATES = ((MODEL_CALLS, 0), (MODEL_TOKENS, 0), (MESSAGES, 1), (CONVERSATIONS, 1))

_UPSERT = text(
    "INSERT INTO usage_counts (tenant_id, month, metric, count) VALUES (:tenant_id, :month, :metric, :n) "
    "ON CONFLICT (tenant_id, month, metric) DO UPDATE SET count = usage_counts.count + excluded.count "
    "RETURNING count, warned_at, exceeded_at")
_MARK = text(
    "INSERT INTO usage_counts (tenant_id, month, metric, count) VALUES (:tenant_id, :month, :metric, 1) "
    "ON CONFLICT (tenant_id, month, metric) DO NOTHING")


def month_of(moment: datetime | None = None) -> str:
    """"2026-11": the calendar month (UTC) a moment counts in."""
    return (moment or utcnow()).strftime("%Y-%m")


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def month_name(month: str) -> str:
    """"November 2026"."""
    return datetime.strptime(month + "-01", "%Y-%m-%d").strftime("%B %Y")


def first_of(month: str) -> str:
    """"1 December 2026"."""
    return datetime.strptime(month + "-01", "%Y-%m-%d").strftime("1 %B %Y")


# Metering -----------------------------------------------------------------------------------------------


def add(session: Session, tenant_id: str, metric: str, n: int = 1, now: datetime | None = None) -> int:
    """Count `n` of `metric` for the business this month, in the caller's transaction; the month's new count.
    The owner is told when this crosses 80% or 100% of the plan."""
    month = month_of(now)
    count, warned, exceeded = session.execute(_UPSERT, {
        "tenant_id": tenant_id, "month": month, "metric": metric, "n": n}).one()
    if warned is None or exceeded is None:
        try:
            _tell_if_due(session, tenant_id, month, metric, int(count), now)
        except PlansFileError as exc:  # the count stands (a broadcast's results with it); the notice waits
            log.error("plan notices for %s wait for the plans file: %s", tenant_id, exc)
    return int(count)


_seen: set[tuple[str, str, str, str]] = set()
_seen_lock = threading.Lock()
_SEEN_MAX = 200_000  # marks remembered in this process; forgetting costs one INSERT ... DO NOTHING again


def conversation_mark(month: str, conversation_id: str) -> str:
    """The `metric` of the row saying this conversation was counted in `month`."""
    return SEEN_PREFIX + hashlib.sha256(f"{month}:{conversation_id}".encode()).hexdigest()[:24]


def forget_conversation(session: Session, tenant_id: str, conversation_id: str) -> int:
    """Remove the conversation's month marks (an erased customer's: a digest of their number could be found
    again by trying numbers); the month's counts stay. How many marks were removed."""
    months = session.scalars(select(UsageCount.month).where(
        UsageCount.tenant_id == tenant_id, UsageCount.metric.startswith(SEEN_PREFIX)).distinct())
    removed = 0
    for month in list(months):
        removed += session.execute(delete(UsageCount).where(
            UsageCount.tenant_id == tenant_id, UsageCount.month == month,
            UsageCount.metric == conversation_mark(month, conversation_id))).rowcount
    return removed


def meter_message(tenant_id: str, conversation_id: str) -> None:
    """Count one customer message (and the month's conversation, on its first message of the month).
    On every turn's path: one statement when the conversation was already seen this month by this process.
    A failure is logged and the turn goes on: metering never costs a customer their reply."""
    try:
        month = month_of()
        with session_scope() as session:
            add(session, tenant_id, MESSAGES)
            key = (str(session.get_bind().url), tenant_id, month, conversation_id)
            with _seen_lock:
                seen = key in _seen
            if not seen:
                first = session.execute(_MARK, {"tenant_id": tenant_id, "month": month,
                                                "metric": conversation_mark(month, conversation_id)}).rowcount
                if first == 1:
                    add(session, tenant_id, CONVERSATIONS)
        if not seen:
            with _seen_lock:
                if len(_seen) >= _SEEN_MAX:
                    _seen.clear()
                _seen.add(key)
    except (SQLAlchemyError, GraceError):
        log.exception("usage of %s not metered for this message", tenant_id)


def _tell_if_due(session: Session, tenant_id: str, month: str, metric: str, count: int,
                 now: datetime | None, plan: Plan | None = None) -> None:
    """Record and announce 80% / 100% of the plan's limit, once each; the plan (when not given) is only asked
    for when some plan's limit is near."""
    plans = load_plans()
    lowest = plans.lowest(metric)
    if lowest is None or count * 100 < lowest * WARN_PERCENT:
        return
    plan = plan or _plan_for_metering(session, tenant_id)
    limit = plan.limit(metric)
    if limit is None:
        return
    moment = now or utcnow()
    row = (UsageCount.tenant_id == tenant_id, UsageCount.month == month, UsageCount.metric == metric)
    if count >= limit:
        won = session.execute(update(UsageCount).where(*row, UsageCount.exceeded_at.is_(None)).values(
            exceeded_at=moment, warned_at=func.coalesce(UsageCount.warned_at, moment))).rowcount
        if won:
            _notify(session, tenant_id, reached_notice(plan, month, metric, count, limit))
    elif count * 100 >= limit * WARN_PERCENT:
        won = session.execute(update(UsageCount).where(*row, UsageCount.warned_at.is_(None)).values(
            warned_at=moment)).rowcount
        if won:
            _notify(session, tenant_id, warning_notice(plan, month, metric, count, limit))


_plans_seen: dict[tuple[str, str], tuple[float, Plan]] = {}
PLAN_SEEN_S = 30.0  # a plan the operator changes reaches the notices within this; its limits apply at once


def _plan_for_metering(session: Session, tenant_id: str) -> Plan:
    """The business's plan, remembered a little while: a business past 80% of the smallest plan's limit (a
    big one on a bigger plan) would otherwise pay a second statement on every message."""
    key = (str(session.get_bind().url), tenant_id)
    seen = _plans_seen.get(key)
    if seen is not None and time.monotonic() - seen[0] < PLAN_SEEN_S:
        return seen[1]
    plan = plan_of(session, tenant_id)
    _plans_seen[key] = (time.monotonic(), plan)
    return plan


def warning_notice(plan: Plan, month: str, metric: str, count: int, limit: int) -> str:
    return (f"Grace: {count * 100 // max(limit, 1)}% of your {plan.name} plan's {limit:,} {DESCRIBED[metric]} for "
            f"{month_name(month)} are used ({count:,}). At the limit {STOPS[metric]} until "
            f"{first_of(next_month(month))} or a bigger plan.")


def reached_notice(plan: Plan, month: str, metric: str, count: int, limit: int) -> str:
    return (f"Grace: your {plan.name} plan's {limit:,} {DESCRIBED[metric]} for {month_name(month)} are used up "
            f"({count:,}). {STOPS[metric][0].upper()}{STOPS[metric][1:]} until {first_of(next_month(month))} or a "
            f"bigger plan.")


def _notify(session: Session, tenant_id: str, summary: str) -> None:
    try:
        ops = list(get_registry().get(tenant_id).ops)
    except GraceError as exc:  # the banner still tells the owner; the message needs the business's files
        log.error("plan notice for %s not sent on WhatsApp: %s", tenant_id, exc)
        return
    session.add(Notification(tenant_id=tenant_id, kind=PLAN_USAGE, audience="ops", recipients=ops,
                             payload={"summary": summary}))
    log.info("plan notice [%s]: %s", tenant_id, summary)


# Reading ------------------------------------------------------------------------------------------------


def month_usage(session, tenant_id: str, month: str | None = None) -> dict[str, int]:
    """The business's counts by metric for `month` ("2026-11"; None: this month, UTC)."""
    found = dict(session.execute(select(UsageCount.metric, UsageCount.count).where(
        UsageCount.tenant_id == tenant_id, UsageCount.month == (month or month_of()),
        UsageCount.metric.in_(MONTHLY))).all())
    return {metric: int(found.get(metric, 0)) for metric in MONTHLY}


def left(session: Session, tenant_id: str, metric: str, month: str | None = None) -> int | None:
    """How much of `metric` the plan still allows this month (0 when used up or over); None: unlimited."""
    limit = plan_of(session, tenant_id).limit(metric)
    if limit is None:
        return None
    return max(limit - month_usage(session, tenant_id, month)[metric], 0)


def model_stopped(session: Session, tenant_id: str) -> str | None:
    """Why the model may not be asked for this business now (its plan is used up), or None."""
    plan = plan_of(session, tenant_id)
    gates = [(metric, slack) for metric, slack in MODEL_GATES if plan.limit(metric) is not None]
    if not gates:
        return None
    used = month_usage(session, tenant_id)
    for metric, slack in gates:
        limit = plan.limit(metric)
        assert limit is not None
        if used[metric] >= limit + slack:
            # Told here too, with the plan as it is now: the metering's notice may have judged the last count
            # by a plan remembered from before the operator changed it, and no model call comes to count again.
            _tell_if_due(session, tenant_id, month_of(), metric, used[metric], None, plan)
            return f"the {plan.name} plan's {limit:,} {DESCRIBED[metric]} for {month_name(month_of())} are used up"
    return None


@dataclass(frozen=True)
class Line:
    metric: str
    described: str
    used: int
    limit: int | None

    @property
    def percent(self) -> int | None:
        if self.limit is None:
            return None
        return 100 if self.limit == 0 else min(self.used * 100 // self.limit, 999)


@dataclass(frozen=True)
class Usage:
    """The business's month against its plan: the usage page, GET /api/v1/usage."""

    plan: Plan
    month: str
    lines: list[Line]
    notices: list[str]  # what the owner has been told this month (80%, used up), newest metric state

    def json(self) -> dict:
        return {"plan": self.plan.key, "plan_name": self.plan.name, "month": self.month,
                "metrics": {line.metric: {"used": line.used, "limit": line.limit} for line in self.lines}}


def usage_of(session: Session, tenant_id: str, month: str | None = None) -> Usage:
    month = month or month_of()
    plan = plan_of(session, tenant_id)
    rows = {r.metric: r for r in session.scalars(select(UsageCount).where(
        UsageCount.tenant_id == tenant_id, UsageCount.month == month, UsageCount.metric.in_(MONTHLY)))}
    lines = [Line(metric, DESCRIBED[metric], int(rows[metric].count) if metric in rows else 0, plan.limit(metric))
             for metric in MONTHLY]
    seats = session.scalar(select(func.count()).select_from(User).where(User.tenant_id == tenant_id)) or 0
    lines.append(Line(SEATS, DESCRIBED[SEATS], int(seats), plan.limit(SEATS)))
    return Usage(plan, month, lines, _notices(plan, month, rows))


def _notices(plan: Plan, month: str, rows: dict[str, UsageCount]) -> list[str]:
    said = []
    for metric in MONTHLY:
        row, limit = rows.get(metric), plan.limit(metric)
        if row is None or limit is None:
            continue
        if row.exceeded_at is not None and row.count >= limit:
            said.append(reached_notice(plan, month, metric, row.count, limit).removeprefix("Grace: "))
        elif row.warned_at is not None and row.count * 100 >= limit * WARN_PERCENT:
            said.append(warning_notice(plan, month, metric, row.count, limit).removeprefix("Grace: "))
    return said


def owner_notices(session: Session, tenant_id: str) -> list[str]:
    """This month's plan notices for the dashboard's banner (none when nothing is near a limit). One query
    when nothing was said."""
    month = month_of()
    rows = {r.metric: r for r in session.scalars(select(UsageCount).where(
        UsageCount.tenant_id == tenant_id, UsageCount.month == month, UsageCount.metric.in_(MONTHLY),
        UsageCount.warned_at.is_not(None)))}
    if not rows:
        return []
    return _notices(plan_of(session, tenant_id), month, rows)
