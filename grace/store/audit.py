"""The audit log: who did what (logins, payment decisions, settings, exports, takeovers...). Entries are
added in the session of the change they record, so both are kept or neither; nothing here updates or
deletes one (and the database refuses to: migration 0010). Every read is scoped by the business."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.store.models import AuditEntry, Contact, Customer

MAX_LIMIT = 500
# Column widths of audit_log: a long value is cut rather than failing the change it records.
ACTOR_CHARS, ACTION_CHARS, TARGET_CHARS, IP_CHARS = 254, 40, 120, 45


def record(session: Session, tenant_id: str, actor: str, action: str, target: Any = "",
           detail: dict | None = None, ip: str | None = None) -> AuditEntry:
    """Add one entry to `session`: written when the caller commits its change, dropped if it rolls back."""
    entry = AuditEntry(tenant_id=tenant_id, actor=(actor or "system")[:ACTOR_CHARS], action=action[:ACTION_CHARS],
                       target=str(target if target is not None else "")[:TARGET_CHARS], detail=dict(detail or {}),
                       ip=(ip or None) and ip[:IP_CHARS])
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Actor:
    """Who acts, as the log names them: a dashboard user's email, "api-key <prefix>", "whatsapp <number>",
    "cli <name>"; the address the request came from; a few facts (the person an API call names)."""

    name: str
    ip: str | None = None
    detail: dict = field(default_factory=dict)


def record_by(session: Session, tenant_id: str, actor: Actor, action: str, target: Any = "",
              detail: dict | None = None) -> AuditEntry:
    """`record` for a change made by `actor`, from whichever surface (the change's own function calls it)."""
    return record(session, tenant_id, actor.name, action, target, dict(detail or {}) | actor.detail, actor.ip)


def customer_label(session: Session, tenant_id: str, phone: str) -> str:
    """How an entry names a customer: "customer <id>" (their row; "contact <id>" for one who never ordered),
    never their number, so the append-only log keeps no personal data an erasure would have to remove; the id
    stays meaningful once the row is anonymised."""
    for kind, table in (("customer", Customer), ("contact", Contact)):
        found = session.execute(select(table.id).where(table.tenant_id == tenant_id,
                                                       table.phone == phone)).scalar_one_or_none()
        if found is not None:
            return f"{kind} {found}"
    return "customer (not yet in the store)"


def entries(session: Session, tenant_id: str, *, action: str | None = None, actor: str | None = None,
            since: datetime | None = None, limit: int = 200, before_id: int | None = None) -> list[AuditEntry]:
    """The business's entries, newest first; `before_id` pages on from the last one shown."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    limit = max(1, min(int(limit), MAX_LIMIT))
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def actions_of(session: Session, tenant_id: str) -> list[str]:
    """The actions this business's log holds, for the page's filter."""
    return sorted(session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_id).distinct()))
