"""What the team keeps beside a customer's conversation, which the customer never sees: notes, labels, and
the canned replies a business keeps ready for the inbox. Every query is scoped to the tenant."""
from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.store.models import CannedReply, ConversationLabel, ConversationNote

MAX_NOTE_CHARS = 2000
MAX_LABELS = 10  # on one conversation
MAX_CANNED = 100  # replies one business keeps
MAX_TITLE_CHARS = 60
MAX_CANNED_CHARS = 1600  # a WhatsApp message the team can still read before sending
LABEL = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,29}$")


class NoteRefused(GraceError):
    """The note, label or canned reply cannot be kept; the message says why, for the team."""


def add_note(session: Session, tenant_id: str, conversation_id: str, author: str, text: object) -> ConversationNote:
    words = text.strip() if isinstance(text, str) else ""
    if not words:
        raise NoteRefused("write the note first")
    if len(words) > MAX_NOTE_CHARS:
        raise NoteRefused(f"a note is at most {MAX_NOTE_CHARS} characters; this one has {len(words)}")
    note = ConversationNote(tenant_id=tenant_id, conversation_id=conversation_id, author=author, text=words)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, tenant_id: str, conversation_id: str) -> list[ConversationNote]:
    return list(session.scalars(select(ConversationNote).where(
        ConversationNote.tenant_id == tenant_id, ConversationNote.conversation_id == conversation_id,
    ).order_by(ConversationNote.id)))


def label_name(text: object) -> str:
    """A label as kept: lower case, spaces squeezed ("  VIP  Customer" -> "vip customer")."""
    name = " ".join(text.split()).lower() if isinstance(text, str) else ""
    if not LABEL.match(name):
        raise NoteRefused("a label is 1 to 30 letters, digits, spaces, - or _ (like wholesale, aso-ebi, vip)")
    return name


def add_label(session: Session, tenant_id: str, conversation_id: str, text: object) -> str:
    name = label_name(text)
    current = labels_of(session, tenant_id, [conversation_id]).get(conversation_id, [])
    if name in current:
        return name
    if len(current) >= MAX_LABELS:
        raise NoteRefused(f"a conversation keeps at most {MAX_LABELS} labels: remove one first")
    try:
        with session.begin_nested():  # the same label added twice at once: one row, no error
            session.add(ConversationLabel(tenant_id=tenant_id, conversation_id=conversation_id, label=name))
    except IntegrityError:
        pass
    return name


def remove_label(session: Session, tenant_id: str, conversation_id: str, text: object) -> bool:
    removed = session.execute(delete(ConversationLabel).where(
        ConversationLabel.tenant_id == tenant_id, ConversationLabel.conversation_id == conversation_id,
        ConversationLabel.label == label_name(text)))
    return bool(removed.rowcount)


def labels_of(session: Session, tenant_id: str, conversation_ids: list[str] | None = None) -> dict[str, list[str]]:
    """Each conversation's labels, sorted (every labelled conversation of the tenant when ids are None)."""
    query = select(ConversationLabel.conversation_id, ConversationLabel.label).where(
        ConversationLabel.tenant_id == tenant_id)
    if conversation_ids is not None:
        query = query.where(ConversationLabel.conversation_id.in_(conversation_ids))
    labels: dict[str, list[str]] = {}
    for conversation, label in session.execute(query.order_by(ConversationLabel.label)):
        labels.setdefault(conversation, []).append(label)
    return labels


def labelled(session: Session, tenant_id: str, label: str) -> set[str]:
    """The tenant's conversations that carry this label."""
    return set(session.scalars(select(ConversationLabel.conversation_id).where(
        ConversationLabel.tenant_id == tenant_id, ConversationLabel.label == label_name(label))))


def canned_replies(session: Session, tenant_id: str) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).where(CannedReply.tenant_id == tenant_id)
                                .order_by(CannedReply.title)))


def add_canned_reply(session: Session, tenant_id: str, title: object, text: object, by: str) -> CannedReply:
    name = " ".join(title.split()) if isinstance(title, str) else ""
    words = text.strip() if isinstance(text, str) else ""
    if not name or len(name) > MAX_TITLE_CHARS:
        raise NoteRefused(f"give the reply a title of 1 to {MAX_TITLE_CHARS} characters")
    if not words or len(words) > MAX_CANNED_CHARS:
        raise NoteRefused(f"a canned reply is 1 to {MAX_CANNED_CHARS} characters")
    existing = canned_replies(session, tenant_id)
    if any(reply.title.lower() == name.lower() for reply in existing):
        raise NoteRefused(f"there is already a canned reply called {name!r}")
    if len(existing) >= MAX_CANNED:
        raise NoteRefused(f"a business keeps at most {MAX_CANNED} canned replies: remove one first")
    reply = CannedReply(tenant_id=tenant_id, title=name, text=words, created_by=by)
    session.add(reply)
    session.flush()
    return reply


def remove_canned_reply(session: Session, tenant_id: str, reply_id: int) -> bool:
    removed = session.execute(delete(CannedReply).where(CannedReply.tenant_id == tenant_id,
                                                        CannedReply.id == reply_id))
    return bool(removed.rowcount)
