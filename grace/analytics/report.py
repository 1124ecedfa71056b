"""A tenant's figures over a date range, computed from stored events each time (no counters to drift)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from grace.analytics.events import TrackerFacts, has_events, read_tracker
from grace.analytics.funnel import FunnelStage, build_funnel
from grace.analytics.period import Period
from grace.analytics.store import StoreFacts, read_store
from grace.config import load_settings
from grace.messaging.conversation_events import BROKER_TABLE
from grace.messaging.inbound import split_conversation_id
from grace.money import format_money
from grace.store import session_scope
from grace.tenancy.registry import Tenant, get_registry

TOP_QUESTIONS = 10


@dataclass(frozen=True)
class DayFigures:
    day: date  # in the tenant's timezone
    conversations: int  # conversations in which the customer wrote that day
    new_customers: int  # of those, customers whose first message ever was that day
    returning_customers: int
    customer_turns: int
    fallback_turns: int
    deposits_verified: int
    deposits_verified_minor: int  # in the tenant's currency

    def to_dict(self) -> dict:
        return {**self.__dict__, "day": self.day.isoformat()}


@dataclass(frozen=True)
class Question:
    text: str
    count: int


@dataclass
class AnalyticsReport:
    tenant_id: str
    tenant_name: str
    currency: str
    timezone: str
    start: date
    end: date  # inclusive
    days: list[DayFigures]
    conversations: int  # distinct conversations in which the customer wrote in the range
    new_customers: int  # first message ever within the range
    returning_customers: int
    intents: dict[str, int]  # customer turns per intent, most frequent first
    funnel: list[FunnelStage]
    conversion_rate: float  # conversations that reached a verified deposit / conversations
    deposits_verified: int
    deposits_verified_minor: int
    deposits_verified_text: str
    customer_turns: int
    fallback_turns: int
    fallback_rate: float  # fallback turns / customer turns
    top_unhandled: list[Question]
    # Verified deposits of orders priced in another currency (the tenant changed currency): never summed in.
    other_currency_deposits: dict[str, int] = field(default_factory=dict)

    @property
    def conversations_per_day(self) -> dict[date, int]:
        return {figures.day: figures.conversations for figures in self.days}

    def to_dict(self) -> dict:
        """Plain JSON types only: dates as ISO text, money in minor units plus its display text."""
        return {
            "tenant_id": self.tenant_id, "tenant_name": self.tenant_name, "currency": self.currency,
            "timezone": self.timezone, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "days": [figures.to_dict() for figures in self.days],
            "conversations": self.conversations, "new_customers": self.new_customers,
            "returning_customers": self.returning_customers, "intents": dict(self.intents),
            "funnel": [stage.to_dict() for stage in self.funnel], "conversion_rate": self.conversion_rate,
            "deposits_verified": self.deposits_verified, "deposits_verified_minor": self.deposits_verified_minor,
            "deposits_verified_text": self.deposits_verified_text,
            "other_currency_deposits": dict(self.other_currency_deposits),
            "customer_turns": self.customer_turns, "fallback_turns": self.fallback_turns,
            "fallback_rate": self.fallback_rate,
            "top_unhandled": [{"text": q.text, "count": q.count} for q in self.top_unhandled],
        }


def tenant_report(tenant_id: str, start: date, end: date) -> AnalyticsReport:
    """The tenant's figures from `start` to `end` inclusive, days in the tenant's timezone.
    Blocking (SQL): from async code call it through grace.concurrency.off_loop.
    Raises UnknownTenant, or AnalyticsError for a range that cannot be reported."""
    tenant = get_registry().get(tenant_id)
    period = Period(start, end, tenant.timezone)
    settings = load_settings()
    # The event broker's stream when one feeds the store (scaled profile), else Rasa's tracker store.
    if has_events(settings.database_url, BROKER_TABLE):
        tracker = read_tracker(settings.database_url, tenant.id, period, BROKER_TABLE)
    else:
        tracker = read_tracker(settings.tracker_database_url, tenant.id, period)
    with session_scope() as session:
        store = read_store(session, tenant.id, period)
    return build_report(tenant, period, tracker, store)


def _phone(conversation: str) -> str:
    return split_conversation_id(conversation)[1]


def _utc_ts(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _first_seen(conversation: str, tracker: TrackerFacts, store: StoreFacts) -> float:
    """The earliest trace of the customer: their first message, or their customer row if older
    (a tracker store that was reset or migrated forgets earlier conversations; the app store does not)."""
    seen = [tracker.first_message_ts.get(conversation, float("inf"))]
    if _phone(conversation) in store.first_seen:
        seen.append(_utc_ts(store.first_seen[_phone(conversation)]))
    return min(seen)


def _stages(conversation: str, tracker: TrackerFacts, store: StoreFacts) -> set[str]:
    stages = set(tracker.stages.get(conversation, ()))
    phone = _phone(conversation)
    if phone in store.ordered:
        stages.add("payment_requested")
    if phone in store.proof_sent:
        stages.add("proof")
    if phone in store.verified_phones:
        stages.add("verified")
    return stages


def top_questions(texts: list[str], limit: int = TOP_QUESTIONS) -> list[Question]:
    """The most asked unhandled questions; the same words in other case or spacing are one question,
    shown as customers most often wrote it."""
    variants: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        key = " ".join(text.lower().split())
        if key:
            variants[key][" ".join(text.split())] += 1
    ranked = sorted(variants.values(), key=lambda forms: (-sum(forms.values()), forms.most_common(1)[0][0]))
    return [Question(forms.most_common(1)[0][0], sum(forms.values())) for forms in ranked[:limit]]


def build_report(tenant: Tenant, period: Period, tracker: TrackerFacts, store: StoreFacts) -> AnalyticsReport:
    conversations = sorted({turn.conversation for turn in tracker.turns})
    first_seen = {c: _first_seen(c, tracker, store) for c in conversations}
    funnel = build_funnel({c: _stages(c, tracker, store) for c in conversations})

    active: dict[date, set[str]] = defaultdict(set)
    turns: Counter = Counter()
    for turn in tracker.turns:
        day = period.day_of_ts(turn.timestamp)
        active[day].add(turn.conversation)
        turns[day] += 1
    fallbacks = Counter(period.day_of_utc(turn.at) for turn in store.unhandled)
    deposits: dict[date, list[int]] = defaultdict(list)
    other_currencies: Counter = Counter()
    for deposit in store.verified:
        if deposit.currency == tenant.currency:
            deposits[period.day_of_utc(deposit.verified_at)].append(deposit.amount_minor)
        else:
            other_currencies[deposit.currency] += deposit.amount_minor

    days = []
    for day in period.days:
        new = sum(1 for c in active[day] if period.day_of_ts(first_seen[c]) == day)
        days.append(DayFigures(day, len(active[day]), new, len(active[day]) - new, turns[day], fallbacks[day],
                               len(deposits[day]), sum(deposits[day])))
    new_customers = sum(1 for c in conversations if first_seen[c] >= period.start_ts)
    customer_turns, fallback_turns = len(tracker.turns), len(store.unhandled)
    deposits_minor = sum(figures.deposits_verified_minor for figures in days)
    return AnalyticsReport(
        tenant_id=tenant.id, tenant_name=tenant.name, currency=tenant.currency, timezone=str(tenant.timezone),
        start=period.start, end=period.end, days=days,
        conversations=len(conversations), new_customers=new_customers,
        returning_customers=len(conversations) - new_customers,
        intents=dict(Counter(turn.intent for turn in tracker.turns).most_common()),
        funnel=funnel,
        conversion_rate=funnel[-1].conversations / len(conversations) if conversations else 0.0,
        deposits_verified=sum(figures.deposits_verified for figures in days),
        deposits_verified_minor=deposits_minor,
        deposits_verified_text=format_money(deposits_minor, tenant.currency),
        customer_turns=customer_turns, fallback_turns=fallback_turns,
        fallback_rate=fallback_turns / customer_turns if customer_turns else 0.0,
        top_unhandled=top_questions([turn.text for turn in store.unhandled]),
        other_currency_deposits=dict(other_currencies),
    )
