"""People and off-topic chat: handoff to the team, humour that steers back, fallback."""
from __future__ import annotations

import logging
import os
from datetime import timedelta

from sqlalchemy import func, select

from actions.base import GraceAction, Turn, log_fallback
from grace.llm.answer import grounded_answer
from grace.llm.client import configured as llm_configured
from grace.llm.prompt import Context
from grace.messaging.notifications import notify_ops
from grace.messaging.takeover import AUTHOR
from grace.store.models import FallbackLog, Handoff, utcnow
from grace.tenancy.hours import describe_opening

log = logging.getLogger("grace.actions.support")
REDIRECT_KINDS = {"flattery": "flattery", "trivia": "trivia", "smalltalk": "smalltalk",
                  "bot_challenge": "bot_challenge"}


class ActionHandoff(GraceAction):
    action_name = "action_handoff"

    def act(self, turn: Turn) -> None:
        customer = turn.customer()
        turn.session.add(Handoff(tenant_id=turn.tenant.id, customer_id=customer.id,
                                 conversation_id=turn.tracker.sender_id, message_text=turn.text[:2000]))
        notify_ops(turn.session, turn.tenant, "handoff",
                   f"{customer.name or customer.phone} wants to talk to a person: {turn.text[:200]!r}",
                   customer=customer.phone, conversation_id=turn.tracker.sender_id)
        now = turn.tenant.now()
        if turn.tenant.hours.is_open(now):
            when = turn.wording("handoff_when_open")
        else:
            opening = turn.tenant.hours.next_opening(now)
            when = turn.wording("handoff_when_closed", next_open=describe_opening(now, opening) if opening else "")
        turn.say("handoff", when=when)


def speaker_of(event: dict) -> str:
    """customer, grace, or team: a person's reply during a takeover (its author in the metadata)."""
    if event.get("event") == "user":
        return "customer"
    return "team" if (event.get("metadata") or {}).get(AUTHOR) else "grace"


def model_context(turn: Turn) -> Context:
    history = [(speaker_of(e), e.get("text") or "")
               for e in turn.tracker.events if e.get("event") in ("user", "bot") and e.get("text")]
    return Context(stage=turn.stage, selection=list(turn.slot("selection") or []), history=history[:-1])


def max_model_answers() -> int:
    """Model answers one conversation may use in a day: each is a paid call (two when regenerated), and
    a sender writing nonsense on purpose must not run up the business's bill."""
    return int(os.environ.get("GRACE_MAX_MODEL_ANSWERS_PER_DAY", "30"))


def model_answers_today(turn: Turn) -> int:
    since = utcnow() - timedelta(days=1)
    return turn.session.execute(select(func.count(FallbackLog.id)).where(
        FallbackLog.tenant_id == turn.tenant.id, FallbackLog.conversation_id == turn.tracker.sender_id,
        FallbackLog.answered_by.like("model%"), FallbackLog.created_at >= since)).scalar_one()


def answer_from_model(turn: Turn) -> bool:
    """Say the model's grounded answer; False when there is none (no model, failure, ungrounded, or this
    conversation used its day's share of model answers)."""
    if not llm_configured(turn.tenant.id) or not turn.text.strip():
        return False
    if model_answers_today(turn) >= max_model_answers():
        log.info("%s used its %d model answers today: the library answers", turn.tracker.sender_id,
                 max_model_answers())
        return False
    answer = grounded_answer(turn.tenant, turn.text, model_context(turn))
    if answer is None:
        return False
    turn.say(text=answer)
    return True


class ActionRedirectOfftopic(GraceAction):
    """Off-topic chat steered back to the sale: by the model in the tenant's voice when one is
    configured, else a line from the tenant's humour library, never the same one twice in a row."""

    action_name = "action_redirect_offtopic"

    def act(self, turn: Turn) -> None:
        if answer_from_model(turn):
            log_fallback(turn, "model:redirect")  # counted against the conversation's daily share
            return
        kind = REDIRECT_KINDS.get(turn.intent, "smalltalk")
        lines = list(turn.tenant.voice.redirects.get(kind) or turn.tenant.voice.redirects.get("smalltalk") or [])
        last = turn.slot("last_redirect")
        fresh = [line for line in lines if line != last] or lines
        if not fresh:
            turn.say("fallback")
        else:
            line = turn.wording.rng.choice(fresh)
            turn.say(text=line.replace("{business}", turn.tenant.name))
            turn.set("last_redirect", line)
        if turn.stage not in ("start", "browsing"):
            turn.resume()


class ActionGraceFallback(GraceAction):
    action_name = "action_grace_fallback"
    logs_own_fallback = True

    def act(self, turn: Turn) -> None:
        if answer_from_model(turn):
            log_fallback(turn, "model")
            return
        turn.say("fallback")
        turn.resume()
        log_fallback(turn, "library")  # after the replies: the log keeps the whole answer
