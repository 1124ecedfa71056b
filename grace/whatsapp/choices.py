"""Numbered choices: remember what was offered, read a bare number as that choice."""
from __future__ import annotations

from datetime import timedelta

from grace.store import session_scope
from grace.store.models import ReplyChoice, utcnow
from grace.whatsapp.formatting import choice_text, chosen_number

STALE_AFTER = timedelta(hours=24)  # a number sent a day later is just a number


def remember_choices(tenant_id: str, conversation_id: str, buttons: list[dict] | None) -> None:
    """The latest turn's buttons replace the previous ones; a turn without buttons clears them."""
    with session_scope() as session:
        row = session.get(ReplyChoice, conversation_id)
        if not buttons:
            if row is not None:
                session.delete(row)
            return
        choices = [{"title": b.get("title"), "payload": b.get("payload")} for b in buttons]
        if row is None:
            session.add(ReplyChoice(conversation_id=conversation_id, tenant_id=tenant_id, choices=choices))
        else:
            row.choices, row.offered_at = choices, utcnow()


def resolve_choice(tenant_id: str, conversation_id: str, text: str) -> str:
    """The customer's text, with a bare number replaced by the choice it stands for."""
    number = chosen_number(text)
    if number is None:
        return text
    with session_scope() as session:
        row = session.get(ReplyChoice, conversation_id)
        if row is None or row.tenant_id != tenant_id or utcnow() - row.offered_at > STALE_AFTER:
            return text
        if 1 <= number <= len(row.choices):
            return choice_text(row.choices[number - 1])
    return text
