"""Customer notifications delivered into conversations through Rasa's external events.

The outbox row is written with the change (payment verified...); delivery is
tried right after and can be retried: a down Rasa loses nothing.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import requests
from sqlalchemy import select

from grace.config import load_settings
from grace.messaging.notifications import CONVERSATION, KINDS, kinds_by
from grace.store import session_scope
from grace.store.models import Notification, utcnow

log = logging.getLogger(__name__)



def trigger_intent(conversation_id: str, intent: str, entities: dict, timeout: float = 30) -> list[dict]:
    """Run an intent in a conversation; returns the messages the bot produced."""
    settings = load_settings()
    params = {"output_channel": "latest"}
    if settings.rasa_token:
        params["token"] = settings.rasa_token
    # Rasa does not decode the id in the path: ":" and "+" must stay as they are.
    url = f"{settings.rasa_url}/conversations/{quote(conversation_id, safe=':+')}/trigger_intent"
    reply = requests.post(url, params=params, json={"name": intent, "entities": entities}, timeout=timeout)
    reply.raise_for_status()
    return reply.json().get("messages") or []


def deliver_customer_events(tenant_id: str) -> list[tuple[Notification, list[dict] | str]]:
    """Deliver the tenant's pending customer notifications; each result is messages or an error."""
    results: list[tuple[Notification, list[dict] | str]] = []
    with session_scope() as session:
        pending = session.execute(select(Notification).where(
            Notification.tenant_id == tenant_id, Notification.audience == "customer",
            Notification.status == "pending", Notification.kind.in_(kinds_by(CONVERSATION)),
        ).order_by(Notification.id)).scalars().all()
        for row in pending:
            row.attempts += 1
            entities = {"order_ref": row.payload.get("order_reference")}
            intent = KINDS[row.kind].intent
            assert intent is not None  # every CONVERSATION kind names its intent
            try:
                messages = trigger_intent(row.recipients[0], intent, entities)
            except requests.RequestException as exc:
                row.last_error = str(exc)[:500]
                log.warning("could not deliver %s to %s: %s", row.kind, row.recipients[0], exc)
                results.append((row, str(exc)))
                continue
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
            results.append((row, messages))
    return results
