"""Broadcasts: one approved WhatsApp template sent to a segment of the business's opted-in contacts, now or at
a time the owner sets, at a pace the owner sets.

A broadcast's life: draft (saved, nothing sent; the count and a test send are offered), scheduled (due at
`scheduled_at`), sending, then sent; or cancelled at any point before it is sent. Who receives it is decided
when sending starts, not when it was written: the segment's contacts at that moment (grace.shop.contact_book:
opted in, never an opted-out number, never the business's own ops numbers), less the numbers the provider
said cannot receive WhatsApp messages, are frozen into `broadcast_recipients`. A contact who opts out after
that is skipped when its turn comes (grace.whatsapp.broadcasting checks again just before sending).

Each recipient is pending, sending (claimed by one outbox worker), sent, skipped (with the reason) or failed
(with the provider's error code). Its `sent_at` is when a message to it was last handed to the provider (the
claim; cleared when the provider took nothing: a rate limit, a skip). The pace is counted on it: at most
`rate_per_minute` in any 60 seconds, and at most a sixth of that in any 10 seconds (a minute's allowance is
spread over the minute, not sent in one burst). Claims take a lock on the broadcast's row first (a write:
PostgreSQL's row lock, SQLite's write lock), so several outbox workers claiming at once never exceed the pace
nor take the same recipient.

When the provider says "too many requests" (HTTP 429, or its rate-limit codes), the recipients go back to
pending and the whole broadcast waits until its `paused_until`: BACKOFF_START doubled for each rate limit in a
row, at most BACKOFF_CAP. Other failures are tried again up to MAX_SEND_ATTEMPTS times; a refusal of the
message itself (e.g. "not a WhatsApp number") fails at once.

The business's plan (grace.tenancy.plans) allows so many broadcast messages a month: a broadcast is not scheduled
when its recipients exceed what is left (less what the business's broadcasts being sent still have to send), and a
broadcast being sent waits, its pending recipients saying why, once the month's allowance is used up; it goes on
by itself on the 1st of next month or on a bigger plan. Each message the provider takes is counted.

Times are naive UTC in the store, like everywhere; the owner enters the schedule in the business's own timezone.
Every query is scoped by the tenant's id.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.message_states import FAILED, counts, unreachable_among
from grace.shop.contact_book import TEMPLATE_FIELDS, ContactView, Segment, SegmentError, get_contact, select_contacts
from grace.store.models import Broadcast, BroadcastRecipient, Contact, OutboundMessage, utcnow
from grace.tenancy.plans import BROADCAST_MESSAGES, plan_of
from grace.tenancy.registry import Tenant
from grace.tenancy.usage import add as count_usage
from grace.tenancy.usage import first_of, month_name, month_of, month_usage, next_month

DRAFT, SCHEDULED, SENDING, SENT, CANCELLED = "draft", "scheduled", "sending", "sent", "cancelled"
# A recipient's states; "sending" is a claim in progress (an outbox worker is handing it to the provider).
PENDING, CLAIMED, DONE, SKIPPED, FAILED_RECIPIENT = "pending", "sending", "sent", "skipped", "failed"
RECIPIENT_STATUSES = (PENDING, CLAIMED, DONE, SKIPPED, FAILED_RECIPIENT)

# The highest pace an owner may set (a list of 10,000 in 10 minutes). One outbox worker keeps up with it while the
# provider answers a send within a quarter of a second (grace.whatsapp.broadcasting.SEND_CONCURRENCY).
MAX_RATE_PER_MINUTE = 1000
DEFAULT_RATE_PER_MINUTE = 60
MAX_BATCH = 100  # recipients one claim takes at most: one outbox round stays short beside the other messages
MAX_NAME_CHARS = 120  # broadcasts.name
MAX_VARIABLES = 10
MAX_SCHEDULE_AHEAD = timedelta(days=365)
MAX_SEND_ATTEMPTS = 3  # each one is itself retried by the HTTP client (grace.whatsapp.http) on 5xx and timeouts
BACKOFF_START = timedelta(seconds=15)
BACKOFF_CAP = timedelta(minutes=10)
STUCK_AFTER = timedelta(minutes=10)  # a claim this old belongs to a worker that stopped: tried again
CANCELLED_DETAIL = "cancelled"
HELD = "waiting: "  # a pending recipient's detail while the business's plan holds the broadcast
OPTED_OUT_SINCE = "opted out (STOP) after the broadcast started"
TWILIO_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
META_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's rule for template names
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")  # Meta's template language codes: en, en_US, pt_BR, fil
_ERROR_CODE = re.compile(r"^error (\w+): ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BroadcastError(GraceError):
    """A broadcast that cannot be made or changed as asked; `field` names the form field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class BroadcastNotFound(BroadcastError):
    """No such broadcast for this business (another business's id is not found either)."""

    def __init__(self, broadcast_id: object) -> None:
        super().__init__("id", f"no broadcast {broadcast_id}")


# Making one ---------------------------------------------------------------------------------------------


def channels_of(tenant: Tenant) -> tuple[str, ...]:
    """The providers the business's files name: Twilio with a WhatsApp number, Meta with a phone number id."""
    found = []
    if tenant.whatsapp_numbers:
        found.append("twilio")
    if tenant.extra.get("meta_phone_number_id"):
        found.append("meta")
    return tuple(found)


def checked_template(tenant: Tenant, given: object) -> dict:
    """{"twilio_content_sid", "meta_name", "language"} for the business's provider(s): a Content SID (HX and 32
    hex digits) for Twilio, an approved template's name for Meta; at least one the business can send with."""
    if not isinstance(given, dict):
        raise BroadcastError("template", "give the approved template: a Twilio Content SID or a Meta template name")
    sid = str(given.get("twilio_content_sid") or "").strip()
    name = str(given.get("meta_name") or "").strip()
    language = str(given.get("language") or "en").strip()
    if sid and not TWILIO_CONTENT_SID.match(sid):
        raise BroadcastError("template", f"{sid!r} is not a Twilio Content SID (HX followed by 32 hex digits)")
    if name and not META_TEMPLATE_NAME.match(name):
        raise BroadcastError("template", f"{name!r} is not a Meta template name (lower-case letters, digits and _)")
    if not LANGUAGE.match(language):
        raise BroadcastError("template", f"{language!r} is not a template language code like en or en_US")
    channels = channels_of(tenant)
    usable = ("twilio" in channels and sid) or ("meta" in channels and name)
    if not usable:
        wanted = " or ".join(
            {"twilio": "a Twilio Content SID (HX...)", "meta": "a Meta template name"}[c] for c in channels)
        raise BroadcastError("template", f"{tenant.name} sends through {' and '.join(channels) or 'no provider'}: "
                                         f"give {wanted or 'a provider in tenant.yml first'}")
    return {"twilio_content_sid": sid, "meta_name": name, "language": language}


def checked_variables(given: object) -> list[str]:
    """The contact field for each template variable ({{1}}, {{2}}, ...), in order."""
    if given in (None, ""):
        return []
    if not isinstance(given, (list, tuple)) or not all(isinstance(v, str) for v in given):
        raise BroadcastError("variables", "a list of contact fields, one per template variable in order")
    if len(given) > MAX_VARIABLES:
        raise BroadcastError("variables", f"at most {MAX_VARIABLES} template variables")
    for position, name in enumerate(given, 1):
        if name not in TEMPLATE_FIELDS:
            raise BroadcastError("variables", f"{{{{{position}}}}} is {name!r}, not a contact field; use one of "
                                              f"{', '.join(TEMPLATE_FIELDS)}")
    return list(given)


def checked_segment(given: object) -> Segment:
    """The segment; broadcasts reach opted-in contacts only (WhatsApp's policy: people must have agreed to hear
    from the business), so a segment reaching numbers never asked is refused."""
    try:
        if isinstance(given, Segment):
            segment = given
        elif isinstance(given, dict) or given is None:
            segment = Segment.from_dict(given or {})
        else:
            raise SegmentError("a segment is an object of labels, categories, city, last order days")
    except (SegmentError, TypeError) as exc:
        raise BroadcastError("segment", str(exc)) from None
    if not segment.opted_in_only:
        raise BroadcastError("segment", "a broadcast goes to opted-in contacts only: WhatsApp allows business-"
                                        "initiated messages only to people who agreed to receive them")
    return segment


def checked_rate(given: object) -> int:
    if given in (None, ""):
        return DEFAULT_RATE_PER_MINUTE
    if isinstance(given, str) and given.strip().isdigit():
        given = int(given.strip())
    if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= MAX_RATE_PER_MINUTE:
        raise BroadcastError("rate_per_minute",
                             f"a whole number of messages a minute from 1 to {MAX_RATE_PER_MINUTE:,}")
    return given


def checked_name(given: object) -> str:
    name = " ".join(_CONTROL.sub(" ", given).split()) if isinstance(given, str) else ""
    if not name:
        raise BroadcastError("name", "give the broadcast a name, e.g. \"Owambe season new arrivals\"")
    if len(name) > MAX_NAME_CHARS:
        raise BroadcastError("name", f"at most {MAX_NAME_CHARS} characters")
    return name


def send_time(tenant: Tenant, given: object, now: datetime | None = None) -> datetime:
    """When to send (naive UTC), from the owner's words: "now", or a date and time in the business's own
    timezone ("2026-12-01T09:00"; with an offset or Z it is taken as given). It must be in the future, and
    within a year."""
    moment = now or utcnow()
    if isinstance(given, str) and given.strip().lower() == "now":
        return moment
    if isinstance(given, datetime):
        when = given
    else:
        try:
            when = datetime.fromisoformat(str(given or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise BroadcastError("send_at", f"{given!r} is not a date and time like 2026-12-01T09:00 "
                                            f"({tenant.timezone.key} time)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tenant.timezone)
    utc = when.astimezone(timezone.utc).replace(tzinfo=None)
    if utc <= moment:
        raise BroadcastError("send_at", f"{local_time(tenant, utc)} has passed: choose a time in the future "
                                        f"({tenant.timezone.key} time), or send now")
    if utc > moment + MAX_SCHEDULE_AHEAD:
        raise BroadcastError("send_at", "schedule at most a year ahead")
    return utc


def local_time(tenant: Tenant, moment: datetime | None) -> str:
    """A stored (naive UTC) time as the business reads it: "2026-12-01 09:00 WAT"."""
    if moment is None:
        return ""
    local = tenant.local(moment)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or tenant.timezone.key)


def create_broadcast(session: Session, tenant: Tenant, *, name: object, template: object, variables: object = None,
                     segment: object = None, rate_per_minute: object = None, send_at: object = None,
                     created_by: str = "", now: datetime | None = None) -> Broadcast:
    """A new broadcast, checked field by field (BroadcastError names the field): a draft, or scheduled when
    `send_at` is given ("now" or a time in the business's timezone)."""
    row = Broadcast(tenant_id=tenant.id, name=checked_name(name), template=checked_template(tenant, template),
                    variables=checked_variables(variables), segment=checked_segment(segment).to_dict(),
                    rate_per_minute=checked_rate(rate_per_minute), status=DRAFT, created_by=created_by[:254] or None,
                    created_at=now or utcnow())
    if send_at not in (None, ""):
        row.status, row.scheduled_at = SCHEDULED, send_time(tenant, send_at, now)
        check_plan_room(session, tenant, row.segment, row.scheduled_at, now)
    session.add(row)
    session.flush()
    return row


def get_broadcast(session: Session, tenant: Tenant, broadcast_id: object) -> Broadcast:
    """This business's broadcast; BroadcastNotFound for another business's id or none."""
    found = None
    if isinstance(broadcast_id, int) and not isinstance(broadcast_id, bool):
        found = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id,
                                                        Broadcast.tenant_id == tenant.id)).first()
    if found is None:
        raise BroadcastNotFound(broadcast_id)
    return found


def list_broadcasts(session: Session, tenant: Tenant) -> list[Broadcast]:
    """Newest first."""
    return list(session.scalars(select(Broadcast).where(Broadcast.tenant_id == tenant.id)
                                .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())))


def schedule_broadcast(session: Session, tenant: Tenant, broadcast_id: int, send_at: object,
                       now: datetime | None = None) -> Broadcast:
    """Send a draft (or move a scheduled one) now or at a later time; the outbox worker starts it when due."""
    row = get_broadcast(session, tenant, broadcast_id)
    when = send_time(tenant, send_at, now)
    check_plan_room(session, tenant, row.segment, when, now)
    changed = session.execute(update(Broadcast).where(
        Broadcast.id == row.id, Broadcast.status.in_((DRAFT, SCHEDULED))).values(status=SCHEDULED, scheduled_at=when))
    if changed.rowcount != 1:
        raise BroadcastError("status", f"the broadcast is {row.status}: only a draft or a scheduled one can be "
                                       f"scheduled")
    session.refresh(row)
    return row


def cancel_broadcast(session: Session, tenant: Tenant, broadcast_id: int, now: datetime | None = None) -> Broadcast:
    """Stop it: a draft or scheduled one never goes; a sending one stops, its pending recipients skipped as
    cancelled (a message a worker is handing to the provider at this moment still goes)."""
    row = get_broadcast(session, tenant, broadcast_id)
    moment = now or utcnow()
    changed = session.execute(update(Broadcast).where(
        Broadcast.id == row.id, Broadcast.status.in_((DRAFT, SCHEDULED, SENDING))).values(
        status=CANCELLED, finished_at=moment))
    if changed.rowcount != 1:
        raise BroadcastError("status", f"the broadcast is already {row.status}")
    session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == PENDING).values(
        status=SKIPPED, detail=CANCELLED_DETAIL, sent_at=None))
    session.refresh(row)
    return row


# Who it reaches -----------------------------------------------------------------------------------------


def reachable_contacts(session: Session, tenant: Tenant, segment: Segment,
                       now: datetime | None = None) -> list[ContactView]:
    """Who a broadcast to `segment` would go to now: its opted-in contacts (never an opted-out one), less the
    numbers the provider said cannot receive WhatsApp messages."""
    contacts = select_contacts(session, tenant, segment, now)
    unreachable = unreachable_among(session, tenant.id, {c.phone for c in contacts})
    return [c for c in contacts if c.phone not in unreachable]


def count_recipients(session: Session, tenant: Tenant, segment: object, now: datetime | None = None) -> int:
    """The count shown before sending: "will go to N opted-in contacts"."""
    return len(reachable_contacts(session, tenant, checked_segment(segment), now))


# The plan's allowance ---------------------------------------------------------------------------------


def plan_room(session: Session, tenant_id: str, month: str) -> int | None:
    """Broadcast messages the business's plan still allows in `month` (0 when used up); None: unlimited."""
    limit = plan_of(session, tenant_id).limit(BROADCAST_MESSAGES)
    if limit is None:
        return None
    used = month_usage(session, tenant_id, month)[BROADCAST_MESSAGES]
    return max(limit - used, 0)


def _waiting(session: Session, tenant_id: str, statuses: tuple[str, ...]) -> int:
    """Recipients of the business's broadcasts being sent in these states."""
    return session.scalar(select(func.count()).select_from(BroadcastRecipient).join(
        Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id).where(
        BroadcastRecipient.tenant_id == tenant_id, Broadcast.tenant_id == tenant_id, Broadcast.status == SENDING,
        BroadcastRecipient.status.in_(statuses))) or 0


def check_plan_room(session: Session, tenant: Tenant, segment: dict, when: datetime,
                    now: datetime | None = None) -> None:
    """BroadcastError when the broadcast's recipients (as its segment reaches them now) exceed what the plan
    leaves in the month it is sent, less what the business's broadcasts being sent still have to send."""
    month = month_of(when)
    room = plan_room(session, tenant.id, month)
    if room is None:
        return
    if month == month_of(now):
        room = max(room - _waiting(session, tenant.id, (PENDING, CLAIMED)), 0)
    reach = len(reachable_contacts(session, tenant, Segment.from_dict(segment), now))
    if reach > room:
        plan = plan_of(session, tenant.id)
        raise BroadcastError("segment", (
            f"this broadcast would go to {reach:,} contact{'' if reach == 1 else 's'}, but the {plan.name} plan "
            f"has {room:,} of its {plan.limit(BROADCAST_MESSAGES):,} broadcast messages left for "
            f"{month_name(month)}: choose a smaller segment, send it from {first_of(next_month(month))}, or ask "
            f"for a bigger plan"))


def plan_hold(session: Session, tenant_id: str, now: datetime | None = None) -> str:
    """Why the business's broadcasts being sent wait for its plan ("" when they do not)."""
    month = month_of(now)
    room = plan_room(session, tenant_id, month)
    if room is None or room - _waiting(session, tenant_id, (CLAIMED,)) > 0:
        return ""
    plan = plan_of(session, tenant_id)
    return (f"{HELD}the {plan.name} plan's {plan.limit(BROADCAST_MESSAGES):,} broadcast messages for "
            f"{month_name(month)} are used up; sending goes on from {first_of(next_month(month))} or on a bigger plan")


# Sending (driven by grace.whatsapp.broadcasting in the outbox worker) ------------------------------------


def due_broadcasts(session: Session, now: datetime | None = None) -> list[tuple[int, str]]:
    """(id, tenant id) of every business's scheduled broadcasts whose time has come, oldest first."""
    return [(i, t) for i, t in session.execute(select(Broadcast.id, Broadcast.tenant_id).where(
        Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= (now or utcnow())).order_by(Broadcast.scheduled_at))]


def sending_broadcasts(session: Session) -> list[tuple[int, str]]:
    """(id, tenant id) of every business's broadcasts being sent."""
    return [(i, t) for i, t in session.execute(select(Broadcast.id, Broadcast.tenant_id).where(
        Broadcast.status == SENDING).order_by(Broadcast.id))]


def start_broadcast(session: Session, tenant: Tenant, broadcast_id: int, now: datetime | None = None) -> int | None:
    """Start a due scheduled broadcast: its recipients are frozen from its segment now. None when it was not
    this call's to start (another worker did, it was cancelled, or it is not due); else how many recipients.
    The switch to sending and the recipients are one transaction: nobody sees it sending without them."""
    moment = now or utcnow()
    row = get_broadcast(session, tenant, broadcast_id)
    taken = session.execute(update(Broadcast).where(
        Broadcast.id == row.id, Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= moment).values(
        status=SENDING, started_at=moment))
    if taken.rowcount != 1:
        return None
    contacts = reachable_contacts(session, tenant, Segment.from_dict(row.segment), moment)
    if contacts:
        session.execute(insert(BroadcastRecipient), [
            {"broadcast_id": row.id, "tenant_id": tenant.id, "phone": c.phone, "status": PENDING} for c in contacts])
    finish_if_done(session, row.id, moment)
    return len(contacts)


def _lock(session: Session, broadcast_id: int) -> bool:
    """Take the broadcast's row for this transaction (a write that changes nothing): claims and outcomes of
    several workers on one broadcast then happen one after the other. False when it is not sending."""
    return session.execute(update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == SENDING)
                           .values(status=SENDING)).rowcount == 1


@dataclass(frozen=True)
class Claimed:
    """A recipient this worker is to send to now."""

    id: int
    phone: str


@dataclass(frozen=True)
class Claim:
    recipients: list[Claimed]
    paused_until: datetime | None = None  # the provider's rate limit: nothing is claimed before then
    finished: bool = False
    held: str = ""  # why nothing goes until the plan allows it (its month's broadcast messages are used up)


def claimed_in(session: Session, broadcast_id: int, since: datetime) -> int:
    """Messages of the broadcast handed to the provider since `since` (the pace is counted on this)."""
    return session.scalar(select(func.count()).select_from(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.sent_at > since)) or 0


def claim_recipients(session: Session, broadcast_id: int, now: datetime | None = None) -> Claim:
    """Take the next recipients to send to, as many as the pace allows now (at most rate_per_minute in any 60
    seconds, a sixth of it in any 10 seconds, MAX_BATCH at once); none while the broadcast waits out a rate
    limit. Atomic across workers (_lock); commit before sending."""
    moment = now or utcnow()
    if not _lock(session, broadcast_id):
        return Claim([], finished=True)
    row = session.get(Broadcast, broadcast_id)
    assert row is not None  # _lock found it
    session.execute(update(BroadcastRecipient).where(  # claims of a worker that stopped mid-send
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == CLAIMED,
        BroadcastRecipient.sent_at < moment - STUCK_AFTER).values(status=PENDING))
    if row.paused_until is not None and row.paused_until > moment:
        return Claim([], paused_until=row.paused_until)
    rate = row.rate_per_minute
    allowance = min(rate - claimed_in(session, broadcast_id, moment - timedelta(seconds=60)),
                    math.ceil(rate / 6) - claimed_in(session, broadcast_id, moment - timedelta(seconds=10)), MAX_BATCH)
    room = plan_room(session, row.tenant_id, month_of(moment))
    if room is not None:  # less what other claims of the business are handing to the provider now
        room -= _waiting(session, row.tenant_id, (CLAIMED,))
        if room <= 0:
            return _held(session, row, moment)
        allowance = min(allowance, room)
        session.execute(update(BroadcastRecipient).where(  # a bigger plan or a new month: no longer waiting
            BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == PENDING,
            BroadcastRecipient.detail.like(HELD + "%")).values(detail=None)
            .execution_options(synchronize_session=False))
    if allowance <= 0:
        return Claim([])
    rows = session.execute(select(BroadcastRecipient.id, BroadcastRecipient.phone).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == PENDING,
    ).order_by(BroadcastRecipient.id).limit(allowance)).all()
    if not rows:
        return Claim([], finished=finish_if_done(session, broadcast_id, moment))
    session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.id.in_([r.id for r in rows]), BroadcastRecipient.status == PENDING).values(
        status=CLAIMED, sent_at=moment))
    return Claim([Claimed(r.id, r.phone) for r in rows])


def _held(session: Session, row: Broadcast, moment: datetime) -> Claim:
    """The plan's allowance is used up: the pending recipients say why and wait (nothing is lost)."""
    if finish_if_done(session, row.id, moment):
        return Claim([], finished=True)
    return Claim([], held=_say_held(session, row, moment))


def _say_held(session: Session, row: Broadcast, moment: datetime) -> str:
    """Write why the broadcast waits on its pending recipients, when its plan holds it; the reason or ""."""
    reason = plan_hold(session, row.tenant_id, moment)
    if reason:
        session.execute(update(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == PENDING,
            or_(BroadcastRecipient.detail.is_(None), BroadcastRecipient.detail != reason)).values(detail=reason))
    return reason


def finish_if_done(session: Session, broadcast_id: int, now: datetime | None = None) -> bool:
    """Mark a sending broadcast sent once none of its recipients is pending or being sent; True when it is."""
    waiting = exists().where(BroadcastRecipient.broadcast_id == broadcast_id,
                             BroadcastRecipient.status.in_((PENDING, CLAIMED)))
    return session.execute(update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == SENDING, ~waiting)
                           .values(status=SENT, finished_at=now or utcnow())
                           .execution_options(synchronize_session=False)).rowcount == 1


@dataclass(frozen=True)
class Delivery:
    """A claimed recipient made ready: the template's variables from its contact fields, the provider it last
    wrote through, or why it is not sent after all."""

    recipient_id: int
    phone: str
    variables: list[str]
    channel: str | None = None
    skip: str = ""


def prepare(session: Session, tenant: Tenant, broadcast: Broadcast, claimed: list[Claimed]) -> list[Delivery]:
    """Just before sending: a contact that opted out (STOP) since the broadcast started, or that the provider
    since said is not on WhatsApp, is skipped with the reason; the others get their variables."""
    phones = {c.phone for c in claimed}
    contacts = {row.phone: row for row in session.scalars(select(Contact).where(
        Contact.tenant_id == tenant.id, Contact.phone.in_(phones)))}
    unreachable = unreachable_among(session, tenant.id, phones)
    ready = []
    for c in claimed:
        row = contacts.get(c.phone)
        if row is None:
            ready.append(Delivery(c.id, c.phone, [], skip="no longer a contact of the business"))
        elif row.opted_out_at is not None:
            ready.append(Delivery(c.id, c.phone, [], skip=OPTED_OUT_SINCE))
        elif c.phone in unreachable:
            ready.append(Delivery(c.id, c.phone, [], skip="not a WhatsApp number"))
        else:
            view = get_contact(session, tenant, c.phone)
            values = [view.value(name) if view is not None else "" for name in broadcast.variables]
            ready.append(Delivery(c.id, c.phone, values, row.channel or None))
    return ready


SENT_RESULT, FAILED_RESULT, RETRY, SKIP, RATE_LIMITED, NOT_TRIED = (
    "sent", "failed", "retry", "skipped", "rate_limited", "not_tried")


@dataclass(frozen=True)
class Result:
    """How one claimed recipient went: sent; failed for good (`code`: the provider's error code); retry (a
    failure that may mend); skipped (the reason); rate_limited (the provider asked to slow down); not_tried
    (the batch stopped before it)."""

    recipient_id: int
    result: str
    detail: str = ""
    code: str = ""


def record_results(session: Session, broadcast_id: int, results: list[Result], now: datetime | None = None) -> str:
    """Keep how each claimed recipient went and pause the broadcast after a rate limit; the broadcast's status
    afterwards (sent once nobody is left). Recipients of a broadcast cancelled meanwhile that would go back to
    pending are skipped as cancelled."""
    moment = now or utcnow()
    sending = _lock(session, broadcast_id)
    row = session.get(Broadcast, broadcast_id)
    assert row is not None
    claimed = {r.id: r for r in session.scalars(select(BroadcastRecipient).where(
        BroadcastRecipient.id.in_([r.recipient_id for r in results]), BroadcastRecipient.status == CLAIMED))}
    provider_ids = _provider_ids(session, row, [r.phone for r in claimed.values()])
    limited_in_a_row = 0
    took = 0
    for result in results:
        recipient = claimed.get(result.recipient_id)
        if recipient is None:  # released as stuck and taken by another worker meanwhile
            continue
        if result.result == SENT_RESULT:
            took += 1
            recipient.status, recipient.detail = DONE, None
            recipient.provider_id = provider_ids.get(recipient.phone)
        elif result.result == SKIP:
            recipient.status, recipient.detail, recipient.sent_at = SKIPPED, result.detail[:1000], None
        elif result.result == FAILED_RESULT:
            recipient.status, recipient.detail = FAILED_RECIPIENT, _failure(result)
        elif result.result == RETRY:
            recipient.attempts += 1
            if recipient.attempts >= MAX_SEND_ATTEMPTS:
                recipient.status, recipient.detail = FAILED_RECIPIENT, _failure(result)
            else:  # its sent_at stays: the attempt counts towards the pace
                recipient.status = PENDING
                recipient.detail = f"attempt {recipient.attempts} failed: {result.detail}"[:1000]
        elif result.result == RATE_LIMITED:  # the provider took nothing: the attempt does not count
            recipient.rate_limited += 1
            limited_in_a_row = max(limited_in_a_row, recipient.rate_limited)
            recipient.status, recipient.sent_at = PENDING, None
            recipient.detail = (f"rate limited by the provider ({recipient.rate_limited} in a row): "
                                f"{result.detail}")[:1000]
        else:
            recipient.status, recipient.sent_at = PENDING, None
        if recipient.status == PENDING and not sending:  # cancelled meanwhile
            recipient.status, recipient.detail, recipient.sent_at = SKIPPED, CANCELLED_DETAIL, None
    session.flush()
    if took:
        count_usage(session, row.tenant_id, BROADCAST_MESSAGES, took, moment)
    if limited_in_a_row and sending:
        row.paused_until = moment + backoff(limited_in_a_row)
    if sending and not finish_if_done(session, broadcast_id, moment) and took:
        _say_held(session, row, moment)  # the owner reads why the rest waits as soon as the plan is used up
    session.flush()
    session.refresh(row)
    return row.status


def backoff(in_a_row: int) -> timedelta:
    """How long a broadcast waits after the provider's rate limit: BACKOFF_START, doubled for each rate limit in
    a row, at most BACKOFF_CAP."""
    return min(BACKOFF_CAP, BACKOFF_START * 2 ** min(max(in_a_row - 1, 0), 20))


def _failure(result: Result) -> str:
    return (f"error {result.code}: {result.detail}" if result.code else result.detail)[:1000]


def error_code_of(detail: str | None) -> str:
    """The provider's error code in a failed recipient's detail ("error 63003: ..."), "" when there is none."""
    found = _ERROR_CODE.match(detail or "")
    return found.group(1) if found else ""


def _provider_ids(session: Session, broadcast: Broadcast, phones: list[str]) -> dict[str, str]:
    """The provider's id of the newest message of this broadcast to each number (the clients recorded it)."""
    if not phones:
        return {}
    found: dict[str, str] = {}
    for phone, provider_id in session.execute(select(OutboundMessage.to_phone, OutboundMessage.provider_id).where(
            OutboundMessage.tenant_id == broadcast.tenant_id, OutboundMessage.broadcast_id == broadcast.id,
            OutboundMessage.to_phone.in_(phones)).order_by(OutboundMessage.id)):
        found[phone] = provider_id
    return found


def sample_variables(session: Session, tenant: Tenant, broadcast: Broadcast) -> tuple[list[str], str]:
    """Variables for a test send and whose they are: the first contact the broadcast would reach now, so the
    owner reads what a customer will; "[field]" for what it lacks (or for every field when nobody matches)."""
    contacts = reachable_contacts(session, tenant, Segment.from_dict(broadcast.segment))
    first = contacts[0] if contacts else None
    values = [(first.value(name) if first else "") or f"[{name}]" for name in broadcast.variables]
    return values, (first.name or first.phone) if first else ""


# Replies ------------------------------------------------------------------------------------------------


def replies_of(session: Session, broadcast_id: int, limit: int = 50) -> list[tuple[str, datetime]]:
    """(phone, when) of the recipients who wrote back within 72 hours of their message (set where inbound messages
    are recorded: grace.messaging.contacts.note_broadcast_reply), newest first."""
    return [(p, at) for p, at in session.execute(
        select(BroadcastRecipient.phone, BroadcastRecipient.replied_at).where(
            BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.replied_at.is_not(None))
        .order_by(BroadcastRecipient.replied_at.desc()).limit(limit))]


# The report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    phone: str
    code: str  # the provider's error code ("" when it gave none: a network error, a 5xx)
    detail: str
    when: str  # "refused" (the send itself failed) or "reported" (accepted, then the provider said it failed)


@dataclass
class Report:
    """What became of a broadcast: recipients per status, its messages per state (the providers' receipts),
    replies, opt-outs since, and failures with the provider's error codes."""

    broadcast: Broadcast
    recipients: dict[str, int]
    states: dict[str, int]
    replies: int
    opted_out_after: int  # recipients who sent STOP after their message
    skipped: dict[str, int]  # reason -> how many
    failures: list[Failure] = field(default_factory=list)
    failure_codes: dict[str, int] = field(default_factory=dict)  # code -> how many ("" for none)
    latest_replies: list[tuple[str, datetime]] = field(default_factory=list)
    held: str = ""  # why it waits for the business's plan ("" when it does not)

    @property
    def total(self) -> int:
        return sum(self.recipients.values())


MAX_FAILURES_LISTED = 200


def broadcast_report(session: Session, tenant: Tenant, broadcast_id: int) -> Report:
    row = get_broadcast(session, tenant, broadcast_id)
    found = dict(session.execute(select(BroadcastRecipient.status, func.count()).where(
        BroadcastRecipient.broadcast_id == row.id).group_by(BroadcastRecipient.status)).all())
    recipients = {status: int(found.get(status, 0)) for status in RECIPIENT_STATUSES}
    replies = session.scalar(select(func.count()).select_from(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.replied_at.is_not(None))) or 0
    opted_out = session.scalar(select(func.count()).select_from(BroadcastRecipient).join(
        Contact, and_(Contact.tenant_id == BroadcastRecipient.tenant_id, Contact.phone == BroadcastRecipient.phone)
    ).where(BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == DONE,
            Contact.opted_out_at > BroadcastRecipient.sent_at)) or 0
    skipped = dict(session.execute(select(BroadcastRecipient.detail, func.count()).where(
        BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == SKIPPED)
        .group_by(BroadcastRecipient.detail)).all())
    failures = [Failure(phone, error_code_of(detail), detail or "", "refused") for phone, detail in session.execute(
        select(BroadcastRecipient.phone, BroadcastRecipient.detail).where(
            BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == FAILED_RECIPIENT)
        .order_by(BroadcastRecipient.id))]
    refused = {f.phone for f in failures}
    for phone, code, detail in session.execute(
            select(OutboundMessage.to_phone, OutboundMessage.error_code, OutboundMessage.error_detail).where(
                OutboundMessage.tenant_id == tenant.id, OutboundMessage.broadcast_id == row.id,
                OutboundMessage.status == FAILED).order_by(OutboundMessage.id)):
        if phone not in refused:  # a refused send is recorded as a failed message too: counted once
            failures.append(Failure(phone, code or "", detail or "", "reported"))
    codes: dict[str, int] = {}
    for failure in failures:
        codes[failure.code] = codes.get(failure.code, 0) + 1
    held = ""
    if row.status == SENDING:  # as the last claim found the plan
        held = session.scalars(select(BroadcastRecipient.detail).where(
            BroadcastRecipient.broadcast_id == row.id, BroadcastRecipient.status == PENDING,
            BroadcastRecipient.detail.like(HELD + "%")).limit(1)).first() or ""
    return Report(row, recipients, counts(session, tenant.id, row.id), int(replies), int(opted_out),
                  {str(k or ""): int(v) for k, v in skipped.items()}, failures[:MAX_FAILURES_LISTED], codes,
                  replies_of(session, row.id), held)


def recipient_totals(session: Session, tenant: Tenant) -> dict[int, dict[str, int]]:
    """Per broadcast of the business: recipients per status and replies (for the list), in two queries."""
    totals: dict[int, dict[str, int]] = {}
    for broadcast_id, status, count in session.execute(
            select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status, func.count())
            .where(BroadcastRecipient.tenant_id == tenant.id)
            .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status)):
        totals.setdefault(broadcast_id, {s: 0 for s in (*RECIPIENT_STATUSES, "replies")})[status] = int(count)
    for broadcast_id, count in session.execute(
            select(BroadcastRecipient.broadcast_id, func.count()).where(
                BroadcastRecipient.tenant_id == tenant.id, BroadcastRecipient.replied_at.is_not(None))
            .group_by(BroadcastRecipient.broadcast_id)):
        totals.setdefault(broadcast_id, {s: 0 for s in (*RECIPIENT_STATUSES, "replies")})["replies"] = int(count)
    return totals


def paused_until(row: Broadcast, now: datetime | None = None) -> datetime | None:
    """When a sending broadcast resumes after the provider's rate limit; None when it is not waiting."""
    moment = now or utcnow()
    return row.paused_until if row.status == SENDING and row.paused_until and row.paused_until > moment else None


def broadcast_json(tenant: Tenant, row: Broadcast, now: datetime | None = None) -> dict:
    """For the API: times in UTC with Z (and the schedule as the business reads it)."""
    return {"id": row.id, "name": row.name, "status": row.status, "template": dict(row.template),
            "variables": list(row.variables), "segment": dict(row.segment),
            "segment_description": Segment.from_dict(row.segment).describe(), "rate_per_minute": row.rate_per_minute,
            "scheduled_at": _iso(row.scheduled_at), "scheduled_local": local_time(tenant, row.scheduled_at) or None,
            "paused_until": _iso(paused_until(row, now)), "created_by": row.created_by,
            "created_at": _iso(row.created_at), "started_at": _iso(row.started_at),
            "finished_at": _iso(row.finished_at)}


def report_json(tenant: Tenant, report: Report) -> dict:
    return {**broadcast_json(tenant, report.broadcast), "recipients": report.recipients, "total": report.total,
            "message_states": report.states, "replies": report.replies, "opted_out_after": report.opted_out_after,
            "skipped": report.skipped, "failure_codes": report.failure_codes,
            "failures": [{"phone": f.phone, "code": f.code or None, "detail": f.detail, "when": f.when}
                         for f in report.failures],
            "latest_replies": [{"phone": p, "at": _iso(at)} for p, at in report.latest_replies],
            "held_by_plan": report.held or None}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None
