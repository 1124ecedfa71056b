"""A person's reply to a customer whose conversation they took over (grace.messaging.takeover).

It goes out at once, through the path of everything Grace writes first (send_proactive: the provider the
customer last wrote from, opt-outs, the 24-hour rule), so the person learns there and then whether it
reached the customer; nothing is queued that could arrive after a hand back, among Grace's answers. Text
goes, or a picture with its caption (a fabric of the catalog); outside the 24-hour window the reply is
sent as the business's approved `ops_reply` template (the words its variable), or refused when it has
none. A sent reply is written into the conversation's tracker as a bot event with its author, so the
conversation's history and the model fallback's context hold it.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import requests

from grace.errors import GraceError
from grace.messaging.contacts import may_message
from grace.messaging.inbound import is_whatsapp_customer, split_conversation_id
from grace.messaging.notifications import MAX_REPLY_CHARS, OPS_REPLY
from grace.messaging.takeover import append_events, person_reply_event
from grace.store import session_scope
from grace.store.models import utcnow
from grace.tenancy.registry import Tenant
from grace.whatsapp.delivery import Outcome, close_providers, send_proactive
from grace.whatsapp.provider import template_for

log = logging.getLogger("grace.whatsapp.human_reply")
OUTSIDE_WINDOW = ("outside the 24-hour window: use a template; an approved ops_reply template in tenant.yml's "
                  "whatsapp_templates carries your words")
OPTED_OUT = "the customer opted out of messages (STOP): only they can start again, by writing"


class ReplyRefused(GraceError):
    """A reply that may not go (empty, too long, outside the 24-hour window, opted out); the message says why."""


class ReplyFailed(GraceError):
    """The provider did not take the reply; the message says why. Nothing was recorded: try again."""


@dataclass
class SentReply:
    text: str
    author: str
    at: datetime
    in_history: bool  # written into the conversation's tracker (False: Rasa did not take it; the log says so)


def checked_text(text: object) -> str:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ReplyRefused("write the reply first: 'text' is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyRefused(f"the reply has {len(text)} characters; WhatsApp takes at most {MAX_REPLY_CHARS}")
    return text


def send_human_reply(tenant: Tenant, conversation_id: str, text: object, author: str, author_id: int,
                     now: datetime | None = None, image: str | None = None) -> SentReply:
    """Send a person's text to the customer (or a picture at the public http(s) `image`, the text its
    caption) and write it into the conversation (blocking: call it off any event loop). ReplyRefused or
    ReplyFailed when it did not go."""
    if image is not None and not image.startswith(("https://", "http://")):
        raise ReplyRefused("WhatsApp fetches a picture from a public http(s) address; this one has none")
    words = checked_text(text) if image is None or (isinstance(text, str) and text.strip()) else ""
    _, phone = split_conversation_id(conversation_id)
    if not is_whatsapp_customer(phone):
        raise ReplyRefused(f"{phone} is not a WhatsApp customer")
    with session_scope() as session:
        permission = may_message(session, tenant.id, phone, now)
    if permission.why_not == "opted_out":
        raise ReplyRefused(OPTED_OUT)
    if not permission.free_text and template_for(tenant, OPS_REPLY) is None:
        # Outside the window WhatsApp takes only an approved template: the business's ops_reply one, the
        # person's words its variable (send_proactive picks it).
        raise ReplyRefused(OUTSIDE_WINDOW)
    outcome = asyncio.run(_send(tenant, phone, words, image))
    if outcome.status == "failed":
        raise ReplyFailed(f"the provider did not take it: {outcome.detail}")
    if outcome.status != "sent":
        raise ReplyRefused(outcome.detail)
    at = now or utcnow()
    try:
        append_events(conversation_id, [person_reply_event(words, author, author_id, at, image)], attempts=2)
        in_history = True
    except requests.RequestException as exc:
        log.error("the reply of %s to %s was sent but is not in the conversation (Rasa: %s): %r", author,
                  conversation_id, exc, words)
        in_history = False
    log.info("%s replied to %s", author, conversation_id)
    return SentReply(words, author, at, in_history)


async def _send(tenant: Tenant, phone: str, text: str, image: str | None) -> Outcome:
    message = {"text": text, **({"image": image} if image else {})}
    try:
        return await send_proactive(tenant, phone, [message], OPS_REPLY, [(text or image or "")[:900]])
    finally:  # this loop ends with the call: its HTTP sessions with it
        await close_providers()
