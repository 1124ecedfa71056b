"""REST channel: POST /webhooks/rest/webhook, Grace's contract on top of Rasa's.

{"sender": "...", "message": "...", "metadata": {"tenant": "...", "media": [...],
 "customer_name": "...", "message_id": "..."}}
No tenant: the default tenant. Unknown tenant: 404 with the reason, nothing stored.
The reply is Rasa's REST list of text / image / buttons items, never empty.
"""
from __future__ import annotations

import logging

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import OnNewMessage, is_first_delivery, run_turn
from grace.concurrency import off_loop
from grace.errors import TenantFileError, UnknownTenant
from grace.inbound import Inbound, clean_media
from grace.tenants import get_registry

log = logging.getLogger("grace.channels.rest")
SORRY = "Sorry, something went wrong on my side 🙏 Please try again in a moment."


def _blocking_lookup(tenant_id: str | None):
    registry = get_registry()
    return registry.get(tenant_id)


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
                return response.json([{"recipient_id": body["sender"], "text": SORRY}])
            inbound = Inbound(tenant_id=tenant.id, customer=str(body["sender"]).strip()[:64],
                              text=str(body.get("message") or ""), media=clean_media(meta.get("media")),
                              customer_name=meta.get("customer_name") or None,
                              message_id=str(meta["message_id"]) if meta.get("message_id") else None)
            return response.json(await self.handle(inbound, tenant, on_new_message))

        return hook

    async def handle(self, inbound: Inbound, tenant, on_new_message: OnNewMessage) -> list[dict]:
        if not await is_first_delivery(inbound):
            return []  # already answered: a retry must not run the turn twice
        replies = await run_turn(inbound, tenant, on_new_message, self.name())
        return [{"recipient_id": inbound.customer, **reply} for reply in replies]
