"""The one turn path every channel shares: run the turn through Rasa, never an empty reply; who may hand
messages over from the webhook gateway; request size limits."""
from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from grace.concurrency import off_loop
from grace.config import load_settings
from grace.messaging.inbound import Inbound
from grace.messaging.pace import PACE, per_minute
from grace.tenancy.registry import Tenant
from grace.tenancy.standing import suspended
from grace.tenancy.usage import meter_message
from grace.tenancy.wording import Wording

log = logging.getLogger("grace.channels")
# What each webhook may carry, checked before anything parses it: Twilio posts a form of a few KB,
# Meta's JSON batches stay far under 1 MB, a REST message is text. (Sanic itself stops reading any body
# beyond SANIC_REQUEST_MAX_SIZE, which the launcher sets just above the largest of these.)
MAX_BODY = {"twilio": 64 * 1024, "meta": 1024 * 1024, "rest": 64 * 1024}


def too_large(request: Request, channel: str) -> HTTPResponse | None:
    """413 with the limit when the body is over this channel's size, else None."""
    limit = MAX_BODY[channel]
    size = len(request.body or b"")
    if size > limit:
        log.warning("%s webhook of %d bytes refused (limit %d)", channel, size, limit)
        return response.text(f"request body over {limit} bytes", status=413)
    return None
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class GraceCollectingOutputChannel(CollectingOutputChannel):
    """Keeps each reply whole: Rasa's splits text on blank lines and sends an image apart from
    its caption, which on WhatsApp would arrive as two messages, possibly out of order."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("image") or message.get("buttons"):
            await self._persist_message(self._message(
                recipient_id, text=(message.get("text") or "").strip() or None, image=message.get("image"),
                buttons=message.get("buttons")))
        else:
            await super().send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


async def run_turn(inbound: Inbound, tenant: Tenant, on_new_message: OnNewMessage,
                   input_channel: str) -> list[dict]:
    """Grace's replies to one customer message: Rasa's text / image / buttons items, never none."""
    say = Wording(tenant)
    if not await off_loop(_before_turn, tenant.id, inbound.conversation_id):
        return [{"text": say("suspended")}]
    if inbound.is_empty():
        return [{"text": say("empty_message")}]
    if not PACE.allow(inbound.conversation_id):
        log.warning("%s writes faster than %d messages a minute: not a turn", inbound.conversation_id,
                    per_minute())
        return [{"text": say("slow_down")}]
    try:
        replies = await collect_turn(on_new_message, inbound.rasa_text(), inbound.conversation_id, input_channel,
                                     inbound.metadata())
    except Exception:
        log.exception("turn failed for %s", inbound.conversation_id)
        replies = []
    return replies or [{"text": say("error")}]


def _before_turn(tenant_id: str, conversation_id: str) -> bool:
    """Whether the business may run a turn (the platform has not suspended it); the message counts toward
    its plan. One blocking hop for both."""
    if suspended(tenant_id):
        return False
    meter_message(tenant_id, conversation_id)
    return True


async def collect_turn(on_new_message: OnNewMessage, text: str, sender: str, input_channel: str,
                       metadata: dict) -> list[dict]:
    """Run a turn through Rasa and return its replies (text / image / buttons items)."""
    collector = GraceCollectingOutputChannel()
    await on_new_message(UserMessage(text, collector, sender, input_channel=input_channel, metadata=metadata))
    return [{k: v for k, v in m.items() if k != "recipient_id"} for m in collector.messages]


async def from_the_gateway(request: Request) -> bool:
    """Whether the request carries Rasa's API token, as the webhook gateway's hand-overs do."""
    token = (await off_loop(load_settings)).rasa_token or ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(token, given)
