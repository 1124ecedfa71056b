"""Test data for tests/test_analytics.py (no tests here; the name keeps it among the analytics files).

Conversations saved through Rasa's own SQL tracker store, at chosen times in a tenant's timezone,
and orders, proofs and verified deposits written through the production helpers."""
from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.shop.payments import record_proof, verify_payment
from grace.store import session_scope
from grace.store.models import Customer, FallbackLog
from grace.tenancy.registry import get_registry

LAGOS = ZoneInfo("Africa/Lagos")


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = LAGOS) -> datetime:
    return datetime.combine(day, time(hour, minute), tz)


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


class Conversations:
    """Events per conversation, saved at the end as real trackers."""

    def __init__(self, db_path=None, **store) -> None:
        """A SQLite file at db_path, or the store Rasa's options describe (dialect, host, db...)."""
        self.store = GraceSQLTrackerStore(**(store or {"dialect": "sqlite", "db": str(db_path)}))
        self.events: dict[str, list] = defaultdict(list)

    def says(self, sender: str, at: datetime, text: str, intent: str) -> None:
        self.events[sender] += [UserUttered(text, {"name": intent, "confidence": 0.93}, timestamp=at.timestamp())]

    def grace(self, sender: str, at: datetime, action: str, reply: str = "ok", **slots) -> None:
        ts = at.timestamp() + 1
        self.events[sender] += [ActionExecuted(action, timestamp=ts), BotUttered(reply, timestamp=ts)]
        self.events[sender] += [SlotSet(name, value, timestamp=ts) for name, value in slots.items()]
        self.events[sender] += [ActionExecuted("action_listen", timestamp=ts)]

    def new_session(self, sender: str, at: datetime, **carried) -> None:
        """What Rasa writes when a customer comes back after the session expired: the slots repeated."""
        ts = at.timestamp() - 1
        self.events[sender] += [ActionExecuted("action_session_start", timestamp=ts), SessionStarted(timestamp=ts)]
        self.events[sender] += [SlotSet(name, value, timestamp=ts) for name, value in carried.items()]
        self.events[sender] += [ActionExecuted("action_listen", timestamp=ts)]

    def ops_verified(self, sender: str, at: datetime, reference: str) -> None:
        """Ops' approval delivered as an external event (grace/messaging/rasa_delivery.py): Grace speaks,
        the customer does not."""
        intent = "EXTERNAL_payment_verified"
        self.events[sender] += [UserUttered(f"EXTERNAL: {intent}", {"name": intent, "confidence": 1.0},
                                            timestamp=at.timestamp())]
        self.grace(sender, at, "action_payment_verified", f"Deposit for {reference} confirmed",
                   funnel_stage="paid", order_ref=reference)

    def save(self) -> None:
        for sender, events in self.events.items():
            asyncio.run(self.store.save(DialogueStateTracker.from_events(sender, events)))
        self.store.engine.dispose()


def paid_order(tenant_id: str, phone: str, *, verify: bool = True) -> tuple[str, int]:
    """An order for six yards of the first fabric, with proof of payment; verified by ops if asked.
    Returns (reference, deposit in minor units)."""
    tenant = get_registry().get(tenant_id)
    with session_scope() as session:
        customer = get_or_create_customer(session, tenant.id, phone)
        quote = build_quote(tenant, [{"sku": tenant.catalog.fabrics[0].sku, "qty": 6}], None, tenant.now().date())
        order = place_order(session, tenant, customer, quote)
        record_proof(session, tenant, order, proof_url=None, content_type=None, text="I don pay")
        reference, deposit = order.reference, order.deposit_minor
    if verify:
        with session_scope() as session:
            verify_payment(session, tenant, reference)
    return reference, deposit


def customer_since(tenant_id: str, phone: str, first_seen: datetime) -> None:
    """A customer the app store knew before the tracker store did (e.g. the tracker store was reset)."""
    with session_scope() as session:
        session.add(Customer(tenant_id=tenant_id, phone=phone, preferences={}, first_seen_at=naive_utc(first_seen)))


def unhandled(tenant_id: str, at: datetime, text: str, answered_by: str = "library") -> None:
    """A row of the learning log, as actions/base.py log_fallback writes it."""
    with session_scope() as session:
        session.add(FallbackLog(tenant_id=tenant_id, conversation_id=f"{tenant_id}:+2340000000000", text=text,
                                intent="nlu_fallback", confidence=0.3, intent_ranking=[], funnel_stage="start",
                                answered_by=answered_by, created_at=naive_utc(at)))


def copy_tenant(tenants_dir, source: str, new_id: str) -> None:
    shutil.copytree(tenants_dir / source, tenants_dir / new_id)


def days_ago(today: date, n: int) -> date:
    return today - timedelta(days=n)
