"""`python -m connectors.gateway`: the WhatsApp webhooks in a process of their own.

Rasa runs each turn's model on its event loop; a webhook that arrives meanwhile
waits for it (measured: p99 in the hundreds of ms with 50 conversations), and
WhatsApp providers want an answer at once. The gateway runs the very same
connectors' front half (signature, tenant, dedupe into the durable inbox) on a
loop that does nothing heavy, acknowledges, and hands each admitted message to
Rasa's token-protected /answer route of its channel, which answers it there (ops
commands, STOP, media, the turn, the replies), so the conversation stays on the
"whatsapp" or "meta_whatsapp" channel (ops' verdicts come back on it). The
providers' reports on the messages Grace sent arrive here too: Twilio's status
callbacks at /webhooks/whatsapp/status, Meta's `statuses` in its usual webhook;
they update the messages' states and never reach Rasa.
Port: GRACE_WEBHOOK_PORT (5006); host: GRACE_WEBHOOK_HOST (127.0.0.1).
"""
from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.admission import Respond
from connectors.meta import MetaWhatsAppInput
from connectors.payments import PaystackWebhook, StripeWebhook
from connectors.twilio import TwilioWhatsAppInput
from connectors.whatsapp import IncomingWhatsApp
from grace.config import load_settings, refuse_placeholder_secrets
from grace.messaging.inbound import Inbound
from grace.tenancy.wording import Wording
from grace.whatsapp.delivery import send_replies
from grace.whatsapp.provider import Provider
from grace.whatsapp.sessions import LoopSession

log = logging.getLogger("grace.gateway")
ANSWER_TIMEOUT = aiohttp.ClientTimeout(total=300)  # Rasa's own limit for an action call
_sessions = LoopSession()


def hand_over_to_rasa(channel: str) -> Respond:
    """How the gateway answers an admitted message: Rasa's /answer route of the channel answers it, replies
    included (from Rasa's process: forwarding a turn and sending its replies from here was most of this
    process's work, and acks waited behind it). When Rasa cannot be reached or fails, the customer is told
    here that something went wrong, as a failed turn is."""
    target: list[tuple[str, dict[str, str]]] = []  # Rasa's address and token, read once (a file's stat per turn)

    async def respond(provider: Provider, message: IncomingWhatsApp, _inbound: Inbound) -> None:
        if not target:
            settings = load_settings()
            target.append((f"{settings.rasa_url}/webhooks/{channel}/answer",
                           {"Authorization": f"Bearer {settings.rasa_token or ''}"}))
        url, headers = target[0]
        try:
            async with _sessions.get().post(url, json={"message": message.as_payload()}, headers=headers,
                                            timeout=ANSWER_TIMEOUT) as answered:
                answered.raise_for_status()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.error("Rasa did not answer %s on %s: %r", message.message_id, channel, exc)
            await send_replies(provider, message.tenant, message.business_number, message.customer,
                               [{"text": Wording(message.tenant)("error")}])

    return respond


async def no_turns(_: UserMessage) -> None:
    raise RuntimeError("payment webhooks settle in the store: they run no turn")


def build_app(name: str = "grace_gateway") -> Sanic:
    """The gateway's app (`name`: Sanic keeps one app per name in a process, as tests may build several)."""
    app = Sanic(name)
    for channel in (TwilioWhatsAppInput(hand_over=hand_over_to_rasa(TwilioWhatsAppInput.name())),
                    MetaWhatsAppInput(hand_over=hand_over_to_rasa(MetaWhatsAppInput.name()))):
        app.blueprint(channel.blueprint(no_turns), url_prefix=f"/webhooks/{channel.name()}")
    # Payment providers call the public side too; their webhooks settle in the store, no turn of Rasa's.
    for hook in (PaystackWebhook(), StripeWebhook()):
        app.blueprint(hook.blueprint(no_turns), url_prefix=f"/webhooks/{hook.name()}")

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    refuse_placeholder_secrets("the webhook gateway")
    port = int(os.environ.get("GRACE_WEBHOOK_PORT", "5006"))
    host = os.environ.get("GRACE_WEBHOOK_HOST", "127.0.0.1")
    build_app().run(host=host, port=port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
