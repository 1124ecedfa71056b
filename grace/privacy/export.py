"""Everything a business keeps about one customer, as a zip a person can read: JSON files and the files they
sent (proofs of payment), for the customer's right of access.

customer.json (profile, preferences, consent), orders.json, payments.json (amounts in minor units with the
currency, and as the pages show them), conversation.json (who said what when, as the inbox shows it),
notes.json (the team's notes and labels), messages.json (WhatsApp messages sent to them and their states),
broadcasts.json, restock_alerts.json, handoffs.json, feedback.json, and proofs/<file> for each proof picture.
Building it reads the media store: blocking, run off any event loop."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id
from grace.messaging.media import MediaNotFound, MediaUnavailable, read_media, stored_name
from grace.money import format_money
from grace.shop.balance import balance_due
from grace.store.models import (
    Broadcast,
    BroadcastRecipient,
    Contact,
    ConversationLabel,
    ConversationNote,
    Customer,
    Feedback,
    Handoff,
    Order,
    OutboundMessage,
    Payment,
    PaymentLink,
    RestockAlert,
)
from grace.tenancy.registry import Tenant

PROOFS = "proofs/"


def _at(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "Z"


def export_customer(session: Session, tenant: Tenant, phone: str, conversation: list[dict]) -> bytes:
    """The zip for the customer with this number (E.164); `conversation` is their conversation as the inbox
    reads it (who, text, at, and for the team's replies by and status)."""
    def money(minor: int | None) -> str | None:
        return None if minor is None else format_money(minor, tenant.currency)

    customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant.id,
                                                      Customer.phone == phone)).one_or_none()
    contact = session.scalars(select(Contact).where(Contact.tenant_id == tenant.id,
                                                    Contact.phone == phone)).one_or_none()
    conversation_key = conversation_id(tenant.id, phone)
    orders = list(session.scalars(select(Order).where(Order.tenant_id == tenant.id, Order.customer_id == customer.id)
                                  .order_by(Order.id))) if customer else []
    order_ids = [o.id for o in orders]
    payments = list(session.scalars(select(Payment).where(Payment.tenant_id == tenant.id,
                                                          Payment.order_id.in_(order_ids)).order_by(Payment.id)))
    links = list(session.scalars(select(PaymentLink).where(PaymentLink.tenant_id == tenant.id,
                                                           PaymentLink.order_id.in_(order_ids))))
    files: dict[str, bytes] = {}
    documents: dict[str, Any] = {
        "customer.json": {
            "business": tenant.name, "phone": phone,
            "profile": None if customer is None else {
                "id": customer.id, "name": customer.name, "preferences": customer.preferences or {},
                "first_seen_at": _at(customer.first_seen_at), "last_seen_at": _at(customer.last_seen_at)},
            "consent": None if contact is None else {
                "opted_in": contact.opted_in_at is not None and contact.opted_out_at is None,
                "opted_in_at": _at(contact.opted_in_at), "how": contact.opt_in_source,
                "opted_out_at": _at(contact.opted_out_at), "last_wrote_at": _at(contact.last_inbound_at),
                "name": contact.name, "city": contact.city, "in_contacts_since": _at(contact.created_at)},
        },
        "orders.json": [_order(o, money) for o in orders],
        "payments.json": [_payment(tenant, p, money, files) for p in payments]
        + [{"payment_link": link.provider, "reference": link.reference, "amount_minor": link.amount_minor,
            "currency": link.currency, "status": link.status, "created_at": _at(link.created_at),
            "paid_at": _at(link.paid_at)} for link in links],
        "conversation.json": [{**turn, "at": _at(turn.get("at"))} for turn in conversation],
        "notes.json": {
            "notes": [{"by": n.author, "text": n.text, "at": _at(n.created_at)} for n in session.scalars(
                select(ConversationNote).where(ConversationNote.tenant_id == tenant.id,
                                               ConversationNote.conversation_id == conversation_key)
                .order_by(ConversationNote.id))],
            "labels": sorted(session.scalars(select(ConversationLabel.label).where(
                ConversationLabel.tenant_id == tenant.id, ConversationLabel.conversation_id == conversation_key)))},
        "messages.json": [{"kind": m.kind, "channel": m.channel, "status": m.status, "error_code": m.error_code,
                           "sent_at": _at(m.created_at), "updated_at": _at(m.updated_at)}
                          for m in session.scalars(select(OutboundMessage).where(
                              OutboundMessage.tenant_id == tenant.id, OutboundMessage.to_phone == phone)
                              .order_by(OutboundMessage.id))],
        "broadcasts.json": [{"broadcast": name, "status": r.status, "sent_at": _at(r.sent_at),
                             "replied_at": _at(r.replied_at)}
                            for r, name in session.execute(select(BroadcastRecipient, Broadcast.name).join(
                                Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id).where(
                                BroadcastRecipient.tenant_id == tenant.id, Broadcast.tenant_id == tenant.id,
                                BroadcastRecipient.phone == phone).order_by(BroadcastRecipient.id))],
        "restock_alerts.json": [{"fabric": a.sku, "asked_at": _at(a.created_at), "told_at": _at(a.notified_at)}
                                for a in session.scalars(select(RestockAlert).where(
                                    RestockAlert.tenant_id == tenant.id, RestockAlert.phone == phone))],
        "handoffs.json": [{"message": h.message_text, "status": h.status, "at": _at(h.created_at)}
                          for h in session.scalars(select(Handoff).where(
                              Handoff.tenant_id == tenant.id, Handoff.conversation_id == conversation_key))],
        "feedback.json": [{"text": f.text, "rating": f.rating, "at": _at(f.created_at)}
                          for f in session.scalars(select(Feedback).where(
                              Feedback.tenant_id == tenant.id, Feedback.customer_id == customer.id))]
        if customer else [],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, document in documents.items():
            archive.writestr(name, json.dumps(document, ensure_ascii=False, indent=2, default=str))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _order(order: Order, money: Any) -> dict:
    return {
        "reference": order.reference, "status": order.status.replace("_", " "), "currency": order.currency,
        "lines": [{"fabric": line.name, "code": line.sku, "quantity": line.quantity, "unit": line.unit,
                   "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor}
                  for line in order.lines],
        "subtotal_minor": order.subtotal_minor, "discount_minor": order.discount_minor, "promo_code": order.promo_code,
        "total_minor": order.total_minor, "total": money(order.total_minor),
        "deposit_minor": order.deposit_minor, "deposit": money(order.deposit_minor),
        "amount_paid_minor": order.amount_paid_minor, "amount_paid": money(order.amount_paid_minor),
        "balance_due_minor": balance_due(order), "balance_due": money(balance_due(order)),
        "delivery": {"method": order.delivery_method, "zone": order.delivery_zone, "address": order.delivery_address,
                     "fee_minor": order.delivery_fee_minor} if order.delivery_method else None,
        "created_at": _at(order.created_at), "updated_at": _at(order.updated_at),
    }


def _payment(tenant: Tenant, payment: Payment, money: Any, files: dict[str, bytes]) -> dict:
    entry = {
        "order_reference": payment.order.reference, "kind": payment.kind, "status": payment.status,
        "currency": tenant.currency, "expected_minor": payment.expected_minor,
        "expected": money(payment.expected_minor),
        "stated_amount_minor": payment.stated_amount_minor, "stated_amount": money(payment.stated_amount_minor),
        "message": payment.message_text, "provider": payment.provider, "reason": payment.reason,
        "reading": payment.reading, "reading_verdict": payment.reading_verdict,
        "sent_at": _at(payment.created_at), "decided_at": _at(payment.decided_at), "proof_file": None,
    }
    if payment.proof_url:
        try:
            name = stored_name(payment.proof_url)
            files[PROOFS + name] = read_media(tenant.id, payment.proof_url).data
            entry["proof_file"] = PROOFS + name
        except (MediaNotFound, MediaUnavailable) as exc:  # the zip says so rather than failing whole
            entry["proof_problem"] = str(exc)
    return entry
