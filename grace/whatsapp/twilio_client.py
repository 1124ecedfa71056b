"""Twilio's Messages API (send) and Media API (download), async, with retries.

One client per Twilio account: a business's own (grace.tenancy.credentials) or the environment's,
TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_API_BASE_URL (Twilio's by default; tests point it at a
local server). With GRACE_PUBLIC_URL set,
each message asks Twilio for its status callbacks (sent, delivered, read, failed) at
<GRACE_PUBLIC_URL>/webhooks/whatsapp/status; every message Twilio takes (or refuses with an error code)
is recorded (grace.messaging.message_states).
"""
from __future__ import annotations

import json
import logging
import os
from urllib.parse import urlsplit

import aiohttp

from grace.messaging.message_states import TWILIO, note_refused, note_sent
from grace.tenancy.credentials import TwilioAccount
from grace.tenancy.registry import Tenant
from grace.tenancy.wording import Wording
from grace.whatsapp.formatting import (
    TWILIO_MAX_BODY,
    button_title,
    choice_text,
    numbered_choices,
    split_text,
    template_text,
)
from grace.whatsapp.http import ProviderError, credentials_may_go_to, request_with_retry
from grace.whatsapp.media_download import download
from grace.whatsapp.provider import MediaRef, Template, template_for
from grace.whatsapp.sessions import LoopSession

log = logging.getLogger("grace.whatsapp.twilio")
DEFAULT_BASE_URL = "https://api.twilio.com"
STATUS_PATH = "/webhooks/whatsapp/status"  # connectors/twilio.py serves it, on the gateway and on Rasa's port


class TwilioClient:
    def __init__(self, account_sid: str, auth_token: str, base_url: str = DEFAULT_BASE_URL) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.base_url = base_url.rstrip("/")
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._sessions = LoopSession()

    @classmethod
    def for_account(cls, account: TwilioAccount) -> TwilioClient:
        return cls(account.account_sid, account.auth_token, account.api_base_url or DEFAULT_BASE_URL)

    async def send(self, *, from_number: str, to_number: str, body: str = "", media_url: str | None = None,
                   content_sid: str | None = None, content_variables: dict | None = None) -> str:
        """Send one WhatsApp message; returns Twilio's message sid."""
        form: list[tuple[str, str]] = [("From", _whatsapp(from_number)), ("To", _whatsapp(to_number))]
        if content_sid:
            form.append(("ContentSid", content_sid))
            if content_variables:  # Twilio refuses empty values (21656): as for Meta, an empty one is "-"
                variables = {key: template_text(value) for key, value in content_variables.items()}
                form.append(("ContentVariables", json.dumps(variables)))
        else:
            if body:
                form.append(("Body", body))
            if media_url:
                form.append(("MediaUrl", media_url))
        if callback := status_callback_url():
            form.append(("StatusCallback", callback))
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        status, raw, _ = await request_with_retry(self._sessions.get(), "POST", url, data=form, auth=self._auth)
        to = to_number.removeprefix("whatsapp:")
        if status >= 300:
            detail = raw.decode("utf-8", "replace")
            refused = ProviderError(status, detail)
            if status == 400:  # Twilio judged the message itself (e.g. 21211: not a number WhatsApp can have)
                await note_refused(TWILIO, to, refused.refusal()[0], detail)
            raise refused
        sid = str(json.loads(raw).get("sid") or "")
        await note_sent(TWILIO, sid, to)
        return sid

    async def fetch_media(self, url: str) -> tuple[bytes, str]:
        """Download a customer's media (Twilio redirects to its CDN); the account's credentials go only to
        Twilio's own host. MediaRejected past the limit (media_download.py)."""
        auth = self._auth if credentials_may_go_to(url, self.base_url, (".twilio.com",)) else None
        return await download(self._sessions.get(), url, auth=auth)

    async def close(self) -> None:
        await self._sessions.close()


def status_callback_url() -> str | None:
    """Where Twilio reports each message's status: GRACE_PUBLIC_URL (the address Twilio already calls and
    signs over) + STATUS_PATH; None without it. Twilio refuses every message whose StatusCallback is not a
    fully qualified http(s) URL with a valid host name (21609), so a malformed setting asks for none
    rather than stopping every message."""
    public = os.environ.get("GRACE_PUBLIC_URL", "").strip().rstrip("/")
    if not public:
        return None
    parts = urlsplit(public)
    if parts.scheme not in ("http", "https") or not parts.hostname or "_" in parts.hostname:
        log.warning("GRACE_PUBLIC_URL %r is no http(s) URL with a valid host: no status callbacks asked", public)
        return None
    return public + STATUS_PATH


def _whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def twilio_messages(reply: dict, choose_prompt: str) -> list[dict]:
    """One Grace reply as Twilio messages: an image carries its caption, buttons become a
    numbered list, and text over 1,600 characters goes out in pieces, in order."""
    text = reply.get("text") or ""
    if reply.get("buttons"):
        text = numbered_choices(text, reply["buttons"], choose_prompt)
    pieces = split_text(text, TWILIO_MAX_BODY)
    messages = [{"body": piece} for piece in pieces]
    if reply.get("image"):
        if messages:
            messages[0]["media_url"] = reply["image"]
        else:
            messages.append({"body": "", "media_url": reply["image"]})
    return messages


class TwilioProvider:
    channel = "whatsapp"

    def __init__(self, client: TwilioClient) -> None:
        self.client = client

    async def fetch_media(self, media: MediaRef) -> tuple[bytes, str]:
        return await self.client.fetch_media(media.ref)

    async def deliver(self, tenant: Tenant, business_number: str, customer: str, replies: list[dict]) -> None:
        prompt = Wording(tenant)("choose_by_number")
        for reply in replies:
            quick = quick_reply(tenant, reply)
            messages = [quick] if quick else twilio_messages(reply, prompt)
            for message in messages:
                await self.client.send(from_number=business_number, to_number=customer, **message)

    async def send_template(self, business_number: str, customer: str, template: Template,
                            variables: list[str], image_url: str = "") -> bool:
        # A Content API template carries its media in the content itself (a variable in its URL).
        if not template.twilio_content_sid:
            return False
        await self.client.send(from_number=business_number, to_number=customer,
                               content_sid=template.twilio_content_sid,
                               content_variables={str(i): v for i, v in enumerate(variables, 1)})
        return True


def quick_reply(tenant: Tenant, reply: dict) -> dict | None:
    """Buttons as real WhatsApp quick replies, when the tenant has a Content API template for that
    many buttons (`whatsapp_templates: {quick_reply_2: {twilio_content_sid: HX...}}`). The template's
    variables: {{1}} the text, then each button's title and id ({{2}} {{3}}, {{4}} {{5}}, ...); the id
    comes back as ButtonPayload and reads as the button's meaning."""
    buttons = reply.get("buttons") or []
    text = (reply.get("text") or "").strip()
    if not buttons or reply.get("image") or len(text) > 1024 or len(buttons) > 3:
        return None
    template = template_for(tenant, f"quick_reply_{len(buttons)}")
    if template is None or not template.twilio_content_sid:
        return None
    variables = {"1": text}
    for i, button in enumerate(buttons):
        variables[str(2 + 2 * i)] = button_title(button)[:20]
        variables[str(3 + 2 * i)] = choice_text(button)[:200]
    return {"content_sid": template.twilio_content_sid, "content_variables": variables}
