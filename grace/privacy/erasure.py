"""Erasing a customer: everything kept about one number at one business, store by store.

The law keeps what accounting needs: the customer's orders and payments stay, with their amounts, but
anonymised (the customer row's number becomes "erased-<id>", their name, preferences, delivery address,
the words sent with a proof and what OCR read off it are cleared, the proof pictures removed). Everything
else goes: Rasa's tracker events of their conversation (and the event broker's copy), the contact and its
consent, notes, labels, takeovers, numbered choices, unfinished turns, outbox rows and sent-message records
about them, broadcast recipients, restock alerts, handoffs, feedback, the learning loop's log and the lines
of the review files that quote them, and the files they sent (this machine and S3).

Order matters for running it again: the tracker store first (nothing else is touched if it does not answer),
then the files (a file S3 would not remove is named in the result, by its digest name, so a second run
removes it without the rows that pointed to it), then the app store in the caller's session, which the
caller commits with its audit entry. Running it again on an erased customer finds nothing and changes
nothing."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grace.config import PROJECT_ROOT, load_settings
from grace.errors import GraceError
from grace.learn.review import NLU, REVIEW
from grace.messaging.conversation_events import BROKER_TABLE, TRACKER_TABLE
from grace.messaging.inbound import MEDIA_INTENT, conversation_id
from grace.messaging.inbox import forget_pending_in_redis
from grace.messaging.media import MediaNotFound, MediaUnavailable, delete_media, stored_name
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.store.models import (
    BroadcastRecipient,
    Contact,
    ConversationLabel,
    ConversationNote,
    Customer,
    FallbackLog,
    Feedback,
    Handoff,
    Notification,
    Order,
    OutboundMessage,
    Payment,
    PendingTurn,
    ReplyChoice,
    RestockAlert,
    Takeover,
)
from grace.tenancy.usage import forget_conversation

log = logging.getLogger("grace.privacy.erasure")
ERASED = "erased-"  # the customer row's number once erased: "erased-<row id>"
# A quoted wording shorter than this is only removed where it stands in quotes on its own ("ok"), so that
# a customer's "hi" does not take every line with "hi" in it out of the review files.
SHORT_WORDING = 8


class TrackerUnavailable(GraceError):
    """Rasa's tracker store did not answer: nothing was erased (run it again when it is back)."""


@dataclass
class Erasure:
    """What one run removed or anonymised, counted; `files_left` are files the media store did not remove."""

    counts: dict[str, int] = field(default_factory=dict)
    files_left: list[str] = field(default_factory=list)
    customer_id: int | None = None
    contact_id: int | None = None

    @property
    def complete(self) -> bool:
        return not self.files_left

    def add(self, what: str, n: int) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n

    def summary(self) -> dict:
        """What the privacy request keeps: counts, and the file names (digests) still to remove."""
        return {"counts": dict(sorted(self.counts.items())), "files_left": list(self.files_left)}


def is_erased(customer: Customer) -> bool:
    return customer.phone.startswith(ERASED)


def suggestions_folder() -> Path:
    """Where the learning loop writes its review files (`grace learn --out`, GRACE_SUGGESTIONS_DIR)."""
    return Path(os.environ.get("GRACE_SUGGESTIONS_DIR") or PROJECT_ROOT / "data" / "suggestions")


def erase_customer(session: Session, tenant_id: str, phone: str, *, files_left: Iterable[str] = (),
                   tracker_url: str | None = None, suggestions: Path | None = None) -> Erasure:
    """Erase the customer with this number (E.164) at this business; the app store's changes are made in
    `session` for the caller to commit. `files_left`: names a previous run could not remove. Blocking.
    TrackerUnavailable when the tracker store did not answer (then nothing changed)."""
    result = Erasure()
    conversation = conversation_id(tenant_id, phone)
    media = _erase_conversation(tenant_id, conversation, tracker_url or load_settings().tracker_database_url,
                                result)
    customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant_id,
                                                      Customer.phone == phone)).one_or_none()
    orders = list(session.scalars(select(Order).where(Order.tenant_id == tenant_id,
                                                      Order.customer_id == customer.id))) if customer else []
    payments = list(session.scalars(select(Payment).where(
        Payment.tenant_id == tenant_id, Payment.order_id.in_([o.id for o in orders])))) if orders else []
    media |= {name for name in (_name(p.proof_url) for p in payments) if name}
    media |= set(files_left)
    _remove_files(tenant_id, media, result)
    for payment in payments:
        if any(getattr(payment, f) is not None for f in ("proof_url", "reading", "message_text", "image_hash")):
            payment.proof_url = payment.reading = payment.message_text = payment.image_hash = None
            result.add("payments anonymised", 1)
    for order in orders:
        if order.delivery_address is not None:
            order.delivery_address = None
            result.add("delivery addresses cleared", 1)
    _remove_learning(session, tenant_id, conversation, suggestions or suggestions_folder(), result)
    _remove_rows(session, tenant_id, phone, conversation, customer, {o.reference for o in orders}, result)
    if customer is not None:
        result.customer_id = customer.id
        customer.phone, customer.name, customer.preferences = f"{ERASED}{customer.id}", None, {}
        result.add("customer anonymised", 1)
        result.add("orders kept (anonymised)", len(orders))
    session.flush()
    return result


def _name(url: str | None) -> str | None:
    try:
        return stored_name(url) if url else None
    except MediaNotFound:
        return None


def _erase_conversation(tenant_id: str, conversation: str, url: str, result: Erasure) -> set[str]:
    """Delete the conversation's events from the tracker store; the files its messages carried."""
    engine = tracker_engine(url)
    if engine is None:  # no conversation was ever kept
        return set()
    media: set[str] = set()
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(TRACKER_TABLE):
                return set()
            rows = connection.execute(text(f"SELECT data FROM {TRACKER_TABLE} WHERE sender_id = :sender "
                                           "AND type_name = 'user'"), {"sender": conversation}).all()
            for (data,) in rows:
                media |= _files_of(data)
            gone = connection.execute(text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id = :sender"),
                                      {"sender": conversation}).rowcount
    except SQLAlchemyError as exc:
        raise TrackerUnavailable(f"the tracker store did not answer: {exc}") from exc
    result.add("conversation events", gone or 0)
    return media


def _files_of(data: object) -> set[str]:
    """The stored files a customer's message carried (Grace's own URLs in its metadata)."""
    try:
        event = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        return set()
    if not isinstance(event, dict):
        return set()
    metadata = event.get("metadata") or {}
    if event.get("text") != MEDIA_INTENT and not metadata.get("media"):
        return set()
    names = set()
    for item in metadata.get("media") or []:
        name = _name(item.get("url")) if isinstance(item, dict) else None
        if name:
            names.add(name)
    return names


def _remove_files(tenant_id: str, names: set[str], result: Erasure) -> None:
    for name in sorted(names):
        try:
            if delete_media(tenant_id, name):
                result.add("files", 1)
        except MediaUnavailable as exc:
            log.warning("erasure at %s: %s", tenant_id, exc)
            result.files_left.append(name)


def _remove_learning(session: Session, tenant_id: str, conversation: str, folder: Path, result: Erasure) -> None:
    """The learning loop's log of their unhandled turns, and the review files' lines that quote them."""
    rows = list(session.scalars(select(FallbackLog).where(FallbackLog.tenant_id == tenant_id,
                                                          FallbackLog.conversation_id == conversation)))
    wordings = {row.text.strip() for row in rows if row.text and row.text.strip()}
    for row in rows:
        session.delete(row)
    result.add("learning log entries", len(rows))
    if not wordings or not folder.is_dir():
        return
    for path in [folder / REVIEW, folder / NLU, *folder.glob(f"faq_{tenant_id}.md")]:
        if path.is_file():
            result.add("review file lines", _drop_lines(path, wordings))


def _drop_lines(path: Path, wordings: set[str]) -> int:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lowered = [w.lower() for w in wordings]

    def quotes(line: str) -> bool:
        low = line.lower()
        return any(f'"{w}"' in low or f"- {w}\n" in low or (len(w) >= SHORT_WORDING and w in low) for w in lowered)

    kept = [line for line in lines if not quotes(line)]
    if len(kept) != len(lines):
        path.write_text("".join(kept), encoding="utf-8")
    return len(lines) - len(kept)


def _remove_rows(session: Session, tenant_id: str, phone: str, conversation: str, customer: Customer | None,
                 references: set[str], result: Erasure) -> None:
    by_conversation = ((ConversationNote, "notes"), (ConversationLabel, "labels"), (Takeover, "takeovers"),
                       (ReplyChoice, "numbered choices"))
    for model, what in by_conversation:
        result.add(what, session.execute(delete(model).where(model.tenant_id == tenant_id,
                                                             model.conversation_id == conversation)).rowcount)
    by_phone = ((RestockAlert, RestockAlert.phone, "restock alerts"),
                (BroadcastRecipient, BroadcastRecipient.phone, "broadcast recipients"),
                (OutboundMessage, OutboundMessage.to_phone, "sent message records"))
    for model, column, what in by_phone:
        result.add(what, session.execute(delete(model).where(model.tenant_id == tenant_id,
                                                             column == phone)).rowcount)
    contact = session.scalars(select(Contact).where(Contact.tenant_id == tenant_id,
                                                    Contact.phone == phone)).one_or_none()
    if contact is not None:
        result.contact_id = contact.id
        session.delete(contact)
        result.add("contact", 1)
    if customer is not None:
        for model, what in ((Handoff, "handoffs"), (Feedback, "feedback")):
            result.add(what, session.execute(delete(model).where(model.tenant_id == tenant_id,
                                                                 model.customer_id == customer.id)).rowcount)
    result.add("handoffs", session.execute(delete(Handoff).where(Handoff.tenant_id == tenant_id,
                                                                 Handoff.conversation_id == conversation)).rowcount)
    digits = phone.lstrip("+")
    # JSON columns compare differently on SQLite and PostgreSQL: the business's rows are read and matched here
    # (an erasure is rare; the outbox and unfinished turns of one business are small).
    for row in session.scalars(select(Notification).where(Notification.tenant_id == tenant_id)):
        words = json.dumps([row.recipients, row.payload], ensure_ascii=False)
        if digits in words or (row.payload or {}).get("order_reference") in references:
            session.delete(row)
            result.add("outbox messages", 1)
    for turn in session.scalars(select(PendingTurn).where(PendingTurn.tenant_id == tenant_id)):
        if digits in json.dumps(turn.payload, ensure_ascii=False):
            session.delete(turn)
            result.add("unfinished turns", 1)
    result.add("unfinished turns", forget_pending_in_redis(tenant_id, digits))
    result.add("usage marks", forget_conversation(session, tenant_id, conversation))
    _remove_broker_events(session, conversation, result)


def _remove_broker_events(session: Session, conversation: str, result: Erasure) -> None:
    """The event broker's copy of the conversation (the scaled profile keeps it in the app store)."""
    if inspect(session.connection()).has_table(BROKER_TABLE):
        result.add("conversation events", session.execute(
            text(f"DELETE FROM {BROKER_TABLE} WHERE sender_id = :sender"), {"sender": conversation}).rowcount)
