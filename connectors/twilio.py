"""Twilio WhatsApp: POST /webhooks/whatsapp/webhook (credentials key connectors.twilio.TwilioWhatsAppInput),
and POST /webhooks/whatsapp/status for the status callbacks of the messages Grace sent.

The business is the `To` number. Every request must carry a valid X-Twilio-Signature, computed by
Twilio over GRACE_PUBLIC_URL + path (the URL Twilio calls, which behind a tunnel or proxy is not the
local one) with the auth token of THAT business's Twilio account: its own when it entered one
(grace.tenancy.credentials), else the platform's TWILIO_AUTH_TOKEN; otherwise 403 and nothing runs, so
one business's account can never speak for another's number. A number no business has is checked with
the platform's token, then gets 404. The webhook is acknowledged at once with empty TwiML and the turn
runs in the background; replies go out through the Messages API from the business's own number, with
the account that signed the webhook.

A status callback (sent, delivered, read, undelivered / failed with ErrorCode) is checked
the same way, then moves the message's state (grace.messaging.message_states) when the
message is one the business of its `From` number sent; it never runs a turn.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from connectors.admission import admit, admit_off_loop
from connectors.turns import OnNewMessage, too_large
from connectors.whatsapp import IncomingWhatsApp
from connectors.whatsapp_channel import WhatsAppInput
from grace.concurrency import Gathered
from grace.messaging.message_states import TWILIO, Receipt, apply_receipts
from grace.tenancy.credentials import twilio_for
from grace.tenancy.registry import Tenant, get_registry
from grace.whatsapp.formatting import choice_text
from grace.whatsapp.provider import MediaRef, Provider
from grace.whatsapp.twilio_client import TwilioProvider

log = logging.getLogger("grace.channels.twilio")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA_ITEMS = 10


def bare_number(value: str) -> str:
    return value.removeprefix("whatsapp:").strip()


def parse_inbound(params: dict[str, str], tenant: Tenant) -> IncomingWhatsApp:
    text = params.get("Body") or ""
    if params.get("ButtonPayload") or params.get("ButtonText"):  # a quick reply: what the button stands for
        text = choice_text({"payload": params.get("ButtonPayload"), "title": params.get("ButtonText")})
    try:
        count = min(int(params.get("NumMedia") or 0), MAX_MEDIA_ITEMS)
    except ValueError:
        count = 0
    media = [MediaRef(params[f"MediaUrl{i}"], params.get(f"MediaContentType{i}", ""))
             for i in range(count) if params.get(f"MediaUrl{i}")]
    return IncomingWhatsApp(tenant=tenant, business_number=bare_number(params.get("To", "")),
                            customer=bare_number(params.get("From", "")), text=text,
                            message_id=params.get("MessageSid") or params.get("SmsMessageSid") or "",
                            customer_name=(params.get("ProfileName") or "").strip() or None, media=media)


def form_params(request: Request) -> dict[str, str]:
    """The POST parameters, blank ones included: Twilio signs "Body=" too (Sanic's form drops it)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
        return {}
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def signed_url(request: Request) -> str:
    """The URL Twilio signed: the public base URL when Grace sits behind a proxy or tunnel."""
    public = os.environ.get("GRACE_PUBLIC_URL", "").rstrip("/")
    if not public:
        return request.url
    query = f"?{request.query_string}" if request.query_string else ""
    return f"{public}{request.path}{query}"


@dataclass(frozen=True)
class Signed:
    """A Twilio webhook as it came: what it says, where Twilio sent it, its signature and sender's address."""

    params: dict[str, str]
    url: str
    signature: str
    ip: str


def refusal(signed: Signed, tenant: Tenant | None) -> tuple[int, str] | None:
    """None when Twilio signed the request with the auth token of the business it is for (its own account,
    else the platform's; for a number no business has, the platform's), else (403, why): every Twilio
    webhook, messages and statuses alike, passes here before anything runs. Blocking on a cache miss
    (grace.tenancy.credentials)."""
    account = twilio_for(tenant.id if tenant else None)
    if account is None:
        log.error("Twilio webhook refused: no Twilio account for %s (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, "
                  "or the business's own)", tenant.id if tenant else "an unknown number")
        return 403, "webhook not configured"
    if not signed.signature or not RequestValidator(account.auth_token).validate(signed.url, signed.params,
                                                                                 signed.signature):
        log.warning("Twilio webhook for %s refused: %s signature from %s (signed URL %s)",
                    tenant.id if tenant else "an unknown number", "wrong" if signed.signature else "no",
                    signed.ip, signed.url)
        return 403, "invalid signature"
    return None


def answer_receipts(callbacks: list[Signed]) -> list[tuple[int, str]]:
    """The status callbacks' answers, those that pass applied together in one transaction (blocking; the
    gateway gathers the callbacks that arrive together). In a status callback `From` is the business number
    that sent the message: its signature is checked with that business's token, and only its messages move."""
    answers: list[tuple[int, str]] = []
    receipts: list[Receipt] = []
    for signed in callbacks:
        checked = receipt_of(signed)
        if isinstance(checked, Receipt):
            receipts.append(checked)
            checked = (200, "")
        answers.append(checked)
    apply_receipts(receipts)
    return answers


def receipt_of(signed: Signed) -> Receipt | tuple[int, str]:
    """What a status callback says, or (status, why) when it is refused."""
    params = signed.params
    tenant = get_registry().by_whatsapp_number(bare_number(params.get("From", "")))
    if (refused := refusal(signed, tenant)) is not None:
        return refused
    if not (params.get("MessageSid") or params.get("SmsSid")) or not (
            params.get("MessageStatus") or params.get("SmsStatus")):
        return 400, "MessageSid and MessageStatus are required"
    if tenant is None:
        log.warning("Twilio status callback for unknown number %s", params.get("From"))
        return 404, "unknown business number"
    return Receipt(TWILIO, params.get("MessageSid") or params.get("SmsSid") or "",
                   params.get("MessageStatus") or params.get("SmsStatus") or "",
                   params.get("ErrorCode") or None, params.get("ErrorMessage") or None, tenant_id=tenant.id)


@dataclass
class Routed:
    """What the webhook answers, and the message if it is new."""

    status: int
    text: str
    admitted: list = field(default_factory=list)


def route(signed: Signed) -> Routed:
    """The business is the `To` number; its token checks the signature; then the message is admitted (one
    blocking hop for the webhook, on the admission thread)."""
    params = signed.params
    tenant = get_registry().by_whatsapp_number(bare_number(params.get("To", "")))
    if (refused := refusal(signed, tenant)) is not None:
        return Routed(*refused)
    if not params.get("From") or not (params.get("MessageSid") or params.get("SmsMessageSid")):
        return Routed(400, "From and MessageSid are required")
    if not params["From"].startswith("whatsapp:"):  # an SMS to the same number is not a WhatsApp customer
        log.warning("Twilio webhook from a non-WhatsApp sender refused")
        return Routed(400, "WhatsApp senders only")
    if tenant is None:
        log.warning("Twilio webhook for unknown number %s", params.get("To"))
        return Routed(404, "unknown business number")
    return Routed(200, EMPTY_TWIML, admit([parse_inbound(params, tenant)], TwilioProvider.channel))


def signed_request(request: Request) -> Signed:
    return Signed(form_params(request), signed_url(request), request.headers.get("X-Twilio-Signature", ""),
                  request.ip)


class TwilioWhatsAppInput(WhatsAppInput):
    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def take(self, signed: Signed) -> tuple[Routed, list[tuple[Provider, list]]]:
        """`route`, and the provider of the business's account for the message it admitted (blocking)."""
        routed = route(signed)
        return routed, self.providers_of(routed.admitted)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = self.shared_routes(on_new_message)
        # Every message Grace sends comes back as three callbacks (sent, delivered, read): those that
        # arrive together share one thread hop and one transaction.
        receipts = Gathered(answer_receipts, "grace-receipts")

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refused := too_large(request, "twilio")) is not None:
                return refused
            routed, groups = await admit_off_loop(self.take, signed_request(request))
            if routed.status != 200:
                return response.text(routed.text, status=routed.status)
            self.start(groups, on_new_message)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @hook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            """A status callback: applied (one small UPDATE), then answered (Twilio only reads the status code)."""
            if (refused := too_large(request, "twilio")) is not None:
                return refused
            code, text = await receipts(signed_request(request))
            return response.text(text, status=code)

        return hook
