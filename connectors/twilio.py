"""Twilio WhatsApp: POST /webhooks/whatsapp/webhook (credentials key connectors.twilio.TwilioWhatsAppInput),
and POST /webhooks/whatsapp/status for the status callbacks of the messages Grace sent.

Every request must carry a valid X-Twilio-Signature, computed by Twilio over
GRACE_PUBLIC_URL + path (the URL Twilio calls, which behind a tunnel or proxy
is not the local one) with TWILIO_AUTH_TOKEN; otherwise 403 and nothing runs.
The business is the `To` number; an unknown number gets 404. The webhook is
acknowledged at once with empty TwiML and the turn runs in the background;
replies go out through the Messages API from the business's own number.

A status callback (sent, delivered, read, undelivered / failed with ErrorCode) is checked
the same way, then moves the message's state (grace.messaging.message_states) when the
message is one the business of its `From` number sent; it never runs a turn.
"""
from __future__ import annotations

import logging
import os
from urllib.parse import parse_qsl

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from connectors.admission import admit, admit_off_loop
from connectors.turns import OnNewMessage, too_large
from connectors.whatsapp import IncomingWhatsApp
from connectors.whatsapp_channel import WhatsAppInput
from grace.concurrency import off_loop
from grace.messaging.message_states import TWILIO, apply_status
from grace.tenancy.registry import Tenant, get_registry
from grace.whatsapp.formatting import choice_text
from grace.whatsapp.provider import MediaRef
from grace.whatsapp.twilio_client import TwilioClient, TwilioProvider

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


def refusal(request: Request, params: dict[str, str]) -> HTTPResponse | None:
    """None when Twilio signed the request (X-Twilio-Signature over the public URL with the auth token),
    else the 403 to answer: every Twilio webhook, messages and statuses alike, passes here first."""
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not os.environ.get("TWILIO_ACCOUNT_SID"):
        log.error("Twilio webhook refused: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set")
        return response.text("webhook not configured", status=403)
    if not signature or not RequestValidator(token).validate(signed_url(request), params, signature):
        log.warning("Twilio webhook refused: %s signature from %s (signed URL %s)",
                    "wrong" if signature else "no", request.ip, signed_url(request))
        return response.text("invalid signature", status=403)
    return None


def apply_receipt(params: dict[str, str]) -> tuple[bool, bool]:
    """(is `From` a business's number, did the message's state change): one blocking hop. In a status
    callback `From` is the business number that sent the message, so only that business's messages move."""
    tenant = get_registry().by_whatsapp_number(bare_number(params.get("From", "")))
    if tenant is None:
        return False, False
    changed = apply_status(TWILIO, params.get("MessageSid") or params.get("SmsSid") or "",
                           params.get("MessageStatus") or params.get("SmsStatus") or "",
                           params.get("ErrorCode") or None, params.get("ErrorMessage") or None, tenant_id=tenant.id)
    return True, changed


def route(params: dict[str, str]) -> tuple[bool, list]:
    """(is the number a business's, the message if new): one blocking hop for the webhook."""
    tenant = get_registry().by_whatsapp_number(bare_number(params.get("To", "")))
    if tenant is None:
        return False, []
    return True, admit([parse_inbound(params, tenant)], TwilioProvider.channel)


class TwilioWhatsAppInput(WhatsAppInput):
    missing_config = "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def make_provider(self) -> TwilioProvider | None:
        client = TwilioClient.from_env()
        return TwilioProvider(client) if client else None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = self.shared_routes(on_new_message)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refused := too_large(request, "twilio")) is not None:
                return refused
            params = form_params(request)
            if (refused := refusal(request, params)) is not None:
                return refused
            if not params.get("From") or not (params.get("MessageSid") or params.get("SmsMessageSid")):
                return response.text("From and MessageSid are required", status=400)
            if not params["From"].startswith("whatsapp:"):  # an SMS to the same number is not a WhatsApp customer
                log.warning("Twilio webhook from a non-WhatsApp sender refused")
                return response.text("WhatsApp senders only", status=400)
            known, admitted = await admit_off_loop(route, params)
            if not known:
                log.warning("Twilio webhook for unknown number %s", params.get("To"))
                return response.text("unknown business number", status=404)
            self.inbox.start(self.provider, admitted, on_new_message)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @hook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            """A status callback: one small UPDATE, then the answer (Twilio only reads its status code)."""
            if (refused := too_large(request, "twilio")) is not None:
                return refused
            params = form_params(request)
            if (refused := refusal(request, params)) is not None:
                return refused
            if not (params.get("MessageSid") or params.get("SmsSid")) or not (
                    params.get("MessageStatus") or params.get("SmsStatus")):
                return response.text("MessageSid and MessageStatus are required", status=400)
            known, _ = await off_loop(apply_receipt, params)
            if not known:
                log.warning("Twilio status callback for unknown number %s", params.get("From"))
                return response.text("unknown business number", status=404)
            return response.text("")

        return hook
