"""A person of the team takes a customer's conversation over from Grace, and hands it back.

While a conversation is taken over Grace runs no turn for that customer. Each message they send is kept
where every customer message is kept, in the conversation's Rasa tracker (a user event marked `held_for`
with the person's email), and Grace answers it neither then nor after the hand back: the person saw it. No
action runs and no slot is set meanwhile, so the dialogue's state is the one the pause found, and after the
hand back the customer's next message continues the funnel where it was. (Rasa's policies read a user
event only at the next action, so the held ones never steer a prediction.)

A person's reply goes out under WhatsApp's rules (grace.whatsapp.human_reply) and is written into the same
tracker as a bot event with its author in the metadata, so the conversation's history and the model
fallback's context hold it. Both writes go through Rasa's HTTP API (with Rasa's token), which takes the
conversation's lock, as every change to a tracker must.

A customer asking for a person (the human_handoff flow: an open Handoff) marks the conversation "needs a
person" but does not pause Grace: she told them the team will get back to them and keeps answering until
someone takes the conversation over; a pause nobody is watching would leave the customer with nobody. An
explicit hand back closes the conversation's open handoffs (the person dealt with it); an automatic one
leaves them open.

An ops number can hold a conversation too, from its own WhatsApp (grace.whatsapp.ops_relay): then each
customer message kept for it is also relayed to that number by the outbox.

A takeover with no human activity (taking over, a reply) for the tenant's `takeover_idle_minutes` (tenant.yml,
default 120) is over: the outbox worker's pass hands it back (hand_back_idle), and a message arriving past
the limit finds it over even before that pass.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.config import load_settings
from grace.errors import GraceError
from grace.messaging.inbound import Inbound
from grace.messaging.notifications import OPS_RELAY, notify_ops
from grace.store import session_scope
from grace.store.models import Customer, Handoff, Takeover, utcnow
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import Wording

log = logging.getLogger("grace.messaging.takeover")
IDLE = "idle"  # handed_back_by of the automatic hand back
HELD_FOR = "held_for"  # metadata of a customer's message kept during a takeover: the person who had it
AUTHOR = "author"  # metadata of a person's reply in the tracker: their email (AUTHOR_ID: their user id)
AUTHOR_ID = "author_id"
APPEND_ATTEMPTS = 3


class TakeoverError(GraceError):
    """A takeover that cannot change as asked; the message says why."""


class AlreadyTaken(TakeoverError):
    def __init__(self, taken_by: str | None) -> None:
        super().__init__(f"{taken_by or 'someone else'} has this conversation; they (or anyone of the team) "
                         "must hand it back first")
        self.taken_by = taken_by


def idle_limit(tenant_id: str) -> timedelta:
    return timedelta(minutes=get_registry().get(tenant_id).takeover_idle_minutes)


# Someone of the team holds the conversation: a dashboard user, or an ops number on WhatsApp.
HELD = or_(Takeover.user_id.isnot(None), Takeover.relay_phone.isnot(None))


def is_held(row: Takeover) -> bool:
    return row.user_id is not None or row.relay_phone is not None


def is_active(row: Takeover | None, limit: timedelta, now: datetime) -> bool:
    """Someone has it and was active within the limit (read only: nothing is handed back here)."""
    return row is not None and is_held(row) and row.last_human_at is not None \
        and now - row.last_human_at < limit


def _row(session: Session, tenant_id: str, conversation_id: str) -> Takeover | None:
    return session.execute(select(Takeover).where(Takeover.tenant_id == tenant_id,
                                                  Takeover.conversation_id == conversation_id)
                           ).scalar_one_or_none()


def _end_if_idle(session: Session, row: Takeover, now: datetime) -> bool:
    """Hand back a takeover found idle, unless someone acted on it meanwhile; True when it is over."""
    ended = session.execute(update(Takeover).where(
        Takeover.id == row.id, Takeover.user_id == row.user_id, Takeover.relay_phone == row.relay_phone,
        Takeover.last_human_at == row.last_human_at,
    ).values(user_id=None, relay_phone=None, handed_back_at=now, handed_back_by=IDLE).execution_options(
        synchronize_session=False)).rowcount == 1
    if ended:
        log.info("%s handed back to Grace: %s was idle since %s", row.conversation_id, row.taken_by,
                 row.last_human_at)
    session.expire(row)
    return ended


def current(session: Session, tenant_id: str, conversation_id: str, now: datetime | None = None) -> Takeover | None:
    """The conversation's takeover while it lasts; None when Grace answers it. One idle past the tenant's
    limit is handed back here."""
    row = _row(session, tenant_id, conversation_id)
    if row is None or not is_held(row):
        return None
    now = now or utcnow()
    if is_active(row, idle_limit(tenant_id), now):
        return row
    if _end_if_idle(session, row, now):
        return None
    return current(session, tenant_id, conversation_id, now)  # someone acted on it meanwhile: read it again


def take_over(session: Session, tenant_id: str, conversation_id: str, user_id: int | None, email: str,
              now: datetime | None = None, relay_phone: str | None = None, relay_ref: str | None = None) -> Takeover:
    """`user_id` (a dashboard user of the tenant), or the ops number `relay_phone` (answering from WhatsApp,
    the customer's messages relayed to it), takes the conversation: Grace pauses for it. Taking it again is
    being active in it. AlreadyTaken when someone else has it."""
    if (user_id is None) == (relay_phone is None):
        raise ValueError("a takeover is held by a dashboard user or by an ops number, one of them")
    now = now or utcnow()
    row = _row(session, tenant_id, conversation_id)
    if row is None:
        try:
            with session.begin_nested():
                row = Takeover(tenant_id=tenant_id, conversation_id=conversation_id)
                session.add(row)
        except IntegrityError:  # taken at the same moment by someone else's request
            row = _row(session, tenant_id, conversation_id)
            assert row is not None
    held = current(session, tenant_id, conversation_id, now)
    if held is not None and (held.user_id, held.relay_phone) != (user_id, relay_phone):
        raise AlreadyTaken(held.taken_by)
    if held is not None:  # the same person again: still there
        claimed = session.execute(update(Takeover).where(
            Takeover.id == row.id, Takeover.user_id == user_id, Takeover.relay_phone == relay_phone,
        ).values(last_human_at=now, relay_ref=relay_ref).execution_options(synchronize_session=False))
    else:
        claimed = session.execute(update(Takeover).where(Takeover.id == row.id, ~HELD).values(
            user_id=user_id, relay_phone=relay_phone, relay_ref=relay_ref, taken_by=email, taken_at=now,
            last_human_at=now).execution_options(synchronize_session=False))
    session.expire(row)
    if claimed.rowcount != 1:  # someone else took it between the read and the write
        raise AlreadyTaken(row.taken_by)
    log.info("%s taken over by %s", conversation_id, email)
    return row


def touch(session: Session, tenant_id: str, conversation_id: str, now: datetime | None = None) -> bool:
    """A person acted in the taken-over conversation (a reply): the idle clock starts again."""
    return session.execute(update(Takeover).where(
        Takeover.tenant_id == tenant_id, Takeover.conversation_id == conversation_id, HELD,
    ).values(last_human_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount == 1


def hand_back(session: Session, tenant_id: str, conversation_id: str, by: str, now: datetime | None = None) -> bool:
    """Grace answers the conversation again from the customer's next message; False when nobody had it. Handed
    back by a person (not IDLE), the conversation's open handoffs are closed: that person dealt with them."""
    now = now or utcnow()
    ended = session.execute(update(Takeover).where(
        Takeover.tenant_id == tenant_id, Takeover.conversation_id == conversation_id, HELD,
    ).values(user_id=None, relay_phone=None, handed_back_at=now, handed_back_by=by).execution_options(
        synchronize_session=False)).rowcount == 1
    if ended and by != IDLE:
        session.execute(update(Handoff).where(
            Handoff.tenant_id == tenant_id, Handoff.conversation_id == conversation_id, Handoff.status == "open",
        ).values(status="closed").execution_options(synchronize_session=False))
    if ended:
        log.info("%s handed back to Grace by %s", conversation_id, by)
    return ended


def hand_back_idle(now: datetime | None = None) -> list[str]:
    """Hand back every takeover idle past its tenant's `takeover_idle_minutes` (the outbox worker's pass);
    the conversations handed back."""
    now = now or utcnow()
    ended: list[str] = []
    limits: dict[str, timedelta | None] = {}
    with session_scope() as session:
        for row in session.scalars(select(Takeover).where(HELD).order_by(Takeover.id)).all():
            if row.tenant_id not in limits:
                try:
                    limits[row.tenant_id] = idle_limit(row.tenant_id)
                except GraceError as exc:  # its files do not load: its takeovers wait for them
                    log.error("takeovers of %s not checked: %s", row.tenant_id, exc)
                    limits[row.tenant_id] = None
            limit = limits[row.tenant_id]
            if limit is not None and not is_active(row, limit, now) and _end_if_idle(session, row, now):
                ended.append(row.conversation_id)
    return ended


def needing_a_person(session: Session, tenant_id: str) -> set[str]:
    """The tenant's conversations whose customer asked for a person (an open handoff)."""
    return set(session.scalars(select(Handoff.conversation_id).where(
        Handoff.tenant_id == tenant_id, Handoff.status == "open")).all())


def epoch(at: datetime) -> float:
    return at.replace(tzinfo=timezone.utc).timestamp()


def held_message_event(inbound: Inbound, held_for: str, problems: Sequence[str] = (),
                       now: datetime | None = None) -> dict:
    """The customer's message as Rasa keeps every customer message (text, or the media intent with the media
    and caption in the metadata), marked as held for the person and carrying no intent: nothing runs on it."""
    metadata = {**inbound.metadata(), HELD_FOR: held_for}
    if problems:
        metadata["media_problems"] = list(problems)  # files that came but could not be kept
    text = inbound.rasa_text()
    return {"event": "user", "text": text, "parse_data": {"intent": {}, "entities": [], "text": text},
            "timestamp": epoch(now or utcnow()), "input_channel": inbound.channel, "metadata": metadata}


def person_reply_event(text: str, author: str, author_id: int, now: datetime | None = None,
                       image: str | None = None) -> dict:
    """A person's reply as a bot event of the conversation (a picture where Grace's pictures are), its author
    in the metadata."""
    return {"event": "bot", "text": text, "data": {"image": image} if image else {},
            "timestamp": epoch(now or utcnow()), "metadata": {AUTHOR: author, AUTHOR_ID: author_id}}


def append_events(conversation_id: str, events: list[dict], attempts: int = 1, timeout: float = 30) -> None:
    """Append events to the conversation's tracker through Rasa's HTTP API (under its lock, with its token).
    requests.RequestException when Rasa did not take them after `attempts` tries."""
    settings = load_settings()
    params = {"include_events": "NONE"}
    if settings.rasa_token:
        params["token"] = settings.rasa_token
    # Rasa does not decode the id in the path: ":" and "+" must stay as they are.
    url = f"{settings.rasa_url}/conversations/{quote(conversation_id, safe=':+')}/tracker/events"
    for attempt in range(1, attempts + 1):
        try:
            reply = requests.post(url, params=params, json=events, timeout=timeout)
            reply.raise_for_status()
            return
        except requests.RequestException as exc:
            if attempt == attempts:
                raise
            log.warning("Rasa did not take events for %s (%s): trying again", conversation_id, exc)
            time.sleep(0.5 * attempt)


def hold_for_person(inbound: Inbound, problems: Sequence[str] = (), now: datetime | None = None) -> bool:
    """True when a person has the conversation: the message is kept in it for them and Grace says nothing
    (blocking). False: Grace answers it."""
    with session_scope() as session:
        row = current(session, inbound.tenant_id, inbound.conversation_id, now)
        held_for = (row.taken_by or "") if row is not None else None
        relay = (row.relay_phone, row.relay_ref or "") if row is not None and row.relay_phone else None
    if held_for is None:
        return False
    if inbound.is_empty() and not problems:
        return True  # nothing came that a person could read
    if relay is not None:
        _relay(inbound, *relay)
    try:
        append_events(inbound.conversation_id, [held_message_event(inbound, held_for, problems, now)],
                      attempts=APPEND_ATTEMPTS)
    except requests.RequestException as exc:  # Grace must still not answer: the person has the conversation
        log.error("a message of %s (taken over by %s) could not be kept in the conversation: %s; its text: %r",
                  inbound.conversation_id, held_for, exc, inbound.text[:1000])
    return True


def _relay(inbound: Inbound, phone: str, ref: str) -> None:
    """The customer's message to the ops number holding the conversation from WhatsApp, by the outbox (the
    number wrote to the business when it took the conversation: inside its 24-hour window)."""
    tenant = get_registry().get(inbound.tenant_id)
    words = inbound.text.strip() or ("[a picture or file: open the conversation in the dashboard to see it]"
                                     if inbound.media else "")
    with session_scope() as session:
        name = session.scalars(select(Customer.name).where(Customer.tenant_id == tenant.id,
                                                           Customer.phone == inbound.customer)).first()
        name = name or inbound.customer_name or inbound.customer
        notify_ops(session, tenant, OPS_RELAY, Wording(tenant)("ops_relay", name=name, phone=inbound.customer,
                                                               text=words[:1200], ref=ref or inbound.customer),
                   to=phone, customer=inbound.customer)
