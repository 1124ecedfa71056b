"""An ops number answers a customer from its own WhatsApp: `R <ref> <text>` takes the customer's conversation
over (Grace stays quiet with them, as when a person takes it over in the dashboard), sends the text from the
business number, and relays the customer's replies to that ops number (grace.messaging.takeover) until
`DONE <ref>` hands it back, or the business's takeover_idle_minutes pass without a reply from it.

<ref> names the conversation as ops know it: an order reference, the customer's number, or a handoff (H12).
Only this business's customers are found; any other message from an ops number is a payment command
(grace.shop.ops)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id, split_conversation_id
from grace.messaging.takeover import AlreadyTaken, current, hand_back, take_over, touch
from grace.shop.ops import answer_ops
from grace.shop.orders import order_by_reference
from grace.store import session_scope
from grace.store.audit import Actor, customer_label, record_by
from grace.store.models import Customer, Handoff
from grace.tenancy.registry import E164, Tenant
from grace.tenancy.wording import Wording
from grace.whatsapp.human_reply import ReplyFailed, ReplyRefused, send_human_reply

RELAY = re.compile(r"^\s*r\s+(\S{2,40})\s+(\S.*)$", re.I | re.S)
DONE = re.compile(r"^\s*done\s+(\S{2,40})\s*$", re.I)
HANDOFF_REF = re.compile(r"^#?h?(\d{1,9})$", re.I)


@dataclass(frozen=True)
class Found:
    conversation: str
    name: str
    ref: str  # as the ops person will write it again


def answer_ops_number(tenant: Tenant, phone: str, text: str) -> str:
    """What Grace answers an ops number (blocking): a relay command's result, else a payment command's."""
    relay = RELAY.match(text or "")
    if relay:
        return relay_reply(tenant, phone, relay.group(1), relay.group(2).strip())
    done = DONE.match(text or "")
    if done:
        return give_back(tenant, phone, done.group(1))
    return answer_ops(tenant, phone, text)


def conversation_of(session: Session, tenant: Tenant, ref: str) -> Found | None:
    """The customer's conversation `ref` names: an order reference, their number, or a handoff, this
    business's only."""
    handoff = HANDOFF_REF.match(ref)
    if handoff and not E164.match(ref):
        row = session.scalars(select(Handoff).where(Handoff.tenant_id == tenant.id,
                                                    Handoff.id == int(handoff.group(1)))).first()
        if row is None:
            return None
        _, phone = split_conversation_id(row.conversation_id)
        return Found(row.conversation_id, _name(session, tenant, phone), f"H{row.id}")
    number = ref if ref.startswith("+") else f"+{ref}"
    if E164.match(number):
        customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant.id,
                                                          Customer.phone == number)).first()
        return Found(conversation_id(tenant.id, number), customer.name or number, number) if customer else None
    order = order_by_reference(session, tenant.id, ref)
    if order is None:
        return None
    phone = order.customer.phone
    return Found(conversation_id(tenant.id, phone), order.customer.name or phone, order.reference)


def _name(session: Session, tenant: Tenant, phone: str) -> str:
    customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant.id, Customer.phone == phone)).first()
    return (customer.name if customer else None) or phone


def relay_reply(tenant: Tenant, phone: str, ref: str, text: str) -> str:
    say = Wording(tenant)
    with session_scope() as session:
        found = conversation_of(session, tenant, ref)
        if found is None:
            return say("ops_relay_unknown", ref=ref, example=f"{tenant.order_prefix}-7KQ2M")
        try:
            take_over(session, tenant.id, found.conversation, None, f"whatsapp:{phone}", relay_phone=phone,
                      relay_ref=found.ref)
            _audit(session, tenant, phone, "takeover", found.conversation)
        except AlreadyTaken as exc:
            session.commit()  # an idle takeover found over stays over
            return say("ops_relay_taken", by=exc.taken_by or "someone else")
    # The store is not held while the provider is called.
    try:
        send_human_reply(tenant, found.conversation, text, f"whatsapp:{phone}", 0)
    except ReplyRefused as exc:
        return say("ops_relay_refused", ref=found.ref, reason=str(exc))
    except ReplyFailed as exc:
        return say("ops_relay_failed", ref=found.ref, reason=str(exc))
    with session_scope() as session:
        touch(session, tenant.id, found.conversation)
        _audit(session, tenant, phone, "reply_sent", found.conversation)
    return say("ops_relay_sent", name=found.name, ref=found.ref, minutes=f"{tenant.takeover_idle_minutes:g}")


def give_back(tenant: Tenant, phone: str, ref: str) -> str:
    say = Wording(tenant)
    with session_scope() as session:
        found = conversation_of(session, tenant, ref)
        if found is None:
            return say("ops_relay_unknown", ref=ref, example=f"{tenant.order_prefix}-7KQ2M")
        held = current(session, tenant.id, found.conversation)
        if held is None:
            return say("ops_relay_not_held", ref=found.ref)
        if held.relay_phone != phone:
            return say("ops_relay_not_yours", ref=found.ref, by=held.taken_by or "someone else")
        hand_back(session, tenant.id, found.conversation, by=f"whatsapp:{phone}")
        _audit(session, tenant, phone, "handback", found.conversation)
    return say("ops_relay_done", name=found.name, ref=found.ref)


def _audit(session: Session, tenant: Tenant, ops_phone: str, action: str, conversation: str) -> None:
    """The relay's entry, as the dashboard's (same actions), named "whatsapp <ops number>" like ops' payment
    decisions; the customer by row, never by number."""
    _, customer = split_conversation_id(conversation)
    record_by(session, tenant.id, Actor(f"whatsapp {ops_phone}"), action, customer_label(session, tenant.id, customer),
              {"via": "whatsapp"})
