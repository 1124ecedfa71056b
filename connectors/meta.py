"""Meta WhatsApp Cloud API: /webhooks/meta_whatsapp/webhook
(credentials key connectors.meta.MetaWhatsAppInput).

GET answers Meta's subscription handshake when hub.verify_token is
META_VERIFY_TOKEN. The business is metadata.phone_number_id (`meta_phone_number_id`
in tenant.yml). POST must carry X-Hub-Signature-256, the HMAC-SHA256 of the raw
body keyed with the app secret of THAT business's Meta account (its own when it
entered one, grace.tenancy.credentials; else META_APP_SECRET); otherwise 403 and
nothing runs. A body whose entries belong to businesses with different secrets
is refused whole. Replies go out with the business's access token.
Meta retries any non-200 for a day or more: the answer is immediate, the turn
runs in the background, and message ids are deduplicated. The `statuses` of the
same webhook (sent, delivered, read, failed with errors[].code) move the states
of the messages Grace sent (grace.messaging.message_states), only for the
business whose phone number id sent them; they never run a turn.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.admission import admit, admit_off_loop
from connectors.turns import OnNewMessage, too_large
from connectors.whatsapp import IncomingWhatsApp
from connectors.whatsapp_channel import WhatsAppInput
from grace.concurrency import off_loop
from grace.messaging.message_states import META, Receipt, apply_receipts
from grace.tenancy.credentials import meta_for
from grace.tenancy.registry import Tenant, get_registry
from grace.whatsapp.formatting import choice_text
from grace.whatsapp.meta_client import MetaProvider
from grace.whatsapp.provider import MediaRef, Provider

log = logging.getLogger("grace.channels.meta")
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def valid_signature(body: bytes, header: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(expected, header)


def parse_message(raw: dict, value: dict, tenant: Tenant) -> IncomingWhatsApp:
    kind = raw.get("type")
    text, media = "", []
    if kind == "text":
        text = (raw.get("text") or {}).get("body") or ""
    elif kind in MEDIA_TYPES:
        item = raw.get(kind) or {}
        text = item.get("caption") or ""
        if item.get("id"):
            media.append(MediaRef(str(item["id"]), item.get("mime_type") or ""))
    elif kind == "interactive":
        interactive = raw.get("interactive") or {}
        chosen = interactive.get(interactive.get("type") or "") or {}
        text = choice_text({"payload": chosen.get("id"), "title": chosen.get("title")})
    elif kind == "button":  # a template's quick reply
        button = raw.get("button") or {}
        text = choice_text({"payload": button.get("payload"), "title": button.get("text")})
    wa_id = str(raw.get("from") or "")
    names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in value.get("contacts") or []}
    return IncomingWhatsApp(tenant=tenant, business_number=str(value["metadata"]["phone_number_id"]),
                            customer=f"+{wa_id.lstrip('+')}" if wa_id else "", text=text,
                            message_id=str(raw.get("id") or ""), customer_name=names.get(wa_id) or None,
                            media=media)


def changes(payload: dict) -> list[dict]:
    """Each `value` of the payload that carries messages for a phone number (statuses: see receipts)."""
    values = []
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if value.get("messages") and (value.get("metadata") or {}).get("phone_number_id"):
                values.append(value)
    return values


def receipts(payload: dict) -> list[tuple[str, dict]]:
    """(phone number id, status entry) for each delivery receipt in the payload."""
    found = []
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = (change.get("value") or {}) if isinstance(change, dict) else {}
            phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
            for status in value.get("statuses") or []:
                if phone_number_id and isinstance(status, dict) and status.get("id"):
                    found.append((phone_number_id, status))
    return found


def move_messages(found: list[tuple[str, dict]]) -> int:
    """Move each message to its status, as the business of the phone number id that sent it, all in one
    transaction; how many moved. One blocking hop for the webhook."""
    moves = []
    for phone_number_id, status in found:
        tenant = get_registry().by_meta_phone_number_id(phone_number_id)
        if tenant is None:
            log.warning("Meta status for unknown phone_number_id %s", phone_number_id)
            continue
        errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
        code = str(errors[0].get("code") or "") if errors else ""
        detail = _error_detail(errors[0]) if errors else ""
        moves.append(Receipt(META, str(status["id"]), str(status.get("status") or ""), code or None,
                                detail or None, tenant_id=tenant.id))
    return sum(apply_receipts(moves))


def _error_detail(error: dict) -> str:
    """Meta's words for a failure: its title, and the details when they say more."""
    title = str(error.get("title") or error.get("message") or "")
    data = error.get("error_data")
    details = str(data.get("details") or "") if isinstance(data, dict) else ""
    return f"{title}: {details}" if details and details.rstrip(".").lower() != title.rstrip(".").lower() else title


def route(values: list[dict]) -> tuple[int, list]:
    """(how many values were for a known business, the new messages): one blocking hop."""
    known, messages = 0, []
    for value in values:
        phone_number_id = value["metadata"]["phone_number_id"]
        tenant = get_registry().by_meta_phone_number_id(phone_number_id)
        if tenant is None:
            log.warning("Meta webhook for unknown phone_number_id %s", phone_number_id)
            continue
        known += 1
        messages += [parse_message(raw, value, tenant) for raw in value["messages"]]
    return known, admit(messages, MetaProvider.channel)


def phone_number_ids(payload: object) -> set[str]:
    """Every business phone number id the body names (messages and statuses alike)."""
    found: set[str] = set()
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = (change.get("value") or {}) if isinstance(change, dict) else {}
            metadata = value.get("metadata") if isinstance(value, dict) else None
            if isinstance(metadata, dict) and metadata.get("phone_number_id"):
                found.add(str(metadata["phone_number_id"]))
    return found


def refusal(body: bytes, header: str, ids: set[str], ip: str) -> tuple[int, str] | None:
    """None when the body is signed with the app secret of the businesses it is for (each one's own Meta
    account, else the platform's; a body naming no known business, the platform's), else (403, why). A body
    mixing businesses whose secrets differ is refused whole: no one secret can vouch for all of it.
    Blocking on a cache miss (grace.tenancy.credentials)."""
    registry = get_registry()
    tenants = [registry.by_meta_phone_number_id(phone_number_id) for phone_number_id in sorted(ids)] or [None]
    accounts = [meta_for(tenant.id if tenant else None) for tenant in tenants]
    if any(account is None or not account.app_secret for account in accounts):
        log.error("Meta webhook refused: no Meta account (app secret and access token) for %s",
                  ", ".join(t.id if t else "an unknown phone number id" for t in tenants))
        return 403, "webhook not configured"
    secrets = {account.app_secret for account in accounts if account is not None}
    if len(secrets) > 1:
        log.warning("Meta webhook refused: its entries belong to businesses with different Meta accounts (%s)",
                    ", ".join(sorted(t.id if t else "unknown" for t in tenants)))
        return 403, "entries for different Meta accounts"
    if not valid_signature(body, header, secrets.pop()):
        log.warning("Meta webhook refused: bad or missing signature from %s", ip)
        return 403, "invalid signature"
    return None


class MetaWhatsAppInput(WhatsAppInput):
    @classmethod
    def name(cls) -> str:
        return "meta_whatsapp"

    def take(self, values: list[dict]) -> tuple[int, list[tuple[Provider, list]]]:
        """`route`, and the provider of each business's account for the messages it admitted (blocking)."""
        known, admitted = route(values)
        return known, self.providers_of(admitted)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = self.shared_routes(on_new_message)

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            expected = os.environ.get("META_VERIFY_TOKEN", "")
            given = request.args.get("hub.verify_token", "")
            if request.args.get("hub.mode") == "subscribe" and expected and hmac.compare_digest(expected, given):
                return response.text(request.args.get("hub.challenge", ""))
            log.warning("Meta verification refused (mode %r)", request.args.get("hub.mode"))
            return response.text("verification failed", status=403)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refused := too_large(request, "meta")) is not None:
                return refused
            # Read (within the size limit) to learn whose it is, then checked with that business's secret
            # before anything of it is used.
            try:
                payload = json.loads(request.body)
            except ValueError:
                payload = None
            refused_with = await admit_off_loop(refusal, request.body, request.headers.get("X-Hub-Signature-256", ""),
                                                phone_number_ids(payload), request.ip)
            if refused_with is not None:
                return response.text(refused_with[1], status=refused_with[0])
            if payload is None:
                return response.text("body is not JSON", status=400)
            values = changes(payload) if isinstance(payload, dict) else []
            found = receipts(payload) if isinstance(payload, dict) else []
            if found:  # delivery receipts: a small UPDATE each, before the answer, never a turn
                await off_loop(move_messages, found)
            if not values:
                return response.json({"status": "accepted" if found else "ignored"})
            known, groups = await admit_off_loop(self.take, values)
            self.start(groups, on_new_message)
            if not known:
                return response.text("unknown business phone number id", status=404)
            return response.json({"status": "accepted"})

        return hook
