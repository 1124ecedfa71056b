"""Notifications to the operations team and to customers, through an outbox.

Rows are written in the same transaction as the change they announce, so a
notification is never lost or sent for a change that rolled back. Delivery over
WhatsApp reads the pending rows (the channels' job); for now each is also logged.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import Notification
from grace.tenants import Tenant

log = logging.getLogger("grace.notifier")
OPS_REPLY = "ops_reply"
# Twilio refuses WhatsApp bodies over 1,600 characters (Meta allows 4,096): the smaller limit fits both.
MAX_REPLY_CHARS = 1600


class ReplyRejected(GraceError):
    """A reply from the team that cannot be sent; the message says why."""


def notify_ops(session: Session, tenant: Tenant, kind: str, summary: str, **payload) -> Notification:
    row = Notification(tenant_id=tenant.id, kind=kind, audience="ops", recipients=list(tenant.ops),
                       payload={"summary": summary, **payload})
    session.add(row)
    log.info("ops notification [%s] %s: %s", tenant.id, kind, summary)
    return row


def notify_customer(session: Session, tenant_id: str, conversation_id: str, kind: str,
                    **payload) -> Notification:
    row = Notification(tenant_id=tenant_id, kind=kind, audience="customer",
                       recipients=[conversation_id], payload=payload)
    session.add(row)
    return row


def reply_from_ops(session: Session, tenant_id: str, conversation_id: str, text: str, by: str,
                   **payload) -> Notification:
    """A person of the team writes to a customer (a handoff answered): sent by the outbox worker like
    every message Grace writes first, and the row itself is the record of what was said and whether it
    reached the customer. ReplyRejected for an empty or too long text."""
    text = (text or "").strip()
    if not text:
        raise ReplyRejected("write the reply first")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyRejected(f"the reply has {len(text)} characters; WhatsApp takes at most {MAX_REPLY_CHARS}")
    return notify_customer(session, tenant_id, conversation_id, OPS_REPLY, text=text, by=by, **payload)
