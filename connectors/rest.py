"""REST channel: POST /webhooks/rest/webhook, Grace's contract on top of Rasa's.

{"sender": "...", "message": "...", "metadata": {"tenant": "...", "media": [...],
 "customer_name": "...", "message_id": "..."}}
No tenant: the default tenant. Unknown tenant: 404 with the reason, nothing stored.
The reply is Rasa's REST list of text / image / buttons items, never empty.

A REST sender is whatever the caller says, so its conversation is "<tenant>:web:<sender>", never a
WhatsApp customer's. With GRACE_REST_TOKEN set (required when Rasa listens beyond 127.0.0.1) a call
carries `Authorization: Bearer <token>` (any business) or `X-API-Key: <the business's API key>` (that
business only). The dashboard's simulator calls with Rasa's own token and `"namespace": "simulator"`:
its conversations are "<tenant>:sim:<sender>".

A message_id makes a retry safe: a repeat runs nothing and gets the replies the first delivery
saved in the tracker. With several replicas a sender retries when the replica computing its turn
died (the balancer answers 502), possibly after saving the turn, possibly before. A turn not done
yet is pending (grace/messaging/inbox.py): the retry waits for the conversation's lock (held by the first
delivery until its tracker is saved; a dead replica's ticket expires after TICKET_LOCK_LIFETIME),
then answers from the tracker, or runs the turn itself if the tracker does not have it.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import time

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel
from rasa.core.lock_store import LOCK_LIFETIME
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.turns import OnNewMessage, run_turn, too_large
from grace.concurrency import off_loop
from grace.config import load_settings
from grace.errors import TenantFileError, UnknownTenant
from grace.messaging.inbound import REST_NAMESPACE, SIMULATOR_NAMESPACE, Inbound, clean_media
from grace.messaging.inbox import finish_turn, first_delivery, pending_since, take_over
from grace.store import session_scope
from grace.tenancy.accounts import tenant_for_key
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import LAST_RESORT

log = logging.getLogger("grace.channels.rest")
LOCK_POLL_S = 0.25
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _blocking_lookup(tenant_id: str | None):
    registry = get_registry()
    return registry.get(tenant_id)


def rest_token() -> str:
    return os.environ.get("GRACE_REST_TOKEN", "").strip()


def exposed() -> bool:
    """Rasa listens beyond this machine (the launcher exports the host it binds)."""
    return os.environ.get("GRACE_RASA_HOST", "127.0.0.1") not in LOOPBACK


def _bearer(request: Request) -> str:
    given = request.headers.get("Authorization", "")
    return given.removeprefix("Bearer ").strip() if given.startswith("Bearer ") else ""


def _same(secret: str, given: str) -> bool:
    return bool(secret) and bool(given) and hmac.compare_digest(secret.encode(), given.encode())


def _key_opens(tenant_id: str, key: str) -> bool:
    with session_scope() as session:
        return tenant_for_key(session, key) == tenant_id


async def holds_rasa_token(request: Request) -> bool:
    """The caller is this deployment itself (the dashboard's simulator, `make shell`): it has Rasa's token."""
    return _same((await off_loop(load_settings)).rasa_token or "", _bearer(request))


async def refusal(request: Request, tenant_id: str) -> str | None:
    """Why this call may not talk for customers of this business, or None when it may."""
    token = rest_token()
    if not token and not exposed():
        return None  # only this machine can reach the channel
    if _same(token, _bearer(request)) or await holds_rasa_token(request):
        return None
    key = request.headers.get("X-API-Key", "").strip()
    if key and await off_loop(_key_opens, tenant_id, key):
        return None
    if not token:
        return "this REST channel is reachable from other machines: the operator must set GRACE_REST_TOKEN"
    return "send 'Authorization: Bearer <GRACE_REST_TOKEN>' or the business's 'X-API-Key'"


async def is_simulator(request: Request, meta: dict) -> bool:
    """Only holders of Rasa's own token (the dashboard) may speak in the simulator's namespace."""
    return meta.get("namespace") == "simulator" and await holds_rasa_token(request)


def rest_message_id(customer: str, message_id: str) -> str:
    """REST senders choose their message ids: unique per sender only, so kept per sender (one caller
    cannot make another sender's message look like a repeat)."""
    return hashlib.sha256(f"{customer}\0{message_id}".encode()).hexdigest()[:40]


def pending_id(inbound: Inbound) -> str:
    """Pending turns are kept per channel: the business and the sender's own message id name one."""
    return f"{inbound.tenant_id}/{rest_message_id(inbound.customer, inbound.message_id or '')}"


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
            if (refused := too_large(request, "rest")) is not None:
                return refused
            body = request.json if isinstance(request.json, dict) else None
            if body is None or not str(body.get("sender") or "").strip():
                return response.json({"error": "bad_request",
                                      "message": "send JSON with 'sender' and 'message'"}, status=400)
            given = body.get("metadata")
            meta: dict = given if isinstance(given, dict) else {}
            try:
                tenant = await off_loop(_blocking_lookup, meta.get("tenant"))
            except UnknownTenant as exc:
                return response.json({"error": "unknown_tenant",
                                      "message": f"No business called {exc.tenant_id!r} uses Grace here."},
                                     status=404)
            except TenantFileError as exc:
                log.error("tenant files broken: %s", exc)
                return response.json([{"recipient_id": body["sender"], "text": LAST_RESORT}])
            why = await refusal(request, tenant.id)
            if why:
                return response.json({"error": "unauthorised", "message": why}, status=401)
            namespace = SIMULATOR_NAMESPACE if await is_simulator(request, meta) else REST_NAMESPACE
            sender = str(body["sender"]).strip()[:64]
            inbound = Inbound(tenant_id=tenant.id, customer=namespace + sender,
                              text=str(body.get("message") or ""), media=clean_media(meta.get("media")),
                              customer_name=meta.get("customer_name") or None,
                              message_id=str(meta["message_id"]) if meta.get("message_id") else None)
            replies = await self.handle(inbound, tenant, on_new_message, request.app.ctx.agent)
            return response.json([{"recipient_id": sender, **reply} for reply in replies])

        return hook

    async def handle(self, inbound: Inbound, tenant, on_new_message: OnNewMessage, agent: Agent) -> list[dict]:
        if inbound.message_id:
            first = await off_loop(first_delivery, inbound.tenant_id, inbound.channel,
                                   rest_message_id(inbound.customer, inbound.message_id),
                                   {"conversation": inbound.conversation_id}, pending_id(inbound))
            if not first:
                replies = await self.answer_retry(inbound, agent)
                if replies is not None:
                    return replies
        try:
            replies = await run_turn(inbound, tenant, on_new_message, self.name())
        finally:
            if inbound.message_id:
                await off_loop(finish_turn, inbound.channel, pending_id(inbound))
        return replies

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


def saved_replies(events, message_id: str | None) -> list[dict] | None:
    """The bot's replies to the user message with this id, as REST items; None if the message is not there."""
    replies: list[dict] | None = None
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
