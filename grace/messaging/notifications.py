"""Messages Grace writes first, to the operations team or to a customer, through an outbox.

Rows are written in the same transaction as the change they announce, so a notification is never
lost or sent for a change that rolled back. KINDS is the one list of what can be sent: who receives
each kind and by which path. Adding a kind is one entry here (plus its wording).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import Notification
from grace.tenancy.registry import Tenant

log = logging.getLogger("grace.messaging.notifications")

# The two paths out. WHATSAPP: the outbox worker (grace.run.outbox) sends the row under WhatsApp's
# 24-hour rule. CONVERSATION: the row runs as an intent in the customer's Rasa conversation
# (grace.messaging.rasa_delivery), so the tracker knows what was said and the dialogue can go on.
WHATSAPP, CONVERSATION = "whatsapp", "conversation"


@dataclass(frozen=True)
class Kind:
    audience: str  # "ops" or "customer"
    path: str  # WHATSAPP or CONVERSATION
    intent: str | None = None  # CONVERSATION kinds: the external intent that runs


PAYMENT_PROOF, HANDOFF, CANCEL_REQUEST = "payment_proof", "handoff", "cancel_request"
PAYMENT_VERIFIED, PAYMENT_REJECTED, ORDER_DELIVERED = "payment_verified", "payment_rejected", "order_delivered"
ORDER_STATUS, PAYMENT_REMINDER = "order_status", "payment_reminder"
ORDER_EXPIRED = "order_expired"  # an unpaid order's hold lapsed: its fabric is back on sale (grace.shop.reminders)
UNDELIVERED = "undelivered_reply"  # a turn's replies the provider refused, tried again later
OPS_REPLY = "ops_reply"  # the team's own words to a customer (a handoff answered)
# Ops asked for the balance of a paid order, and its one reminder (grace.shop.balance, grace.shop.reminders).
BALANCE_REQUEST, BALANCE_REMINDER = "balance_request", "balance_reminder"
# A customer's message relayed to the ops number that holds their conversation (grace.whatsapp.ops_relay).
OPS_RELAY = "ops_relay"
# Follow-ups that bring a customer back (grace.shop.follow_ups), each a switch of the tenant's: a sold-out fabric
# they asked to hear about is back, an order summary left unconfirmed, a reorder some days after delivery.
RESTOCK, SUMMARY_NUDGE, REORDER = "restock", "summary_nudge", "reorder"
# A customer asked on WhatsApp for their data to be erased: the owner confirms it (grace.privacy.requests).
PRIVACY_REQUEST = "privacy_request"
# The owner told a plan limit is near (80%) or reached (grace.tenancy.usage writes the row: tenancy is below here).
PLAN_USAGE = "plan_usage"

KINDS: dict[str, Kind] = {
    PAYMENT_PROOF: Kind("ops", WHATSAPP),
    HANDOFF: Kind("ops", WHATSAPP),
    CANCEL_REQUEST: Kind("ops", WHATSAPP),
    PAYMENT_VERIFIED: Kind("customer", CONVERSATION, "EXTERNAL_payment_verified"),
    PAYMENT_REJECTED: Kind("customer", CONVERSATION, "EXTERNAL_payment_rejected"),
    ORDER_DELIVERED: Kind("customer", CONVERSATION, "EXTERNAL_order_delivered"),
    ORDER_STATUS: Kind("customer", WHATSAPP),
    PAYMENT_REMINDER: Kind("customer", WHATSAPP),
    ORDER_EXPIRED: Kind("customer", WHATSAPP),
    UNDELIVERED: Kind("customer", WHATSAPP),
    OPS_REPLY: Kind("customer", WHATSAPP),
    BALANCE_REQUEST: Kind("customer", WHATSAPP),
    BALANCE_REMINDER: Kind("customer", WHATSAPP),
    OPS_RELAY: Kind("ops", WHATSAPP),
    RESTOCK: Kind("customer", WHATSAPP),
    SUMMARY_NUDGE: Kind("customer", WHATSAPP),
    REORDER: Kind("customer", WHATSAPP),
    PRIVACY_REQUEST: Kind("ops", WHATSAPP),
    PLAN_USAGE: Kind("ops", WHATSAPP),
}


def kinds_by(path: str) -> tuple[str, ...]:
    return tuple(name for name, kind in KINDS.items() if kind.path == path)


def _kind(name: str, audience: str) -> str:
    kind = KINDS.get(name)
    if kind is None or kind.audience != audience:
        raise ValueError(f"{name!r} is not a {audience} notification kind (grace.messaging.notifications.KINDS)")
    return name
# Twilio refuses WhatsApp bodies over 1,600 characters (Meta allows 4,096): the smaller limit fits both.
MAX_REPLY_CHARS = 1600


class ReplyRejected(GraceError):
    """A reply from the team that cannot be sent; the message says why."""


def notify_ops(session: Session, tenant: Tenant, kind: str, summary: str, to: str | None = None,
               **payload) -> Notification:
    """Tell the tenant's ops numbers (only the one `to`, when it is one of them)."""
    recipients = [to] if to in tenant.ops else list(tenant.ops)
    row = Notification(tenant_id=tenant.id, kind=_kind(kind, "ops"), audience="ops", recipients=recipients,
                       payload={"summary": summary, **payload})
    session.add(row)
    log.info("ops notification [%s] %s: %s", tenant.id, kind, summary)
    return row


def notify_customer(session: Session, tenant_id: str, conversation_id: str, kind: str,
                    **payload) -> Notification:
    row = Notification(tenant_id=tenant_id, kind=_kind(kind, "customer"), audience="customer",
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
