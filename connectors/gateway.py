"""`python -m connectors.gateway`: the WhatsApp webhooks in a process of their own.

Rasa runs each turn's model on its event loop; a webhook that arrives meanwhile
waits for it (measured: p99 in the hundreds of ms with 50 conversations), and
WhatsApp providers want an answer at once. The gateway runs the very same
connectors (signature, tenant, dedupe, media, ops commands, STOP, sending) on a
loop that does nothing heavy, and hands each turn to Rasa through the channel's
token-protected /turn route, so the conversation stays on the "whatsapp" or
"meta_whatsapp" channel (ops' verdicts come back on it). The providers' reports on
the messages Grace sent arrive here too: Twilio's status callbacks at
/webhooks/whatsapp/status, Meta's `statuses` in its usual webhook; they update
the messages' states and never reach Rasa.
Port: GRACE_WEBHOOK_PORT (5006); host: GRACE_WEBHOOK_HOST (127.0.0.1).
"""
from __future__ import annotations

import logging
import os

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.meta import MetaWhatsAppInput
from connectors.payments import PaystackWebhook, StripeWebhook
from connectors.turns import OnNewMessage
from connectors.twilio import TwilioWhatsAppInput
from grace.config import load_settings, refuse_placeholder_secrets
from grace.whatsapp.sessions import LoopSession

log = logging.getLogger("grace.gateway")
TURN_TIMEOUT = aiohttp.ClientTimeout(total=300)  # Rasa's own limit for an action call
_sessions = LoopSession()


def forward_to_rasa(channel: str) -> OnNewMessage:
    """A turn, run by Rasa: its replies go to the message's output channel, as Rasa's would."""
    target: list[tuple[str, dict[str, str]]] = []  # Rasa's address and token, read once (a file's stat per turn)

    async def forward(message: UserMessage) -> None:
        if not target:
            settings = load_settings()
            target.append((f"{settings.rasa_url}/webhooks/{channel}/turn",
                           {"Authorization": f"Bearer {settings.rasa_token or ''}"}))
        url, headers = target[0]
        body = {"sender": message.sender_id, "text": message.text, "metadata": message.metadata or {}}
        async with _sessions.get().post(url, json=body, headers=headers, timeout=TURN_TIMEOUT) as answer:
            answer.raise_for_status()
            replies = await answer.json()
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, reply)

    return forward


def build_app(name: str = "grace_gateway") -> Sanic:
    """The gateway's app (`name`: Sanic keeps one app per name in a process, as tests may build several)."""
    app = Sanic(name)
    for channel in (TwilioWhatsAppInput(turn_route=False), MetaWhatsAppInput(turn_route=False)):
        app.blueprint(channel.blueprint(forward_to_rasa(channel.name())), url_prefix=f"/webhooks/{channel.name()}")
    # Payment providers call the public side too; their webhooks settle in the store, no turn of Rasa's.
    for hook in (PaystackWebhook(), StripeWebhook()):
        app.blueprint(hook.blueprint(forward_to_rasa(hook.name())), url_prefix=f"/webhooks/{hook.name()}")

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
