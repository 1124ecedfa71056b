"""Tables owned by the app. Every row carries its tenant_id; every query filters on it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base: Any = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "phone"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    phone = Column(String(64), nullable=False)  # the customer's id on the channel
    name = Column(String(120))
    preferences = Column(JSON, nullable=False, default=dict)
    first_seen_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("tenant_id", "reference"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    reference = Column(String(20), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    # awaiting_payment -> payment_submitted -> deposit_paid -> in_production ... ; cancelled; expired
    status = Column(String(24), nullable=False, default="awaiting_payment")
    currency = Column(String(3), nullable=False)
    subtotal_minor = Column(Integer, nullable=False)
    discount_minor = Column(Integer, nullable=False, default=0)
    total_minor = Column(Integer, nullable=False)
    deposit_percent = Column(Float, nullable=False)
    deposit_minor = Column(Integer, nullable=False)
    balance_minor = Column(Integer, nullable=False)
    promo_code = Column(String(40))
    hold_expires_at = Column(DateTime)
    # What the customer has paid so far (verified payments: deposit, then balance); balance_minor is what
    # was left to pay after the deposit when the order was placed, total_minor - amount_paid_minor is due.
    amount_paid_minor = Column(Integer, nullable=False, default=0)
    balance_requested_at = Column(DateTime)  # ops asked the customer for the balance
    balance_reminded_at = Column(DateTime)  # the one reminder of a requested balance was sent
    # How the fabric reaches the customer: "pickup" or "delivery" (None: the tenant has no delivery
    # settings, or the order predates them). The fee is part of total_minor.
    delivery_method = Column(String(12))
    delivery_zone = Column(String(80))  # the tenant's zone name the address falls in
    delivery_address = Column(Text)  # as the customer wrote it, shown to ops
    delivery_fee_minor = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    lines = relationship("OrderLine", order_by="OrderLine.id", lazy="selectin")
    customer = relationship("Customer", lazy="joined")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    sku = Column(String(32), nullable=False)
    name = Column(String(200), nullable=False)
    unit = Column(String(20), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_minor = Column(Integer, nullable=False)
    line_total_minor = Column(Integer, nullable=False)


class StockLock(Base):
    """One row per fabric, updated first in a reservation so reservations of it serialise."""

    __tablename__ = "stock_locks"
    tenant_id = Column(String(40), primary_key=True)
    sku = Column(String(32), primary_key=True)
    version = Column(Integer, nullable=False, default=0)


class StockReservation(Base):
    __tablename__ = "stock_reservations"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    sku = Column(String(32), nullable=False)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    quantity = Column(Integer, nullable=False)
    # held (until expires_at) -> committed (proof received or paid) | released
    status = Column(String(12), nullable=False, default="held")
    expires_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    order = relationship("Order")


class Payment(Base):
    __tablename__ = "payments"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    status = Column(String(12), nullable=False, default="pending")  # pending/verified/rejected
    proof_url = Column(Text)
    proof_content_type = Column(String(80))
    message_text = Column(Text)
    stated_amount_minor = Column(Integer)
    expected_minor = Column(Integer, nullable=False)
    reason = Column(Text)
    decided_by = Column(String(120))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    decided_at = Column(DateTime)
    # Sent after the order's hold had lapsed (the order expired): nothing is held for it, and verifying
    # it takes the fabric again only if it is still there (grace.shop.payments).
    late = Column(Boolean, nullable=False, default=False)
    kind = Column(String(12), nullable=False, default="deposit")  # deposit / balance
    # How the money came: "transfer" (a proof a person reads) or a payment link's provider ("paystack",
    # "stripe"), with the provider's transaction reference (one payment per provider transaction).
    provider = Column(String(20), nullable=False, default="transfer")
    provider_reference = Column(String(120))
    # What OCR read off the proof picture (amount_minor, date, reference, account, text) and its verdict
    # against what was expected: match / mismatch / unreadable. Never verifies a payment by itself.
    reading = Column(JSON)
    reading_verdict = Column(String(12))
    image_hash = Column(String(32), index=True)  # perceptual hash of the proof picture
    reused_payment_id = Column(Integer)  # an earlier payment (another order or customer) with the same picture
    order = relationship("Order", lazy="joined")


class Notification(Base):
    """Outbox: written in the same transaction as the change it announces."""

    __tablename__ = "notifications"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    kind = Column(String(40), nullable=False)
    audience = Column(String(12), nullable=False)  # ops / customer
    recipients = Column(JSON, nullable=False, default=list)
    payload = Column(JSON, nullable=False, default=dict)
    status = Column(String(12), nullable=False, default="pending")  # pending/sent/failed
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)
    not_before = Column(DateTime)  # a follow-up's delay, or quiet hours: not sent before this time


class Handoff(Base):
    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    conversation_id = Column(String(120), nullable=False)
    message_text = Column(Text)
    status = Column(String(12), nullable=False, default="open")
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    order_id = Column(Integer, ForeignKey("orders.id"))
    text = Column(Text, nullable=False)
    rating = Column(Integer)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class FallbackLog(Base):
    """Every turn that hit fallback or low NLU confidence: raw material for training."""

    __tablename__ = "fallback_log"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    conversation_id = Column(String(120), nullable=False)
    text = Column(Text, nullable=False)
    intent = Column(String(80))
    confidence = Column(Float)
    intent_ranking = Column(JSON, nullable=False, default=list)
    funnel_stage = Column(String(40))
    answered_by = Column(String(40), nullable=False)
    answer = Column(Text)  # what the customer was told
    # Did the customer write again soon after? Decided later by `grace learn` from the tracker store
    # (None until then), so handled turns never pay for a write.
    continued = Column(Boolean)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class InboundMessage(Base):
    """Message ids already processed, so a redelivered webhook is handled once."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "channel", "message_id"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False)
    channel = Column(String(20), nullable=False)
    message_id = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ReplyChoice(Base):
    """The choices last offered in a conversation as a numbered list, so "2" can be read as the
    second one. Kept in the store, not in memory: the answer may reach another replica."""

    __tablename__ = "reply_choices"
    conversation_id = Column(String(120), primary_key=True)
    tenant_id = Column(String(40), nullable=False)
    choices = Column(JSON, nullable=False, default=list)
    offered_at = Column(DateTime, nullable=False, default=utcnow)


class Contact(Base):
    """A WhatsApp number as the 24-hour rule and opt-outs see it: when it last wrote to the business,
    and whether it asked for no more proactive messages."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "phone"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False)
    phone = Column(String(64), nullable=False)
    channel = Column(String(20), nullable=False)
    last_inbound_at = Column(DateTime)
    opted_out_at = Column(DateTime)
    # Consent to proactive messages (broadcasts): when, and how (wrote_first / checkout / import / team).
    # A number imported without consent has a row with opted_in_at unset.
    opted_in_at = Column(DateTime)
    opt_in_source = Column(String(20))
    name = Column(String(120))
    city = Column(String(80))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class PendingTurn(Base):
    """A message acknowledged to its provider whose turn has not finished yet. Written with its
    dedupe row, deleted when the replies are out: whatever is left after a crash is replayed."""

    __tablename__ = "pending_turns"
    __table_args__ = (UniqueConstraint("channel", "message_id"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False)
    channel = Column(String(20), nullable=False)
    message_id = Column(String(128), nullable=False)
    payload = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class User(Base):
    """A dashboard account: belongs to one tenant, with a role (owner / ops / viewer). The same email may
    have an account at several tenants (each its own password and role)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    email = Column(String(254), nullable=False)
    role = Column(String(12), nullable=False)
    password_hash = Column(String(255), nullable=False)
    # Set for accounts an owner created with a one-time password: they must choose their own first.
    must_change_password = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_login_at = Column(DateTime)


class ApiKey(Base):
    """A tenant's key for /api/v1; only the SHA-256 of the key is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_hash"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    key_hash = Column(String(64), nullable=False)
    prefix = Column(String(12), nullable=False)  # shown in the dashboard so owners can tell keys apart
    label = Column(String(120))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime)


class Takeover(Base):
    """Who of the team has a customer's conversation (grace.messaging.takeover): while `user_id` is set
    Grace runs no turn for that customer; the customer's messages are kept in the conversation for the
    person. One row per conversation, kept after hand back (who had it last, when and why it ended)."""

    __tablename__ = "takeovers"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False)
    conversation_id = Column(String(120), nullable=False)  # "<tenant>:<customer>", as the tracker names it
    user_id = Column(Integer)  # the dashboard user who has it now (or relay_phone); neither: Grace answers
    taken_by = Column(String(254))  # that user's email when they took it (the user may be removed later)
    taken_at = Column(DateTime)
    last_human_at = Column(DateTime)  # took over or replied: idle past the tenant's takeover_idle_minutes hands back
    handed_back_at = Column(DateTime)
    handed_back_by = Column(String(254))  # an email, or "idle" for the automatic hand back
    # Or an ops number holds it from WhatsApp (grace.whatsapp.ops_relay): the customer's messages are relayed
    # there, and relay_ref is what that person called the conversation (an order reference, a number).
    relay_phone = Column(String(64))
    relay_ref = Column(String(40))


class PaymentLink(Base):
    """A checkout page at a payment provider (Paystack, Stripe) for one amount of one order: the deposit,
    or the balance. The provider's reference is ours, so its webhook finds the link and the order."""

    __tablename__ = "payment_links"
    __table_args__ = (UniqueConstraint("provider", "reference"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    kind = Column(String(12), nullable=False, default="deposit")  # deposit / balance
    provider = Column(String(20), nullable=False)  # paystack / stripe
    reference = Column(String(120), nullable=False)  # Paystack's reference, Stripe's checkout session id
    url = Column(Text, nullable=False)
    amount_minor = Column(Integer, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(12), nullable=False, default="open")  # open / paid / flagged
    created_at = Column(DateTime, nullable=False, default=utcnow)
    paid_at = Column(DateTime)
    order = relationship("Order", lazy="joined")


class ConversationNote(Base):
    """A note the team keeps on a customer's conversation: never sent, never in Rasa's tracker."""

    __tablename__ = "conversation_notes"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    conversation_id = Column(String(120), nullable=False)
    author = Column(String(254), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ConversationLabel(Base):
    """A label the team put on a conversation ("aso-ebi", "wholesale", "vip"), to find it again."""

    __tablename__ = "conversation_labels"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id", "label"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    conversation_id = Column(String(120), nullable=False)
    label = Column(String(30), nullable=False)


class CannedReply(Base):
    """A reply the business keeps ready for the team to send from the inbox."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("tenant_id", "title"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    title = Column(String(60), nullable=False)
    text = Column(Text, nullable=False)
    created_by = Column(String(254))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class OutboundMessage(Base):
    """A message Grace or the team sent on WhatsApp, as the provider named it (Twilio's SM..., Meta's wamid),
    and what the provider later said of it: sent, delivered, read, or failed with its error code."""

    __tablename__ = "outbound_messages"
    # (tenant, number): whether a number is known not to be on WhatsApp is asked before every proactive send
    __table_args__ = (UniqueConstraint("channel", "provider_id"),
                      Index("ix_outbound_messages_tenant_phone", "tenant_id", "to_phone"))
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    channel = Column(String(20), nullable=False)  # twilio / meta
    provider_id = Column(String(128), nullable=False)
    to_phone = Column(String(64), nullable=False)
    kind = Column(String(40), nullable=False, default="reply")  # reply / a notification kind / broadcast
    notification_id = Column(Integer, index=True)
    broadcast_id = Column(Integer, index=True)
    status = Column(String(12), nullable=False, default="accepted")  # accepted/sent/delivered/read/failed
    error_code = Column(String(20))
    error_detail = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class Broadcast(Base):
    """An approved template sent to a segment of a business's contacts, now or at a set time."""

    __tablename__ = "broadcasts"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    name = Column(String(120), nullable=False)
    # {"twilio_content_sid", "meta_name", "language"}: the template, as grace.whatsapp.provider.Template
    template = Column(JSON, nullable=False, default=dict)
    variables = Column(JSON, nullable=False, default=list)  # contact field per template variable, in order
    segment = Column(JSON, nullable=False, default=dict)  # labels, categories, city, last order days
    status = Column(String(12), nullable=False, default="draft")  # draft/scheduled/sending/sent/cancelled
    scheduled_at = Column(DateTime)
    rate_per_minute = Column(Integer, nullable=False, default=60)
    created_by = Column(String(254))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    paused_until = Column(DateTime)  # the provider asked to slow down (rate limit): nothing is sent before then


class BroadcastRecipient(Base):
    """One contact of a broadcast's segment, fixed when sending starts."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "phone"),)
    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id"), nullable=False, index=True)
    tenant_id = Column(String(40), nullable=False)
    phone = Column(String(64), nullable=False)
    status = Column(String(12), nullable=False, default="pending")  # pending/sending (claimed)/sent/skipped/failed
    detail = Column(Text)
    provider_id = Column(String(128))
    sent_at = Column(DateTime)  # handed to the provider (the claim): the pace is counted on it
    replied_at = Column(DateTime)
    attempts = Column(Integer, nullable=False, default=0)  # failed sends that may mend, tried again
    rate_limited = Column(Integer, nullable=False, default=0)  # the provider's rate limits in a row


class RestockAlert(Base):
    """A customer who asked for a sold-out fabric and wants to be told when it is back."""

    __tablename__ = "restock_alerts"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    phone = Column(String(64), nullable=False)
    sku = Column(String(32), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    notified_at = Column(DateTime)


class AuditEntry(Base):
    """Who did what in the dashboard, the API or an ops command: written in the transaction of the change it
    records, never changed or removed afterwards (the database refuses UPDATE and DELETE: see migration 0010)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    # a dashboard user's email, "api-key <prefix>", "whatsapp <number>" or "system"
    actor = Column(String(254), nullable=False)
    action = Column(String(40), nullable=False)  # login, payment_verified, settings_changed, ...
    target = Column(String(120), nullable=False, default="")  # an order reference, payment id, conversation id
    detail = Column(JSON, nullable=False, default=dict)  # small facts only: never secrets or customers' messages
    ip = Column(String(45))


class TenantCredential(Base):
    """A business's own provider account (Twilio, Meta or a model endpoint): the secrets are sealed with the
    platform's key (grace.store.secrets) and never shown back; `hint` is what the dashboard may show
    (e.g. the end of an account SID) so an owner can tell which account is set."""

    __tablename__ = "tenant_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    kind = Column(String(12), nullable=False)  # twilio, meta, model
    sealed = Column(Text, nullable=False)
    hint = Column(String(60), nullable=False, default="")
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    updated_by = Column(String(254), nullable=False, default="")


class TenantAccount(Base):
    """A business's standing with the platform: its plan (None: the configured default) and whether the
    platform operator suspended it (its customers then get a polite message; its data is kept)."""

    __tablename__ = "tenant_accounts"
    tenant_id = Column(String(40), primary_key=True)
    plan = Column(String(30))
    suspended_at = Column(DateTime)
    suspended_reason = Column(String(200))
    suspended_by = Column(String(254))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class UsageCount(Base):
    """What a business used in a calendar month (UTC), by metric (conversations, messages, model_calls,
    model_tokens, broadcast_messages...); `warned_at` is when its owner was told it reached 80% of the plan."""

    __tablename__ = "usage_counts"
    tenant_id = Column(String(40), primary_key=True)
    month = Column(String(7), primary_key=True)  # 2026-11
    metric = Column(String(30), primary_key=True)
    count = Column(Integer, nullable=False, default=0)
    warned_at = Column(DateTime)
    exceeded_at = Column(DateTime)


class PlatformAdmin(Base):
    """A platform operator's account for the admin area: not a user of any business."""

    __tablename__ = "platform_admins"
    __table_args__ = (UniqueConstraint("email"),)
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False)
    password_hash = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_login_at = Column(DateTime)


class PrivacyRequest(Base):
    """A customer's request about their data (erasure; an export is made at once and needs no row): from
    WhatsApp ("delete my data") it waits for the owner to confirm; from the dashboard or the API it is
    confirmed by the person asking. Names the customer by row, so nothing here keeps their number."""

    __tablename__ = "privacy_requests"
    id = Column(Integer, primary_key=True)
    tenant_id = Column(String(40), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    contact_id = Column(Integer)  # a contact who never ordered
    kind = Column(String(12), nullable=False, default="erasure")
    source = Column(String(12), nullable=False)  # whatsapp, dashboard, api
    status = Column(String(12), nullable=False, default="pending")  # pending, done, declined
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    decided_by = Column(String(254))
    decided_at = Column(DateTime)
    summary = Column(JSON, nullable=False, default=dict)  # what was removed or anonymised, counted
