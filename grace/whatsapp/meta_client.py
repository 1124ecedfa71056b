"""Meta's WhatsApp Cloud API (Graph API): send messages, download media, async with retries.

One client per Meta account: a business's own access token (grace.tenancy.credentials) or the
environment's META_ACCESS_TOKEN; META_API_BASE_URL (Graph's by default) lets tests use a local server;
META_GRAPH_VERSION pins the API version. Every message Meta takes (or refuses with an error code) is
recorded (grace.messaging.message_states); its statuses come back in the webhook (connectors/meta.py).
"""
from __future__ import annotations

import json
import os

from grace.messaging.message_states import META, note_refused, note_sent
from grace.tenancy.credentials import MetaAccount
from grace.tenancy.registry import Tenant
from grace.tenancy.wording import Wording
from grace.whatsapp.formatting import button_title, choice_text, numbered_choices, split_text, template_text
from grace.whatsapp.http import ProviderError, credentials_may_go_to, request_with_retry
from grace.whatsapp.media_download import download
from grace.whatsapp.provider import MediaRef, Template
from grace.whatsapp.sessions import LoopSession

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v20.0"
TEXT_MAX = 4096
CAPTION_MAX = 1024  # image captions and interactive bodies
MAX_BUTTONS, BUTTON_TITLE_MAX = 3, 20
MAX_ROWS, ROW_TITLE_MAX = 10, 24
ID_MAX = 256
# Meta serves media from its CDNs; the token goes to Graph's own hosts and those only.
MEDIA_HOSTS = (".facebook.com", ".fbcdn.net", ".fbsbx.com", ".whatsapp.net")


class MetaClient:
    def __init__(self, access_token: str, base_url: str = DEFAULT_BASE_URL, version: str = DEFAULT_VERSION) -> None:
        self.base_url, self.version = base_url.rstrip("/"), version
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._sessions = LoopSession()

    @classmethod
    def for_account(cls, account: MetaAccount) -> MetaClient:
        return cls(account.access_token, account.api_base_url or DEFAULT_BASE_URL,
                   os.environ.get("META_GRAPH_VERSION") or DEFAULT_VERSION)

    async def send(self, phone_number_id: str, payload: dict) -> str:
        """Send one message from the business's phone number id; returns the wamid."""
        url = f"{self.base_url}/{self.version}/{phone_number_id}/messages"
        status, raw, _ = await request_with_retry(self._sessions.get(), "POST", url, json=payload,
                                                  headers=self._headers)
        to = f"+{str(payload.get('to') or '').lstrip('+')}"  # Meta writes numbers without the +
        if status >= 300:
            detail = raw.decode("utf-8", "replace")
            refused = ProviderError(status, detail)
            if status == 400:  # Meta judged the message itself (e.g. 131026: the number cannot receive it)
                await note_refused(META, to, refused.refusal()[0], detail)
            raise refused
        wamid = str((json.loads(raw).get("messages") or [{}])[0].get("id") or "")
        await note_sent(META, wamid, to)
        return wamid

    async def fetch_media(self, media_id: str) -> tuple[bytes, str]:
        """A media id → its URL (Graph) → the bytes, both with the token; MediaRejected past the limit
        (media_download.py)."""
        status, raw, _ = await request_with_retry(self._sessions.get(), "GET",
                                                  f"{self.base_url}/{self.version}/{media_id}",
                                                  headers=self._headers)
        if status >= 300:
            raise ProviderError(status, raw[:300].decode("utf-8", "replace"))
        info = json.loads(raw)
        url = str(info.get("url") or "")
        if not credentials_may_go_to(url, self.base_url, MEDIA_HOSTS):
            raise ProviderError(0, f"media URL on an unexpected host: {url[:120]}")
        data, content_type = await download(self._sessions.get(), url, headers=self._headers)
        return data, info.get("mime_type") or content_type

    async def close(self) -> None:
        await self._sessions.close()


def meta_messages(reply: dict, to: str, choose_prompt: str, list_label: str = "Choose") -> list[dict]:
    """One Grace reply as Cloud API messages: image with caption, reply buttons (up to 3) or a list
    (up to 10), numbered text beyond that; long text in pieces, in order."""
    text = (reply.get("text") or "").strip()
    buttons = [b for b in reply.get("buttons") or [] if button_title(b)]
    if len(buttons) > MAX_ROWS:
        text, buttons = numbered_choices(text, buttons, choose_prompt), []
    payloads: list[dict] = []
    if reply.get("image"):
        pieces = split_text(text, CAPTION_MAX) if text else []
        image = {"link": reply["image"]}
        if pieces:
            image["caption"] = pieces.pop(0)
        payloads.append(_message(to, "image", image))
        text = "\n".join(pieces)
    if buttons:
        pieces = split_text(text or choose_prompt, CAPTION_MAX)
        payloads += [_message(to, "text", {"body": piece}) for piece in pieces[:-1]]
        payloads.append(_message(to, "interactive", _interactive(pieces[-1], buttons, list_label)))
    elif text:
        payloads += [_message(to, "text", {"body": piece}) for piece in split_text(text, TEXT_MAX)]
    return payloads


def _message(to: str, kind: str, content: dict) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
            "type": kind, kind: content}


def _choice_id(button: dict) -> str:
    """The button's id is what it stands for, so a reply needs no memory to be understood."""
    return choice_text(button)[:ID_MAX]


def _interactive(body: str, buttons: list[dict], list_label: str) -> dict:
    fits = len(buttons) <= MAX_BUTTONS and all(len(button_title(b)) <= BUTTON_TITLE_MAX for b in buttons)
    if fits:
        return {"type": "button", "body": {"text": body}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": _choice_id(b), "title": button_title(b)}} for b in buttons]}}
    rows = [{"id": _choice_id(b), "title": button_title(b)[:ROW_TITLE_MAX]} for b in buttons]
    return {"type": "list", "body": {"text": body},
            "action": {"button": list_label[:BUTTON_TITLE_MAX], "sections": [
                {"title": "Options", "rows": rows}]}}


class MetaProvider:
    channel = "meta_whatsapp"

    def __init__(self, client: MetaClient) -> None:
        self.client = client

    async def fetch_media(self, media: MediaRef) -> tuple[bytes, str]:
        return await self.client.fetch_media(media.ref)

    async def deliver(self, tenant: Tenant, business_number: str, customer: str, replies: list[dict]) -> None:
        say = Wording(tenant)
        for reply in replies:
            for payload in meta_messages(reply, customer, say("choose_by_number"), say("choose_list_label")):
                await self.client.send(business_number, payload)

    async def send_template(self, business_number: str, customer: str, template: Template,
                            variables: list[str], image_url: str = "") -> bool:
        if not template.meta_name or (template.meta_header == "image" and not image_url):
            return False
        components = [{"type": "body", "parameters": [{"type": "text", "text": template_text(v)} for v in variables]}]
        if template.meta_header == "image":
            components.insert(0, {"type": "header", "parameters": [{"type": "image", "image": {"link": image_url}}]})
        await self.client.send(business_number, _message(customer, "template", {
            "name": template.meta_name, "language": {"code": template.language}, "components": components}))
        return True
