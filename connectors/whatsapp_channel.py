"""The base of the Twilio and Meta input channels, and the output channel for messages Grace writes
first in a WhatsApp conversation."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.admission import Inbox, Respond, unfinished
from connectors.turns import OnNewMessage, from_the_gateway
from connectors.whatsapp import IncomingWhatsApp, claim
from grace.concurrency import off_loop
from grace.errors import GraceError
from grace.messaging.inbound import Inbound, split_conversation_id
from grace.tenancy.registry import get_registry
from grace.whatsapp.delivery import channel_provider, record_undelivered, send_proactive
from grace.whatsapp.provider import Provider

log = logging.getLogger("grace.channels.whatsapp")


class WhatsAppOutput(OutputChannel):
    """Messages Grace writes first in a conversation (ops' verdict through trigger_intent), sent
    under WhatsApp's 24-hour rule; what cannot be sent is recorded for ops."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name

    def name(self) -> str:  # Rasa calls it on instances
        return self.channel_name

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        tenant_id, customer = split_conversation_id(recipient_id)
        tenant = await off_loop(get_registry().get, tenant_id)
        reply = {key: message[key] for key in ("text", "image", "buttons") if message.get(key)}
        if not reply:
            return
        outcome = await send_proactive(tenant, customer, [reply], "order_update", [reply.get("text", "")[:900]],
                                       channel=self.channel_name)
        if outcome.status != "sent":
            log.warning("proactive message to %s not sent: %s", recipient_id, outcome.detail)
            await off_loop(record_undelivered, tenant.id, recipient_id, self.channel_name, [reply], outcome.detail)


class WhatsAppInput(InputChannel):
    """What the WhatsApp input channels share: the inbox of background answers, the provider of each
    business (its own account, else the platform's: grace.whatsapp.delivery.channel_provider), proactive
    output, and the health and /answer routes."""

    def __init__(self, hand_over: Respond | None = None) -> None:
        """In the webhook gateway, `hand_over` takes each admitted message to Rasa, which answers it (its
        /answer route); inside Rasa (None), messages are answered here."""
        self.inbox = Inbox()
        self.hand_over = hand_over

    def providers_of(self, admitted: list[tuple[IncomingWhatsApp, Inbound]]) -> list[tuple[Provider, list]]:
        """The admitted messages grouped by the provider that answers them: each business's own account, else
        the platform's (blocking on a cache miss of the credentials). A business with neither is logged and
        its messages wait in the inbox, unanswered, for a replay once an account is set."""
        groups: dict[int, tuple[Provider, list]] = {}
        for message, inbound in admitted:
            provider = channel_provider(message.tenant, self.name())
            if provider is None:
                log.error("no %s account for %s: message %s not answered", self.name(), message.tenant.id,
                          message.message_id)
                continue
            groups.setdefault(id(provider), (provider, []))[1].append((message, inbound))
        return list(groups.values())

    def start(self, groups: list[tuple[Provider, list]], on_new_message: OnNewMessage) -> None:
        respond = self.hand_over or self.inbox.answer_here(on_new_message)
        for provider, admitted in groups:
            self.inbox.start(provider, admitted, respond)

    def get_output_channel(self) -> OutputChannel | None:
        return WhatsAppOutput(self.name())

    def shared_routes(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint(f"grace_{self.name()}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        if self.hand_over is None:
            self.add_answer_route(hook, on_new_message)

        @hook.listener("after_server_start")
        async def replay_unfinished(_app: object, _loop: object) -> None:
            asyncio.get_running_loop().create_task(self.replay(on_new_message))

        return hook

    def add_answer_route(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
        """POST <prefix>/answer {"message": ...}: answer a message the webhook gateway admitted and acknowledged
        (connectors.gateway): the reply goes to the customer from here, and the route returns once it is out.
        Only holders of Rasa's API token may call it, and the message is checked again as an inbox entry is
        (IncomingWhatsApp.from_payload): a token is not a signature."""
        respond = self.inbox.answer_here(on_new_message)

        @hook.route("/answer", methods=["POST"])
        async def answer_handed_over(request: Request) -> HTTPResponse:
            if not await from_the_gateway(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            try:
                message = await off_loop(IncomingWhatsApp.from_payload, body.get("message"))
            except GraceError as exc:
                return response.json({"error": str(exc)}, status=400)
            provider = await off_loop(channel_provider, message.tenant, self.name())
            if provider is None:
                return response.json({"error": f"no {self.name()} account for {message.tenant.id}"}, status=503)
            await respond(provider, message, claim(message, self.name()))
            return response.json({"status": "answered"})

    async def replay(self, on_new_message: OnNewMessage) -> None:
        """At start: answer what a crashed process acknowledged but never answered."""
        try:
            recovered = await off_loop(unfinished, self.name())
            if recovered:
                log.warning("replaying %d unfinished %s message(s)", len(recovered), self.name())
                self.start(await off_loop(self.providers_of, recovered), on_new_message)
        except Exception:  # recovery must never stop the server from serving
            log.exception("replaying unfinished %s messages failed", self.name())
