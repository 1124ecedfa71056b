"""An order's payment link (made when it is placed, reused while it is open) and the provider's confirmation
settling it.

Settling never takes the webhook's word for anything but which checkout it is about: the amount and currency
are what the provider itself states (Paystack's verify endpoint, Stripe's signed event), the tenant must be the
link's, and the link switches from open in one conditional UPDATE, so a repeated or concurrent event changes
nothing. Money that is not exactly what the link asked for, or that comes after the order's hold lapsed, is
recorded and flagged to ops: only an exact, in-time payment is verified without a person.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import OPS_REPLY, PAYMENT_PROOF, notify_customer, notify_ops
from grace.money import format_money
from grace.payments import paystack, stripe_checkout
from grace.payments.checkout import Checkout, Paid, ProviderError
from grace.shop.payments import claim_in_time, quantities_of, verify_payment
from grace.shop.stock import OutOfStock, expire_order, hold_ended, hold_is_live, reserve, set_reservations
from grace.store.models import Order, Payment, PaymentLink, utcnow
from grace.tenancy.registry import E164, Tenant
from grace.tenancy.wording import Wording

log = logging.getLogger("grace.payments")

# Paystack wants an email for every transaction and WhatsApp customers have none: each gets a stable address
# made from their number and the business. Paystack mails receipts to it, so the domain must be one the
# platform controls (a catch-all forwarding nowhere, or to the business); the default is reserved (RFC 2606)
# and receives no mail, so no receipt reaches a stranger.
EMAIL_DOMAIN_DEFAULT = "example.com"


@dataclass(frozen=True)
class Settled:
    outcome: str  # verified / flagged / repeat / unknown (not one of our links, or another tenant's)
    order_reference: str = ""
    reason: str = ""


def amount_due(order: Order, kind: str) -> int:
    """What a link of this kind asks for: the deposit, or what is left of the total."""
    return order.deposit_minor if kind == "deposit" else order.total_minor - (order.amount_paid_minor or 0)


def customer_email(tenant: Tenant, phone: str) -> str:
    """The customer's made-up address at Paystack: their number's digits (a hash for non-phone senders)."""
    local = re.sub(r"\D", "", phone) if E164.match(phone) else hashlib.sha256(phone.encode()).hexdigest()[:20]
    domain = os.environ.get("GRACE_PAYMENT_EMAIL_DOMAIN", "").strip() or EMAIL_DOMAIN_DEFAULT
    return f"{local}.{tenant.id}@{domain}"


def return_url(tenant: Tenant) -> str | None:
    """Where the checkout sends the customer once paid: back to the business's WhatsApp chat."""
    number = next(iter(tenant.whatsapp_numbers), "")
    return f"https://wa.me/{re.sub(r'[^0-9]', '', number)}" if number else None


def open_link(session: Session, tenant: Tenant, order: Order, kind: str = "deposit",
              now: datetime | None = None) -> PaymentLink | None:
    """The open link for what the order owes now, made at the tenant's provider when there is none yet. None
    when the tenant takes no links, its key is not set, or the provider fails: logged, and the customer pays
    by bank transfer as before."""
    now = now or utcnow()
    provider = tenant.payment_links
    amount = amount_due(order, kind)
    if not provider or amount <= 0 or order.tenant_id != tenant.id:
        return None
    existing = session.scalars(select(PaymentLink).where(
        PaymentLink.tenant_id == tenant.id, PaymentLink.order_id == order.id, PaymentLink.kind == kind,
        PaymentLink.provider == provider, PaymentLink.status == "open", PaymentLink.amount_minor == amount,
        PaymentLink.currency == order.currency,
    ).order_by(PaymentLink.id.desc())).first()
    if existing is not None and (provider != "stripe"
                                 or existing.created_at > now - stripe_checkout.SESSION_LIFETIME):
        return existing
    secret_key = tenant.payment_secret_key()
    if not secret_key:
        log.warning("no %s link for order %s of %s: %s is not set", provider, order.reference, tenant.id,
                    tenant.payment_secret_key_env)
        return None
    try:
        checkout = _create(tenant, order, kind, amount, secret_key)
    except ProviderError as exc:
        log.warning("no %s link for order %s of %s: %s", provider, order.reference, tenant.id, exc)
        return None
    link = PaymentLink(tenant_id=tenant.id, order_id=order.id, kind=kind, provider=provider,
                       reference=checkout.reference, url=checkout.url, amount_minor=amount, currency=order.currency,
                       status="open", created_at=now)
    session.add(link)
    session.flush()
    return link


def _create(tenant: Tenant, order: Order, kind: str, amount: int, secret_key: str) -> Checkout:
    ours = f"{order.reference}-{kind[:3].upper()}-{secrets.token_hex(4)}"  # letters, digits and '-': Paystack's rule
    metadata = {"tenant": tenant.id, "order_reference": order.reference, "kind": kind}
    back = return_url(tenant)
    if tenant.payment_links == "paystack":
        return paystack.initialize(secret_key, email=customer_email(tenant, order.customer.phone), amount_minor=amount,
                                   currency=order.currency, reference=ours, metadata=metadata, callback_url=back)
    if back is None:
        raise ProviderError("Stripe Checkout needs a return page and the business has no WhatsApp number")
    description = f"{tenant.name}: {kind} for order {order.reference}"
    return stripe_checkout.create_session(secret_key, amount_minor=amount, currency=order.currency,
                                          description=description, success_url=back, metadata=metadata,
                                          client_reference_id=order.reference, idempotency_key=ours)


def link_by_reference(session: Session, tenant: Tenant, provider: str, reference: str) -> PaymentLink | None:
    """This tenant's link at this provider with this reference (another tenant's is never found)."""
    return session.scalars(select(PaymentLink).where(
        PaymentLink.tenant_id == tenant.id, PaymentLink.provider == provider, PaymentLink.reference == reference,
    )).first()


def settle(session: Session, tenant: Tenant, provider: str, paid: Paid, now: datetime | None = None) -> Settled:
    """Record what the provider confirmed for one of the tenant's links: verify the payment when it is exactly
    the link's amount for an order still holding its fabric, else flag it to ops. Runs in the caller's
    transaction; the customer's "payment verified" is in the outbox when it commits."""
    now = now or utcnow()
    link = link_by_reference(session, tenant, provider, paid.reference)
    if link is None:
        return Settled("unknown")
    order = session.scalars(select(Order).where(Order.id == link.order_id, Order.tenant_id == tenant.id)).one()
    recorded = session.scalars(select(Payment.id).where(
        Payment.tenant_id == tenant.id, Payment.provider == provider, Payment.provider_reference == paid.reference,
    )).first()
    # The link leaves "open" once: of two deliveries of one event, the second finds it taken.
    taken = session.execute(update(PaymentLink).where(PaymentLink.id == link.id, PaymentLink.status == "open")
                            .values(status="paid", paid_at=now).execution_options(synchronize_session=False))
    if recorded is not None or taken.rowcount != 1:
        return Settled("repeat", order.reference)
    session.refresh(link)
    problems = []
    if paid.currency != link.currency:
        problems.append(f"paid {_paid(paid)} in another currency, the link asked {_money(link.amount_minor, link)}")
    elif paid.amount_minor != link.amount_minor:
        problems.append(f"paid {_paid(paid)}, the link asked {_money(link.amount_minor, link)}")
    late, order_problem = _hold_for(session, tenant, order, link.kind, now)
    if order_problem:
        problems.append(order_problem)
    payment = Payment(tenant_id=tenant.id, order_id=order.id, status="pending", kind=link.kind, provider=provider,
                      provider_reference=paid.reference, expected_minor=link.amount_minor, late=late,
                      stated_amount_minor=paid.amount_minor if paid.currency == link.currency else None,
                      message_text=f"Paid through the {provider} link {paid.reference}",
                      reason="; ".join(problems) or None, created_at=now)
    session.add(payment)
    session.flush()
    if problems:
        link.status = "flagged"
        _flag(session, tenant, order, link, payment, paid, problems, late)
        return Settled("flagged", order.reference, "; ".join(problems))
    verify_payment(session, tenant, order.reference, by=provider)
    log.info("%s link %s verified %s for order %s of %s", provider, paid.reference, link.kind, order.reference,
             tenant.id)
    return Settled("verified", order.reference)


def _money(minor: int, link: PaymentLink) -> str:
    return format_money(minor, link.currency)


def _paid(paid: Paid) -> str:
    return format_money(paid.amount_minor, paid.currency)


def _hold_for(session: Session, tenant: Tenant, order: Order, kind: str, now: datetime) -> tuple[bool, str]:
    """Keep the order's fabric for the payment as a proof in time keeps it (grace.shop.payments.record_proof):
    (late, why it cannot be verified without a person; "" when it can)."""
    if kind != "deposit":
        bad = order.status in ("cancelled", "expired", "awaiting_payment", "payment_submitted")
        return False, f"a balance paid while the order is {order.status.replace('_', ' ')}" if bad else ""
    if order.status == "awaiting_payment" and not claim_in_time(session, order, now):
        expire_order(session, order, now)  # lapsed, and the sweep has not come by yet
    if order.status == "expired":
        return True, f"paid after the order's hold ended ({hold_ended(tenant, order)}): check stock before verifying"
    if order.status != "payment_submitted":
        return False, f"the order is already {order.status.replace('_', ' ')}"
    if not hold_is_live(session, order, now):  # reservations lapsed though the order's hold had not: take it again
        set_reservations(session, order, "released")
        try:
            reserve(session, tenant, order, quantities_of(order), status="committed")
        except OutOfStock:
            return False, "the fabric's hold had lapsed and it is no longer all in stock"
    pending = session.scalars(select(Payment.id).where(
        Payment.tenant_id == tenant.id, Payment.order_id == order.id, Payment.status == "pending")).first()
    if pending is not None:  # a transfer proof waits for ops too: the customer may have paid twice
        return False, "a transfer proof for this order is also waiting: check for a double payment"
    return False, ""


def _flag(session: Session, tenant: Tenant, order: Order, link: PaymentLink, payment: Payment, paid: Paid,
          problems: list[str], late: bool) -> None:
    """Ops get the payment to decide (as a proof: APPROVE / REJECT), the customer hears it is being checked."""
    who = order.customer.name or order.customer.phone
    summary = (f"Paid through the {link.provider} link for order {order.reference} from {who}: {link.kind} due "
               f"{_money(link.amount_minor, link)}. NOT verified: " + "; ".join(problems) + ".")
    notify_ops(session, tenant, PAYMENT_PROOF, summary, order_reference=order.reference, payment_id=payment.id,
               expected_minor=link.amount_minor, stated_minor=payment.stated_amount_minor,
               customer=order.customer.phone, late=late, provider=link.provider, provider_reference=paid.reference)
    say = Wording(tenant)
    key = "payment_link_late" if late else "payment_link_checking"
    text = say(key, reference=order.reference, paid=_paid(paid), expected=_money(link.amount_minor, link))
    notify_customer(session, tenant.id, conversation_id(tenant.id, order.customer.phone), OPS_REPLY, text=text,
                    by="Grace")
    log.warning("%s link %s for order %s of %s flagged: %s", link.provider, paid.reference, order.reference,
                tenant.id, "; ".join(problems))
