"""What every Grace action shares: the tenant, the customer, one DB session, a safe reply.

rasa-sdk awaits run() on the event loop, so the blocking part of each action
(files, SQL) runs in a worker thread with its own session. Any error is logged
and the customer still gets a reply: one broken action never means silence.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.inbound import split_conversation_id
from grace.money import format_money
from grace.shop.customers import get_or_create_customer
from grace.store import session_scope
from grace.store.models import Customer, FallbackLog
from grace.tenancy.registry import Tenant, get_registry
from grace.tenancy.wording import LAST_RESORT, Wording

log = logging.getLogger("grace.actions")

# A turn the flow handled but NLU was unsure about is kept for trainers too (the learning
# loop reads the same log); below the FallbackClassifier threshold the fallback action logs
# the turn itself.
LOW_CONFIDENCE = float(os.environ.get("GRACE_LOW_CONFIDENCE", "0.6"))


def latest_user_metadata(tracker: Tracker) -> dict:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return {}


@dataclass
class Turn:
    """One action's view of the conversation, and the replies it builds."""

    tenant: Tenant
    tracker: Tracker
    session: Session
    customer_key: str
    wording: Wording
    replies: list[dict] = field(default_factory=list)
    events: list[EventType] = field(default_factory=list)
    _customer: Customer | None = None

    @property
    def text(self) -> str:
        return self.tracker.latest_message.get("text") or ""

    @property
    def intent(self) -> str:
        return (self.tracker.latest_message.get("intent") or {}).get("name") or ""

    @property
    def confidence(self) -> float:
        return float((self.tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)

    def entities(self, name: str) -> list[dict]:
        """The entities of this kind the customer's message carries (grace.understanding found them
        against this business's catalog and settings), in the order written."""
        found = [e for e in self.tracker.latest_message.get("entities") or [] if e.get("entity") == name]
        return sorted(found, key=lambda e: e.get("start") or 0)

    def entity(self, name: str) -> Any:
        """The value of the first entity of this kind in the message, or None."""
        found = self.entities(name)
        return found[0].get("value") if found else None

    @property
    def metadata(self) -> dict:
        return latest_user_metadata(self.tracker)

    @property
    def stage(self) -> str:
        return self.slot("funnel_stage") or "start"

    def slot(self, name: str) -> Any:
        value = self.tracker.get_slot(name)
        for event in self.events:  # a value this action already set wins
            if event.get("event") == "slot" and event.get("name") == name:
                value = event.get("value")
        return value

    def set(self, name: str, value: Any) -> None:
        self.events.append(SlotSet(name, value))

    def customer(self) -> Customer:
        if self._customer is None:
            self._customer = get_or_create_customer(self.session, self.tenant.id, self.customer_key,
                                                    self.metadata.get("customer_name"))
        return self._customer

    def money(self, minor: int) -> str:
        return format_money(minor, self.tenant.currency)

    def say(self, key: str | None = None, *, text: str | None = None, image: str | None = None,
            buttons: list[dict] | None = None, **params) -> None:
        message: dict[str, Any] = {"text": text if key is None else self.wording(key, **params)}
        if image:
            message["image"] = image
        if buttons:
            message["buttons"] = buttons
        self.replies.append(message)

    def resume(self) -> None:
        """Bring the customer back to where they were in the funnel (after a digression)."""
        from actions.resume import resume_prompt  # the funnel knows what each stage needs

        resume_prompt(self)


def log_fallback(turn: Turn, answered_by: str) -> None:
    """Keep a turn for trainers: what was said, what NLU thought, where the customer was, and what
    they were told (everything the turn has said so far: call it after the replies). Whether they
    wrote again is decided later by `grace learn` from the tracker store, not here."""
    intent = turn.tracker.latest_message.get("intent") or {}
    ranking = turn.tracker.latest_message.get("intent_ranking") or []
    answer = "\n".join(reply["text"] for reply in turn.replies if reply.get("text"))
    turn.session.add(FallbackLog(
        tenant_id=turn.tenant.id, conversation_id=turn.tracker.sender_id, text=turn.text[:2000],
        intent=intent.get("name"), confidence=intent.get("confidence"),
        intent_ranking=[{"name": r.get("name"), "confidence": r.get("confidence")} for r in ranking[:5]],
        funnel_stage=turn.tracker.get_slot("funnel_stage") or "start",  # where they were when they spoke
        answered_by=answered_by, answer=answer[:4000]))


def first_action_of_turn(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return False
    return False


def unsure_turn(tracker: Tracker) -> bool:
    """A customer's words (not media, not an ops event) that NLU classified with low confidence."""
    intent = tracker.latest_message.get("intent") or {}
    text = tracker.latest_message.get("text") or ""
    if not text or text.startswith("/") or (intent.get("name") or "").startswith("EXTERNAL"):
        return False
    return (intent.get("confidence") or 0.0) < LOW_CONFIDENCE and first_action_of_turn(tracker)


class GraceAction(Action):
    """Subclasses set `action_name` and implement act(turn)."""

    action_name = ""
    logs_own_fallback = False  # the fallback action records the turn itself

    def name(self) -> str:
        return self.action_name

    def act(self, turn: Turn) -> None:
        raise NotImplementedError

    def _run_blocking(self, tracker: Tracker) -> tuple[list[dict], list[EventType]]:
        tenant_id, customer_key = split_conversation_id(tracker.sender_id)
        tenant = get_registry().get(tenant_id)
        with session_scope() as session:
            turn = Turn(tenant=tenant, tracker=tracker, session=session, customer_key=customer_key,
                        wording=Wording(tenant))
            # What the message settles first (a pending question, a promo code) and the second request
            # it may carry: actions/pending.py, built on the actions, so imported here, not at the top.
            from actions import pending

            first = first_action_of_turn(tracker)
            if not (first and pending.settle(turn, self.name())):
                self.act(turn)
                if first:
                    pending.also(turn, self.name())
            if not self.logs_own_fallback and unsure_turn(tracker):
                log_fallback(turn, f"flow:{self.name()}"[:40])
        return turn.replies, turn.events

    def _error_reply(self, tracker: Tracker) -> str:
        try:
            tenant_id, _ = split_conversation_id(tracker.sender_id)
            return Wording(get_registry().get(tenant_id))("error")
        except Exception:  # the tenant itself is the problem
            return LAST_RESORT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        loop = asyncio.get_running_loop()
        try:
            replies, events = await loop.run_in_executor(None, self._run_blocking, tracker)
        except GraceError as exc:
            log.error("%s for %s: %s", self.name(), tracker.sender_id, exc)
            dispatcher.utter_message(text=self._error_reply(tracker))
            return []
        except Exception:
            log.exception("%s failed for %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(text=self._error_reply(tracker))
            return []
        for reply in replies:
            dispatcher.utter_message(**reply)
        return events
