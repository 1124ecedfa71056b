"""People and off-topic chat: handoff to the team, humour that steers back, fallback."""
from __future__ import annotations

from actions.base import GraceAction, Turn, log_fallback
from grace.hours import describe_opening
from grace.notifier import notify_ops
from grace.store.models import Handoff

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
            when = turn.say_("handoff_when_open")
        else:
            opening = turn.tenant.hours.next_opening(now)
            when = turn.say_("handoff_when_closed", next_open=describe_opening(now, opening) if opening else "")
        turn.say("handoff", when=when)


class ActionRedirectOfftopic(GraceAction):
    """A line from the tenant's humour library, never the same one twice in a row."""

    action_name = "action_redirect_offtopic"

    def act(self, turn: Turn) -> None:
        kind = REDIRECT_KINDS.get(turn.intent, "smalltalk")
        lines = list(turn.tenant.voice.redirects.get(kind) or turn.tenant.voice.redirects.get("smalltalk") or [])
        last = turn.slot("last_redirect")
        fresh = [line for line in lines if line != last] or lines
        if not fresh:
            turn.say("fallback")
        else:
            line = turn.say_.rng.choice(fresh)
            turn.say(text=line.replace("{business}", turn.tenant.name))
            turn.set("last_redirect", line)
        if turn.stage not in ("start", "browsing"):
            turn.resume()


class ActionGraceFallback(GraceAction):
    action_name = "action_grace_fallback"
    logs_own_fallback = True

    def act(self, turn: Turn) -> None:
        log_fallback(turn, "library")
        turn.say("fallback")
        turn.resume()
