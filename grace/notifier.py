"""Notifications to the operations team and to customers, through an outbox.

Rows are written in the same transaction as the change they announce, so a
notification is never lost or sent for a change that rolled back. Delivery over
WhatsApp reads the pending rows (the channels' job); for now each is also logged.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from grace.store.models import Notification
from grace.tenants import Tenant

log = logging.getLogger("grace.notifier")


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
