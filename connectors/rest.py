"""REST channel: POST /webhooks/rest/webhook, Grace's contract on top of Rasa's.

{"sender": "...", "message": "...", "metadata": {"tenant": "...", "media": [...],
 "customer_name": "...", "message_id": "..."}}
No tenant: the default tenant. Unknown tenant: 404 with the reason, nothing stored.
The reply is Rasa's REST list of text / image / buttons items, never empty.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from grace.dedupe import first_delivery
from grace.errors import TenantFileError, UnknownTenant
from grace.inbound import Inbound, clean_media
from grace.messages import Messages
from grace.tenants import get_registry

log = logging.getLogger("grace.channels.rest")
SORRY = "Sorry, something went wrong on my side 🙏 Please try again in a moment."


class GraceCollectingOutputChannel(CollectingOutputChannel):
    """Keeps each reply whole (Rasa's splits text on blank lines)."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


def _blocking_lookup(tenant_id: str | None):
    registry = get_registry()
    return registry.get(tenant_id)


class GraceRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
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
            loop = asyncio.get_running_loop()
            try:
                tenant = await loop.run_in_executor(None, _blocking_lookup, meta.get("tenant"))
            except UnknownTenant as exc:
                return response.json({"error": "unknown_tenant",
                                      "message": f"No business called {exc.tenant_id!r} uses Grace here."},
                                     status=404)
            except TenantFileError as exc:
                log.error("tenant files broken: %s", exc)
                return response.json([{"recipient_id": body["sender"], "text": SORRY}])
            inbound = Inbound(tenant_id=tenant.id, customer=str(body["sender"]).strip()[:64],
                              text=str(body.get("message") or ""), media=clean_media(meta.get("media")),
                              customer_name=meta.get("customer_name") or None,
                              message_id=str(meta["message_id"]) if meta.get("message_id") else None)
            return response.json(await self.handle(inbound, tenant, on_new_message))

        return hook

    async def handle(self, inbound: Inbound, tenant, on_new_message) -> list[dict]:
        say = Messages(tenant)
        reply = lambda text: [{"recipient_id": inbound.customer, "text": text}]  # noqa: E731
        if inbound.is_empty():
            return reply(say("empty_message"))
        if inbound.message_id:
            loop = asyncio.get_running_loop()
            fresh = await loop.run_in_executor(None, first_delivery, tenant.id, inbound.channel,
                                               inbound.message_id)
            if not fresh:
                return []  # already answered: a retry must not run the turn twice
        collector = GraceCollectingOutputChannel()
        try:
            await on_new_message(UserMessage(inbound.rasa_text(), collector, inbound.conversation_id,
                                             input_channel=self.name(), metadata=inbound.metadata()))
        except Exception:
            log.exception("turn failed for %s", inbound.conversation_id)
        messages = [{**m, "recipient_id": inbound.customer} for m in collector.messages]
        return messages or reply(say("error"))
