"""Rasa as the webhook gateway reaches it, with the model left out: Grace's own WhatsApp channels, as Rasa
runs them (their /answer routes, behind Rasa's API token), on a real Sanic server, answer each message the
gateway hands over; the turn itself answers one reply ("Grace on '<text>'") and keeps the (sender, text) of
every message that reached a turn, in order. For tests of what happens around a turn (signatures,
suspension, privacy requests) without a trained model."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.meta import MetaWhatsAppInput
from connectors.twilio import TwilioWhatsAppInput
from tests.helpers import sanic_serving


class RasaTurns:
    def __init__(self) -> None:
        self.turns: list[tuple[str, str]] = []
        self.url = ""

    async def turn(self, message: UserMessage) -> None:
        self.turns.append((message.sender_id, message.text or ""))
        await message.output_channel.send_response(message.sender_id, {"text": f"Grace on {message.text!r}"})

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.turns]


@contextmanager
def rasa_turns_serving() -> Iterator[RasaTurns]:
    """Rasa's side, serving; the gateway must be given its URL (GRACE_RASA_URL) and token (GRACE_RASA_TOKEN)."""
    fake = RasaTurns()
    app = Sanic(f"rasa_turns_{uuid.uuid4().hex[:8]}")
    for channel in (TwilioWhatsAppInput(), MetaWhatsAppInput()):
        app.blueprint(channel.blueprint(fake.turn), url_prefix=f"/webhooks/{channel.name()}")
    with sanic_serving(app) as url:
        fake.url = url
        yield fake
