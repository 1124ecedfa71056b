"""REST channel: POST /webhooks/rest/webhook, Grace's contract on top of Rasa's.

{"sender": "...", "message": "...", "metadata": {"tenant": "...", "media": [...],
 "customer_name": "...", "message_id": "..."}}
No tenant: the default tenant. Unknown tenant: 404 with the reason, nothing stored.
The reply is Rasa's REST list of text / image / buttons items, never empty.

A message_id makes a retry safe: a repeat runs nothing and gets the replies the first delivery
saved in the tracker. With several replicas a sender retries when the replica computing its turn
died (the balancer answers 502), possibly after saving the turn, possibly before. A turn not done
yet is pending (grace/messaging/inbox.py): the retry waits for the conversation's lock (held by the first
delivery until its tracker is saved; a dead replica's ticket expires after TICKET_LOCK_LIFETIME),
then answers from the tracker, or runs the turn itself if the tracker does not have it.
"""
from __future__ import annotations

import asyncio
import logging
import time

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel
from rasa.core.lock_store import LOCK_LIFETIME
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import OnNewMessage, run_turn
from grace.concurrency import off_loop
from grace.errors import TenantFileError, UnknownTenant
from grace.messaging.inbound import Inbound, clean_media
from grace.messaging.inbox import finish_turn, first_delivery, pending_since, take_over
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import LAST_RESORT

log = logging.getLogger("grace.channels.rest")
LOCK_POLL_S = 0.25


def _blocking_lookup(tenant_id: str | None):
    registry = get_registry()
    return registry.get(tenant_id)


def pending_id(inbound: Inbound) -> str:
    """REST senders choose their message ids, unique per tenant only; pending turns are kept per channel."""
    return f"{inbound.tenant_id}/{inbound.message_id}"


class GraceRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("grace_rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else None
            if body is None or not str(body.get("sender") or "").strip():
                return response.json({"error": "bad_request",
                                      "message": "send JSON with 'sender' and 'message'"}, status=400)
            meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            try:
                tenant = await off_loop(_blocking_lookup, meta.get("tenant"))
            except UnknownTenant as exc:
                return response.json({"error": "unknown_tenant",
                                      "message": f"No business called {exc.tenant_id!r} uses Grace here."},
                                     status=404)
            except TenantFileError as exc:
                log.error("tenant files broken: %s", exc)
                return response.json([{"recipient_id": body["sender"], "text": LAST_RESORT}])
            inbound = Inbound(tenant_id=tenant.id, customer=str(body["sender"]).strip()[:64],
                              text=str(body.get("message") or ""), media=clean_media(meta.get("media")),
                              customer_name=meta.get("customer_name") or None,
                              message_id=str(meta["message_id"]) if meta.get("message_id") else None)
            return response.json(await self.handle(inbound, tenant, on_new_message, request.app.ctx.agent))

        return hook

    async def handle(self, inbound: Inbound, tenant, on_new_message: OnNewMessage, agent: Agent) -> list[dict]:
        if inbound.message_id:
            first = await off_loop(first_delivery, inbound.tenant_id, inbound.channel, inbound.message_id,
                                   {"conversation": inbound.conversation_id}, pending_id(inbound))
            if not first:
                replies = await self.answer_retry(inbound, agent)
                if replies is not None:
                    return [{"recipient_id": inbound.customer, **reply} for reply in replies]
        try:
            replies = await run_turn(inbound, tenant, on_new_message, self.name())
        finally:
            if inbound.message_id:
                await off_loop(finish_turn, inbound.channel, pending_id(inbound))
        return [{"recipient_id": inbound.customer, **reply} for reply in replies]

    async def answer_retry(self, inbound: Inbound, agent: Agent) -> list[dict] | None:
        """A repeated message id gets the replies its turn saved (the sender may never have seen them: the
        process died before answering), [] when the turn was answered outside Rasa, or None when its first
        delivery died before saving it and this call now owns the turn."""
        seen = await off_loop(pending_since, inbound.channel, pending_id(inbound))
        log.info("repeated message %s of %s (unfinished since %s)", inbound.message_id, inbound.conversation_id, seen)
        if seen is not None:
            # Past twice the lifetime every ticket of the first delivery has expired (Rasa then lets others in).
            deadline = time.monotonic() + 2 * LOCK_LIFETIME
            while time.monotonic() < deadline:
                lock = await off_loop(agent.lock_store.get_lock, inbound.conversation_id)
                if lock is not None:
                    lock.remove_expired_tickets()  # a dead replica's ticket stays in Redis until it expires
                if lock is None or not lock.is_someone_waiting():
                    break
                await asyncio.sleep(LOCK_POLL_S)
        tracker = await agent.tracker_store.retrieve(inbound.conversation_id)
        saved = saved_replies(tracker.events if tracker else [], inbound.message_id)
        if saved is not None:
            log.info("message %s of %s was saved: answering from the tracker", inbound.message_id,
                     inbound.conversation_id)
            if seen is not None:
                await off_loop(finish_turn, inbound.channel, pending_id(inbound))
            return saved
        if seen is None:
            return []  # an empty message or an apology: nothing of it was kept
        taken = await off_loop(take_over, inbound.channel, pending_id(inbound), seen)
        log.info("message %s of %s was not saved: %s", inbound.message_id, inbound.conversation_id,
                 "running it here" if taken else "another retry runs it")
        return None if taken else []


def saved_replies(events, message_id: str) -> list[dict] | None:
    """The bot's replies to the user message with this id, as REST items; None if the message is not there."""
    replies = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if (event.metadata or {}).get("message_id") == message_id:
                replies = []
        elif isinstance(event, BotUttered) and replies is not None:
            data = {k: v for k, v in (event.data or {}).items() if k in ("image", "buttons") and v}
            replies.append({"text": event.text, **data} if event.text else data)
    return replies
