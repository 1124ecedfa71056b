"""Follow-ups: the messages Grace writes first to bring a customer back, each one a switch of the tenant's
(`follow_ups:` in tenant.yml, grace.tenancy.registry.FollowUps).

- Restock alerts. A customer who asked for a sold-out fabric and said yes to "shall I tell you when it's
  back?" waits for it (a RestockAlert row). When its stock returns (an order cancelled, expired or refused
  releasing what it held, a catalog upload or edit, or anything else: the outbox worker's pass looks too),
  each waiting customer gets one alert. The alert is claimed by a conditional UPDATE of their rows
  (notified_at) in the transaction that writes the message, so two restocks at once tell them once.
- Summary nudge. An order summary the customer neither confirmed, changed nor cancelled gets one nudge
  `summary_nudge_minutes` after it, only inside WhatsApp's 24-hour window (never as a template). What the
  conversation says is read from Rasa's tracker store when the nudge is written and again just before it
  goes (withdraw_stale_nudges): a customer who wrote meanwhile is never nudged.
- Reorder suggestion. `reorder_after_days` after an order is delivered, one suggestion per order (outside
  the window only as the tenant's approved `reorder` template, as every message Grace writes first).

None of them goes out in the tenant's quiet hours (its own timezone): the notification waits until they end
(`not_before`; the outbox claims no row before it). The messages are outbox rows, sent by the outbox worker
under the 24-hour rule and opt-outs like every other.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from grace.messaging.contacts import WINDOW, may_message
from grace.messaging.conversation_events import TRACKER_EVENTS, TRACKER_TABLE
from grace.messaging.inbound import conversation_id, is_whatsapp_customer, split_conversation_id
from grace.messaging.notifications import ORDER_DELIVERED, REORDER, RESTOCK, SUMMARY_NUDGE, notify_customer
from grace.shop.customers import get_customer
from grace.shop.orders import join_words, order_by_reference
from grace.shop.stock import available_stock
from grace.store import session_scope
from grace.store.models import Contact, Notification, Order, RestockAlert, utcnow
from grace.tenancy.catalog import line_in_words
from grace.tenancy.registry import Tenant, get_registry

log = logging.getLogger("grace.shop.follow_ups")

# A delivery the worker missed (it was stopped) still gets its suggestion up to a week late; an order
# delivered longer ago than that is not suddenly suggested when a business turns the switch on.
REORDER_CATCH_UP = timedelta(days=7)


# ---------------------------------------------------------------- quiet hours


def quiet_until(tenant: Tenant, now: datetime | None = None) -> datetime | None:
    """When the tenant's quiet hours end (naive UTC, like every time in the store) if `now` falls in them,
    else None: a follow-up written now waits until then."""
    quiet = tenant.follow_ups.quiet_hours
    if quiet is None:
        return None
    local = tenant.local(now or utcnow())
    if not tenant.follow_ups.is_quiet(local.time()):
        return None
    end = datetime.combine(local.date(), quiet[1], tenant.timezone)
    if end <= local:  # quiet since the evening: they end tomorrow morning
        end += timedelta(days=1)
    return end.astimezone(timezone.utc).replace(tzinfo=None)


def _follow_up(session: Session, tenant: Tenant, phone: str, kind: str, now: datetime, **payload) -> Notification:
    row = notify_customer(session, tenant.id, conversation_id(tenant.id, phone), kind, **payload)
    row.not_before = quiet_until(tenant, now)
    return row


def _customer_name(session: Session, tenant_id: str, phone: str) -> str | None:
    customer = get_customer(session, tenant_id, phone)
    return customer.name if customer is not None else None


# ---------------------------------------------------------------- restock alerts


def waiting_skus(session: Session, tenant_id: str, phone: str) -> set[str]:
    """The fabrics this customer waits to hear about."""
    return set(session.scalars(select(RestockAlert.sku).where(
        RestockAlert.tenant_id == tenant_id, RestockAlert.phone == phone, RestockAlert.notified_at.is_(None))))


def customers_waiting(tenant_id: str, sku: str) -> int:
    """How many customers wait to hear that this fabric is back (the dashboard tells the owner)."""
    with session_scope() as session:
        return session.scalar(select(func.count(func.distinct(RestockAlert.phone))).where(
            RestockAlert.tenant_id == tenant_id, RestockAlert.sku == sku, RestockAlert.notified_at.is_(None))) or 0


def wait_for_restock(session: Session, tenant: Tenant, phone: str, skus: Iterable[str]) -> list[str]:
    """The customer said yes: they hear when each fabric is back (once; a fabric they already wait for is
    not recorded twice). Returns the skus newly recorded."""
    waiting = waiting_skus(session, tenant.id, phone)
    added = [sku for sku in dict.fromkeys(skus) if sku not in waiting]
    for sku in added:
        session.add(RestockAlert(tenant_id=tenant.id, phone=phone, sku=sku))
    return added


def tell_restocked(session: Session, tenant: Tenant, skus: Iterable[str] | None = None,
                   now: datetime | None = None) -> int:
    """Queue one alert for every customer waiting for a fabric (of `skus`, or any) that is in stock again,
    in the caller's transaction; returns how many. Each customer's rows are claimed by one conditional
    UPDATE (notified_at) before their message is written: of two restocks at once, the second finds them
    claimed (SQLite: the write lock; PostgreSQL: the row lock, after which the condition is checked again)."""
    if not tenant.follow_ups.restock_alerts:
        return 0
    now = now or utcnow()
    query = select(RestockAlert.sku, RestockAlert.phone).where(
        RestockAlert.tenant_id == tenant.id, RestockAlert.notified_at.is_(None))
    if skus is not None:
        query = query.where(RestockAlert.sku.in_(list(skus)))
    waiting: dict[str, set[str]] = {}
    for sku, phone in session.execute(query):
        waiting.setdefault(sku, set()).add(phone)
    if not waiting:
        return 0
    left = available_stock(session, tenant, list(waiting))
    told = 0
    for sku in sorted(waiting):  # a fixed order, so two restocks never wait on each other's rows crosswise
        fabric = tenant.catalog.get(sku)
        if fabric is None or left.get(sku, 0) <= 0:
            continue  # still sold out (or no longer sold): they keep waiting
        for phone in sorted(waiting[sku]):
            claimed = session.execute(update(RestockAlert).where(
                RestockAlert.tenant_id == tenant.id, RestockAlert.sku == sku, RestockAlert.phone == phone,
                RestockAlert.notified_at.is_(None),
            ).values(notified_at=now).execution_options(synchronize_session=False))
            if claimed.rowcount == 0:
                continue  # another restock told them first
            _follow_up(session, tenant, phone, RESTOCK, now, sku=fabric.sku, name=fabric.name,
                       unit_plural=fabric.unit_plural(2), customer_name=_customer_name(session, tenant.id, phone))
            told += 1
    if told:
        log.info("restock [%s]: %d waiting customer(s) told", tenant.id, told)
    return told


def alert_restocked_fabrics(now: datetime | None = None) -> int:
    """The outbox worker's pass: every business's waiting customers whose fabric is back, however its stock
    came back (a catalog file edited by hand, a backup restored, a hold that lapsed); returns how many."""
    told = 0
    for tenant in get_registry().serving():
        if tenant.follow_ups.restock_alerts:
            with session_scope() as session:
                told += tell_restocked(session, tenant, now=now)
    return told


# ---------------------------------------------------------------- summary nudge

# Rasa's tracker store (grace.messaging.conversation_events), read with a few SELECTs on the engine the outbox
# worker hands in, as grace.analytics reads it.
_EVENTS = TRACKER_EVENTS
# The order summary sets funnel_stage to "reviewing" (actions/selection.py), the confirmation to
# "awaiting_payment", a cancelled cart back to "browsing"; "pickup or delivery?" is asked at "reviewing"
# too, with delivery_asked set, before any summary to confirm.
REVIEWING = "reviewing"
# How far before a summary its conversation is read: back to the customer's message it answered.
SCAN_BEFORE = 3600.0


@dataclass
class SummaryState:
    """What a conversation's tracker says about its latest order summary."""

    summary_at: float | None = None  # when it was shown (epoch seconds); None: no summary there
    customer_at: float | None = None  # the customer's latest message
    stage: str | None = None
    selection: list | None = None
    delivery_asked: bool = False


def _slot_value(data: str | None) -> object:
    try:
        return json.loads(data or "{}").get("value")
    except (ValueError, AttributeError):
        return None


def _latest_slot(conn: Connection, sender: str, name: str) -> object:
    row = conn.execute(select(_EVENTS.c.data).where(
        _EVENTS.c.sender_id == sender, _EVENTS.c.type_name == "slot", _EVENTS.c.action_name == name,
    ).order_by(_EVENTS.c.id.desc()).limit(1)).first()
    return _slot_value(row[0]) if row else None


def summary_state(conn: Connection, sender: str, since: float) -> SummaryState:
    """The conversation's latest order summary shown since `since`, the customer's latest message, and the
    cart as it stands. A new session repeats every slot before the customer speaks (carry_over_slots):
    a repeated "reviewing" is no summary shown."""
    state = SummaryState()
    rows = conn.execute(select(
        _EVENTS.c.type_name, _EVENTS.c.timestamp, _EVENTS.c.intent_name, _EVENTS.c.data,
    ).where(
        _EVENTS.c.sender_id == sender, _EVENTS.c.timestamp >= since,
        or_(_EVENTS.c.type_name.in_(("user", "session_started")),
            and_(_EVENTS.c.type_name == "slot", _EVENTS.c.action_name == "funnel_stage")),
    ).order_by(_EVENTS.c.id.desc()))
    candidate = None
    for type_name, timestamp, intent, data in rows:  # newest first (the slots read: funnel_stage only)
        if type_name == "slot":
            value = _slot_value(data)
            if state.stage is None:
                state.stage = value if isinstance(value, str) else ""
            if value == REVIEWING and candidate is None and state.summary_at is None:
                candidate = timestamp
        elif type_name == "session_started":
            candidate = None  # the "reviewing" after it was carried over, not shown
        else:
            if not (intent or "").startswith("EXTERNAL") and state.customer_at is None:
                state.customer_at = timestamp
            if candidate is not None:  # a message before it: the summary answered it
                state.summary_at, candidate = candidate, None
        if state.summary_at is not None and state.customer_at is not None:
            break
    if state.stage is None:
        stage = _latest_slot(conn, sender, "funnel_stage")
        state.stage = stage if isinstance(stage, str) else ""
    selection = _latest_slot(conn, sender, "selection")
    state.selection = selection if isinstance(selection, list) else []
    state.delivery_asked = _latest_slot(conn, sender, "delivery_asked") is True
    return state


def why_no_nudge(state: SummaryState, summary_at: float | None = None) -> str:
    """Why the summary (the one shown at `summary_at`, when given) is not to be nudged, or "" when it is."""
    if state.summary_at is None:
        return "no order summary in the conversation"
    if summary_at is not None and abs(state.summary_at - summary_at) > 0.001:
        return "the customer changed the order since (a newer summary)"
    if state.customer_at is not None and state.customer_at > state.summary_at:
        return "the customer wrote since the summary"
    if state.stage != REVIEWING or not state.selection:
        return "the order was confirmed or cancelled since the summary"
    if state.delivery_asked:
        return "Grace is waiting for pickup or delivery, not a YES"
    return ""


def _tracker_has_events(conn: Connection) -> bool:
    return inspect(conn).has_table(TRACKER_TABLE)


def _items(tenant: Tenant, selection: list) -> str:
    """"6 yards of Marigold Bloom and 3 pieces of Royal Ivory": the cart in words."""
    parts = []
    for item in selection:
        fabric = tenant.catalog.get(str(item.get("sku"))) if isinstance(item, dict) else None
        qty = item.get("qty") if isinstance(item, dict) else None
        if fabric is not None and isinstance(qty, int):
            parts.append(line_in_words(qty, fabric.unit, fabric.name))
    return join_words(tenant, parts, "list_and") if parts else ""


def _hold_contact(session: Session, tenant_id: str, phone: str) -> bool:
    """Lock the customer's contact row (an UPDATE that changes nothing) for the rest of the transaction, so
    two workers deciding about the same customer at once decide one after the other. False: no such row."""
    return session.execute(update(Contact).where(Contact.tenant_id == tenant_id, Contact.phone == phone)
                           .values(phone=Contact.phone).execution_options(synchronize_session=False)).rowcount == 1


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def schedule_summary_nudges(tracker: Engine | None, now: datetime | None = None) -> int:
    """Write the one nudge of every order summary left `summary_nudge_minutes` without an answer, when the
    customer is inside the 24-hour window; returns how many. `tracker` is Rasa's tracker store (None: there
    is no conversation yet)."""
    if tracker is None:
        return 0
    now = now or utcnow()
    written = 0
    for tenant in get_registry().serving():
        minutes = tenant.follow_ups.summary_nudge_minutes
        if not minutes:
            continue
        since, due = _epoch(now - WINDOW), _epoch(now - timedelta(minutes=minutes))
        with tracker.connect() as conn:
            if not _tracker_has_events(conn):
                return written
            latest = conn.execute(select(_EVENTS.c.sender_id, func.max(_EVENTS.c.timestamp)).where(
                _EVENTS.c.sender_id.startswith(conversation_id(tenant.id, ""), autoescape=True),
                _EVENTS.c.type_name == "slot", _EVENTS.c.action_name == "funnel_stage",
                _EVENTS.c.data.contains(f'"{REVIEWING}"'), _EVENTS.c.timestamp >= since,
            ).group_by(_EVENTS.c.sender_id)).all()
            states = {sender: summary_state(conn, sender, since - SCAN_BEFORE) for sender, shown in latest
                      if shown <= due}
        for sender, state in sorted(states.items()):
            if why_no_nudge(state) or state.summary_at is None or state.summary_at > due:
                continue
            written += _nudge(tenant, sender, state, now)
    return written


def _nudge(tenant: Tenant, sender: str, state: SummaryState, now: datetime) -> int:
    _, phone = split_conversation_id(sender)
    assert state.summary_at is not None  # only summaries to nudge come here
    if not is_whatsapp_customer(phone):
        return 0
    items = _items(tenant, state.selection or [])
    with session_scope() as session:
        if not may_message(session, tenant.id, phone, now).free_text:
            return 0  # outside the window (or opted out): a nudge is never a template
        if not _hold_contact(session, tenant.id, phone):
            return 0
        nudged = session.scalars(select(Notification.payload).where(
            Notification.tenant_id == tenant.id, Notification.kind == SUMMARY_NUDGE,
            Notification.created_at >= _naive(state.summary_at) - timedelta(seconds=1))).all()
        if any(payload.get("conversation") == sender for payload in nudged):
            return 0  # this summary had its nudge (another worker's, maybe)
        _follow_up(session, tenant, phone, SUMMARY_NUDGE, now, conversation=sender, summary_at=state.summary_at,
                   items=items, customer_name=_customer_name(session, tenant.id, phone))
    return 1


def withdraw_stale_nudges(tracker: Engine | None, now: datetime | None = None) -> int:
    """Just before the outbox claims what is due: a nudge whose customer confirmed, changed or cancelled the
    order, or wrote at all, since it was written (it may have waited for the quiet hours to end), or whose
    24-hour window closed meanwhile, is skipped with the reason. Returns how many."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(select(Notification.id, Notification.tenant_id, Notification.payload).where(
            Notification.kind == SUMMARY_NUDGE, Notification.status == "pending",
            or_(Notification.not_before.is_(None), Notification.not_before <= now))).all()
    withdrawn = 0
    for row_id, tenant_id, payload in due:
        sender = str(payload.get("conversation") or "")
        _, phone = split_conversation_id(sender)
        reason = ""
        if tracker is None:
            reason = "the conversation cannot be read"
        else:
            with tracker.connect() as conn:
                state = summary_state(conn, sender, float(payload.get("summary_at") or 0) - SCAN_BEFORE)
            reason = why_no_nudge(state, payload.get("summary_at"))
        with session_scope() as session:
            if not reason and not may_message(session, tenant_id, phone, now).free_text:
                reason = "outside the 24-hour window: a nudge is never sent as a template"
            if reason:
                withdrawn += session.execute(update(Notification).where(
                    Notification.id == row_id, Notification.status == "pending",
                ).values(status="skipped", last_error=reason)).rowcount
    return withdrawn


# ---------------------------------------------------------------- reorder suggestion


def schedule_reorder_suggestions(now: datetime | None = None) -> int:
    """Write the reorder suggestion of every order delivered `reorder_after_days` ago (once per order);
    returns how many. When it was delivered is when the customer was told (the order_delivered message)."""
    now = now or utcnow()
    written = 0
    for tenant in get_registry().serving():
        days = tenant.follow_ups.reorder_after_days
        if not days:
            continue
        until = now - timedelta(days=days)
        since = until - REORDER_CATCH_UP
        with session_scope() as session:
            delivered = session.scalars(select(Notification.payload).where(
                Notification.tenant_id == tenant.id, Notification.kind == ORDER_DELIVERED,
                Notification.created_at > since, Notification.created_at <= until)).all()
            references = {str(p.get("order_reference")) for p in delivered if p.get("order_reference")}
            references -= _suggested(session, tenant.id, since)
        for reference in sorted(references):
            written += _suggest_reorder(tenant, reference, since, now)
    return written


def _suggested(session: Session, tenant_id: str, since: datetime) -> set[str]:
    payloads = session.scalars(select(Notification.payload).where(
        Notification.tenant_id == tenant_id, Notification.kind == REORDER, Notification.created_at > since)).all()
    return {str(p.get("order_reference")) for p in payloads}


def _suggest_reorder(tenant: Tenant, reference: str, since: datetime, now: datetime) -> int:
    with session_scope() as session:
        order = order_by_reference(session, tenant.id, reference)
        if order is None or order.status != "delivered" or not is_whatsapp_customer(order.customer.phone):
            return 0
        # Lock the order's row (an UPDATE that changes nothing) and look again: of two workers at once, the
        # second sees the first's suggestion.
        session.execute(update(Order).where(Order.id == order.id, Order.tenant_id == tenant.id)
                        .values(updated_at=Order.updated_at).execution_options(synchronize_session=False))
        if reference in _suggested(session, tenant.id, since):
            return 0
        lines = [line_in_words(line.quantity, line.unit, line.name) for line in order.lines]
        _follow_up(session, tenant, order.customer.phone, REORDER, now, order_reference=order.reference,
                   items=join_words(tenant, lines, "list_and"), example=lines[0] if lines else "",
                   customer_name=order.customer.name)
    return 1

