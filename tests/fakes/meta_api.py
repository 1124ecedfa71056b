"""A real HTTP server impersonating Meta's WhatsApp Cloud API (Graph), plus webhook payload builders.

The send endpoint validates the limits Meta enforces (text length, button and list sizes) so that a
message Meta would reject fails in tests too, instead of only in production. It also refuses a sending
phone number id it does not know (400, code 100 / subcode 33), and a template send whose parameters
do not fit a template it was given (132000 count mismatch, 132012 header format, 132001 unknown
name or language). Media sends: image, audio and document (id or link; documents may carry a
filename and a caption). Media downloads: the file's metadata (URL, type, size, sha256), then its bytes,
both with the token; ``add_large_media`` serves a file too large to hold, framed as a test asks
(``LargeFile``).

Told where (``send_statuses_to``), it posts the ``statuses`` webhooks of each message it accepted, signed
with the app secret, from a background thread: sent, delivered, read, in that order; or, for a number that
is not on WhatsApp (``add_not_on_whatsapp``), one "failed" with error 131026, as Meta accepts such a send
and reports the failure afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from tests.fakes.twilio_api import HTTPFake, LargeFile, Reply
from tests.fakes.webhooks import CallbackSender, Post

__all__ = [
    "DEFAULT_PHONE_NUMBER_IDS",
    "DISPLAY_PHONE_NUMBER",
    "WABA_ID",
    "FakeMetaGraph",
    "MetaTemplate",
    "meta_image_payload",
    "meta_interactive_payload",
    "meta_signature",
    "meta_status_payload",
    "meta_text_payload",
]

# The businesses' phone number ids the send endpoint knows unless told otherwise: the test tenants'
# (tests/helpers.py AKANRABY_META_ID, KENTE_META_ID; repeated here so the fake needs only the standard
# library) and a third for a Kenyan number.
DEFAULT_PHONE_NUMBER_IDS = ("109000000000001", "233000000000001", "254000000000001")
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_RECIPIENT = "2348012345678"

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
_OTHER_INTERACTIVE = {
    "cta_url",
    "product",
    "product_list",
    "flow",
    "location_request_message",
    "address_message",
}


# --------------------------------------------------------------------------- webhook side


def meta_signature(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256 header value: "sha256=" + hex HMAC-SHA256 of the raw request body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _wamid() -> str:
    """Meta message ids are "wamid." + standard base64 (which may contain '+', '/' and '=')."""
    return "wamid.HBgL" + base64.b64encode(secrets.token_bytes(30)).decode()


def _now() -> str:
    return str(int(time.time()))


def _envelope(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def _inbound(phone_number_id: str, wa_id: str, name: str, message: dict[str, Any]) -> dict[str, Any]:
    value = {
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "timestamp": _now(), **message}],
    }
    return _envelope(phone_number_id, value)


def meta_text_payload(
    *, phone_number_id: str, wa_id: str, text: str, message_id: str | None = None, name: str = "Ada"
) -> dict[str, Any]:
    """A user's text message as the Cloud API webhook delivers it."""
    message = {"id": message_id or _wamid(), "type": "text", "text": {"body": text}}
    return _inbound(phone_number_id, wa_id, name, message)


def meta_image_payload(
    *,
    phone_number_id: str,
    wa_id: str,
    media_id: str,
    mime_type: str = "image/jpeg",
    caption: str | None = None,
    message_id: str | None = None,
    name: str = "Ada",
) -> dict[str, Any]:
    """A user's photo; fetch its bytes through ``FakeMetaGraph`` with ``media_id``."""
    # In webhooks Meta sends the sha256 base64-encoded (the media endpoint returns hex).
    image = {
        "caption": caption,
        "mime_type": mime_type,
        "sha256": base64.b64encode(hashlib.sha256(media_id.encode()).digest()).decode(),
        "id": media_id,
    }
    message = {
        "id": message_id or _wamid(),
        "type": "image",
        "image": {key: value for key, value in image.items() if value is not None},
    }
    return _inbound(phone_number_id, wa_id, name, message)


def meta_interactive_payload(
    *,
    phone_number_id: str,
    wa_id: str,
    reply_id: str,
    title: str,
    kind: str = "button_reply",
    message_id: str | None = None,
    name: str = "Ada",
    description: str = "",
) -> dict[str, Any]:
    """A tap on a reply button (``button_reply``) or a list row (``list_reply``) we sent earlier."""
    if kind not in ("button_reply", "list_reply"):
        raise ValueError(f"kind must be 'button_reply' or 'list_reply', not {kind!r}")
    reply = {"id": reply_id, "title": title}
    if kind == "list_reply":
        reply["description"] = description
    message = {
        "context": {"from": DISPLAY_PHONE_NUMBER, "id": _wamid()},
        "id": message_id or _wamid(),
        "type": "interactive",
        "interactive": {"type": kind, kind: reply},
    }
    return _inbound(phone_number_id, wa_id, name, message)


NOT_ON_WHATSAPP_ERROR = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {"details": "Message Undeliverable."},
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
}


def meta_status_payload(
    *,
    phone_number_id: str,
    message_id: str,
    status: str = "delivered",
    recipient_id: str = DEFAULT_RECIPIENT,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A delivery receipt for one of our messages: ``statuses`` and no ``messages``/``contacts``. A failure
    carries ``errors`` (by default 131026, the number cannot receive the message)."""
    if status not in ("sent", "delivered", "read", "failed"):
        raise ValueError(f"unknown status {status!r}")
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": _now(),
        "recipient_id": recipient_id,
    }
    if status == "failed":
        entry["errors"] = errors if errors is not None else [dict(NOT_ON_WHATSAPP_ERROR)]
    return _envelope(phone_number_id, {"statuses": [entry]})


# --------------------------------------------------------------------------- Graph side


def _graph_error(
    status: int,
    code: int,
    message: str,
    details: str | None = None,
    *,
    kind: str = "OAuthException",
    **extra: Any,
) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, **extra}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    headers = {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'} if status == 401 else {}
    return Reply.json(status, {"error": error}, headers)


def _unknown_object(method: str, object_id: str) -> Reply:
    """What Graph answers for an id it does not know (or the token may not use): 400, code 100/33."""
    message = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation "
        "at https://developers.facebook.com/docs/graph-api"
    )
    reply = _graph_error(400, 100, message, kind="GraphMethodException", error_subcode=33)
    reply.headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_request" "{message}"'
    return reply


def _invalid(details: str) -> Reply:
    return _graph_error(400, 131009, "(#131009) Parameter value is not valid", details)


_INJECTED = {
    429: (130429, "(#130429) Rate limit hit"),
    503: (131016, "(#131016) Service unavailable"),
}


def _check_text(text: Any, limit: int, what: str) -> str | None:
    if not isinstance(text, str) or not text:
        return f"{what} is required"
    if len(text) > limit:
        return f"{what} must be at most {limit} characters (got {len(text)})"
    return None


def _check_buttons(action: dict[str, Any]) -> str | None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return f"interactive.action.buttons must hold 1 to {MAX_BUTTONS} buttons"
    ids = []
    for index, button in enumerate(buttons):
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            return f"buttons[{index}] must be {{'type': 'reply', 'reply': {{'id', 'title'}}}}"
        if problem := _check_text(reply.get("title"), MAX_BUTTON_TITLE, f"buttons[{index}].reply.title"):
            return problem
        if problem := _check_text(reply.get("id"), 256, f"buttons[{index}].reply.id"):
            return problem
        ids.append(reply["id"])
    if len(set(ids)) != len(ids):
        return "button ids must be unique"
    return None


def _check_list(action: dict[str, Any]) -> str | None:
    if problem := _check_text(action.get("button"), MAX_LIST_BUTTON, "interactive.action.button"):
        return problem
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        return f"interactive.action.sections must hold 1 to {MAX_LIST_SECTIONS} sections"
    rows = [row for section in sections if isinstance(section, dict) for row in section.get("rows") or []]
    if not 1 <= len(rows) <= MAX_LIST_ROWS:
        return f"a list message must hold 1 to {MAX_LIST_ROWS} rows in total (got {len(rows)})"
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"rows[{index}] must be an object"
        if problem := _check_text(row.get("title"), MAX_ROW_TITLE, f"rows[{index}].title"):
            return problem
        if problem := _check_text(row.get("id"), 200, f"rows[{index}].id"):
            return problem
        if len(row.get("description") or "") > MAX_ROW_DESCRIPTION:
            return f"rows[{index}].description must be at most {MAX_ROW_DESCRIPTION} characters"
    if len({row["id"] for row in rows}) != len(rows):
        return "row ids must be unique"
    return None


def _check_interactive(interactive: Any) -> str | None:
    if not isinstance(interactive, dict):
        return "interactive is required"
    kind = interactive.get("type")
    action = interactive.get("action")
    if kind in _OTHER_INTERACTIVE:
        return None if isinstance(action, dict) else "interactive.action is required"
    if kind not in ("button", "list"):
        return f"interactive.type {kind!r} is not supported"
    if not isinstance(action, dict):
        return "interactive.action is required"
    body = interactive.get("body")
    limit = 1024 if kind == "button" else MAX_TEXT_CHARS
    if problem := _check_text(
        body.get("text") if isinstance(body, dict) else None, limit, "interactive.body.text"
    ):
        return problem
    return _check_buttons(action) if kind == "button" else _check_list(action)


def _check_template_components(components: Any) -> str | None:
    if not isinstance(components, list):
        return "template.components must be a list"
    for component in components:
        if not isinstance(component, dict) or component.get("type") not in ("header", "body", "button"):
            return "each template component needs a type: header, body or button"
        for parameter in component.get("parameters") or []:
            kind = parameter.get("type") if isinstance(parameter, dict) else None
            if kind == "text":
                text = parameter.get("text")
                if not isinstance(text, str) or not text:
                    return "(#131008) a text parameter needs a non-empty text"
                if re.search(r"[\n\t]| {5,}", text):
                    return "(#132018) Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
            elif kind == "image":
                image = parameter.get("image")
                if not isinstance(image, dict) or not (image.get("link") or image.get("id")):
                    return "an image parameter needs image.link or image.id"
            else:
                return f"parameter type {kind!r} is not supported here (text, image)"
    return None



def _media_error(payload: dict, kind: str) -> str | None:
    """What Meta refuses in an image or document message: no id or link, or too long a caption."""
    media = payload.get(kind)
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        return f"{kind}.id or {kind}.link is required"
    if len(media.get("caption") or "") > MAX_CAPTION_CHARS:
        return f"{kind}.caption must be at most {MAX_CAPTION_CHARS} characters"
    return None


def validate_send(payload: Any) -> str | None:
    """Why Meta would refuse this send request, or None when it would accept it."""
    if not isinstance(payload, dict):
        return "the request body must be a JSON object"
    if payload.get("messaging_product") != "whatsapp":
        return "messaging_product must be 'whatsapp'"
    if not payload.get("to"):
        return "'to' is required"
    kind = payload.get("type", "text")  # Meta treats a missing type as text
    if kind == "text":
        text = payload.get("text")
        return _check_text(text.get("body") if isinstance(text, dict) else None, MAX_TEXT_CHARS, "text.body")
    if kind == "image":
        return _media_error(payload, "image")
    if kind == "audio":
        audio = payload.get("audio")
        if not isinstance(audio, dict) or not (audio.get("id") or audio.get("link")):
            return "audio.id or audio.link is required"
        if "caption" in audio:
            return "audio does not take a caption"  # Meta: "Do not use with audio or sticker media"
        return None
    if kind == "document":
        document = payload.get("document")
        if isinstance(document, dict) and "filename" in document and (
                not isinstance(document["filename"], str) or not document["filename"]):
            return "document.filename must be a non-empty string"
        return _media_error(payload, "document")
    if kind == "interactive":
        return _check_interactive(payload.get("interactive"))
    if kind == "template":
        template = payload.get("template")
        if not isinstance(template, dict) or not template.get("name"):
            return "template.name is required"
        if not isinstance(template.get("language"), dict) or not template["language"].get("code"):
            return "template.language.code is required"
        return _check_template_components(template.get("components") or [])
    return f"type {kind!r} is not supported here (text, image, audio, document, interactive, template)"


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MEDIA_HEADERS = ("image", "video", "document")


@dataclass(frozen=True)
class MetaTemplate:
    """An approved message template as Meta holds it: (name, language) with a body text whose
    ``{{1}}``, ``{{2}}``... placeholders each need one body parameter, and an optional header: a media
    format ("image", "video", "document") or a text that may hold placeholders too."""

    name: str
    body: str = ""
    language: str | None = None  # None: the fake accepts any language code for this name
    header: str | None = None

    @property
    def body_params(self) -> int:
        return len(set(_PLACEHOLDER.findall(self.body)))

    @property
    def header_params(self) -> int:
        if self.header is None or self.header.lower() in _MEDIA_HEADERS:
            return 0
        return len(set(_PLACEHOLDER.findall(self.header)))


def _component_params(components: list[Any], kind: str) -> list[Any] | None:
    """The parameters of the first component of this type, or None when there is none."""
    for component in components:
        if isinstance(component, dict) and component.get("type") == kind:
            return list(component.get("parameters") or [])
    return None


def _check_against(registered: MetaTemplate, template: dict[str, Any]) -> Reply | None:
    """Meta's refusals for a send that does not fit the approved template (132000 / 132012)."""
    components = template.get("components") or []
    header = _component_params(components, "header")
    if registered.header and registered.header.lower() in _MEDIA_HEADERS:
        expected = registered.header.upper()
        kinds = [p.get("type") for p in header or [] if isinstance(p, dict)]
        if kinds != [registered.header.lower()]:
            received = kinds[0].upper() if len(kinds) == 1 and kinds[0] else "UNKNOWN"
            return _graph_error(
                400,
                132012,
                "(#132012) Parameter format does not match format in the created template",
                f"header: Format mismatch, expected {expected}, received {received}",
            )
    else:
        given = len(header or [])
        if given != registered.header_params:
            return _count_mismatch("header", given, registered.header_params)
    given = len(_component_params(components, "body") or [])
    if given != registered.body_params:
        return _count_mismatch("body", given, registered.body_params)
    return None


def _count_mismatch(where: str, given: int, expected: int) -> Reply:
    return _graph_error(
        400,
        132000,
        "(#132000) Number of parameters does not match the expected number of params",
        f"{where}: number of localizable_params ({given}) does not match the expected number of params ({expected})",
    )


_SEND_PATH = re.compile(r"^/(v\d+(?:\.\d+)?)/([^/]+)/messages$")
_MEDIA_INFO_PATH = re.compile(r"^/(v\d+(?:\.\d+)?)/([^/]+)$")
_DOWNLOAD_PATH = re.compile(r"^/media-download/([^/]+)$")


class FakeMetaGraph(HTTPFake):
    """The Cloud API send endpoint and the two-step media download (metadata, then bytes).

    Sends are accepted only from the business phone number ids it knows (``phone_number_ids``, by
    default ``DEFAULT_PHONE_NUMBER_IDS``). Template sends are checked against the templates it was
    given (``templates`` / ``add_template``); a name it was not given is accepted on its shape alone,
    unless ``refuse_unknown_templates`` (then it is refused as Meta refuses one not approved: 132001).
    """

    def __init__(
        self,
        access_token: str = "meta-test-token",
        phone_number_ids: Iterable[str] = DEFAULT_PHONE_NUMBER_IDS,
        templates: Iterable[MetaTemplate] = (),
        refuse_unknown_templates: bool = False,
        not_on_whatsapp: Iterable[str] = (),
    ) -> None:
        """``not_on_whatsapp``: numbers (wa_id, with or without +) whose messages are accepted, then fail."""
        super().__init__()
        self.callbacks = CallbackSender()  # statuses webhooks: hold / release, records, wait_for
        self._webhook: tuple[str, str] | None = None  # (url, app secret)
        self._not_on_whatsapp = {str(number).lstrip("+") for number in not_on_whatsapp}
        self._sent: dict[str, tuple[str, str]] = {}  # wamid -> (phone number id, recipient)
        self.access_token = access_token
        self.phone_number_ids = {str(number_id) for number_id in phone_number_ids}
        self.refuse_unknown_templates = refuse_unknown_templates
        self._media: dict[str, tuple[bytes, str] | LargeFile] = {}
        self._digests: dict[str, str] = {}  # a large file's sha256, made once
        self._templates: dict[str, list[MetaTemplate]] = {}
        for template in templates:
            self._register(template)

    def stop(self) -> None:
        self.callbacks.close()
        super().stop()

    def send_statuses_to(self, url: str, app_secret: str) -> None:
        """Post each accepted message's ``statuses`` webhooks to ``url``, signed with ``app_secret``."""
        with self._cond:
            self._webhook = (url, app_secret)

    def add_not_on_whatsapp(self, *wa_ids: str) -> None:
        """Numbers that are not on WhatsApp: sends to them are accepted, then reported failed (131026)."""
        with self._cond:
            self._not_on_whatsapp.update(str(number).lstrip("+") for number in wa_ids)

    def status_post(
        self, wamid: str, status: str, errors: list[dict[str, Any]] | None = None, app_secret: str | None = None,
        phone_number_id: str | None = None,
    ) -> Post:
        """The ``statuses`` webhook for message ``wamid``, signed with the app secret (or the one given, to
        forge; ``phone_number_id`` to report it as another number's)."""
        with self._cond:
            sender, recipient = self._sent[wamid]
            webhook = self._webhook
        if webhook is None:
            raise RuntimeError("call send_statuses_to(url, app_secret) first")
        url, secret = webhook
        payload = meta_status_payload(phone_number_id=phone_number_id or sender, message_id=wamid, status=status,
                                      recipient_id=recipient, errors=errors)
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": meta_signature(body, app_secret or secret)}
        return Post(url, body, headers, {"wamid": wamid, "message_status": status})

    def post_status(
        self, wamid: str, status: str, errors: list[dict[str, Any]] | None = None, app_secret: str | None = None,
        phone_number_id: str | None = None,
    ) -> tuple[int, str]:
        """Post one ``statuses`` webhook now (out of order, forged, another number's); Grace's answer."""
        return self.callbacks.post_now(self.status_post(wamid, status, errors, app_secret, phone_number_id))

    def _schedule_statuses(self, wamid: str, recipient: str) -> None:
        with self._cond:
            if self._webhook is None:
                return
            unreachable = recipient in self._not_on_whatsapp
        steps = ["failed"] if unreachable else ["sent", "delivered", "read"]
        self.callbacks.send_in_order([self.status_post(wamid, status) for status in steps])

    def add_template(
        self, name: str, body: str = "", *, language: str | None = None, header: str | None = None
    ) -> MetaTemplate:
        """Register an approved template, e.g. ``add_template("handoff_alert", "{{1}} asks: {{2}}")``."""
        return self._register(MetaTemplate(name, body, language, header))

    def _register(self, template: MetaTemplate) -> MetaTemplate:
        with self._cond:
            self._templates.setdefault(template.name, []).append(template)
        return template

    def _check_template(self, template: dict[str, Any]) -> Reply | None:
        name, language = template["name"], template["language"]["code"]
        with self._cond:
            known = list(self._templates.get(name, []))
        if not known and not self.refuse_unknown_templates:
            return None
        matching = [t for t in known if t.language in (None, language)]
        if not matching:
            return _graph_error(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                f"template name ({name}) does not exist in {language}",
            )
        return _check_against(matching[0], template)

    def add_media(self, content: bytes, mime_type: str) -> str:
        """Store bytes as if a user had sent them; returns the numeric media id a webhook would carry."""
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        with self._cond:
            self._media[media_id] = (bytes(content), mime_type)
        return media_id

    def add_large_media(self, size: int, mime_type: str, served_as: str = "length") -> str:
        """A media id whose file is ``size`` bytes, made as it is sent and framed as ``served_as`` says
        (``LargeFile``); its metadata tells the true size. How far each download went is in
        ``wait_for_downloads``."""
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        with self._cond:
            self._media[media_id] = LargeFile(size, mime_type, served_as)
        return media_id

    def _digest(self, media_id: str, large: LargeFile) -> str:
        with self._cond:
            known = self._digests.get(media_id)
        if known is None:
            known = large.sha256()
            with self._cond:
                self._digests[media_id] = known
        return known

    def _authorised(self, headers: Message) -> bool:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.access_token.encode()
        )

    @staticmethod
    def _unauthorised() -> Reply:
        return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        if match := _SEND_PATH.match(path):
            if method != "POST":
                return _graph_error(400, 100, "Unsupported get request.")
            return self._send(match.group(2), headers, body)
        if method not in ("GET", "HEAD"):
            return _graph_error(400, 100, f"Unsupported {method.lower()} request.")
        match = _MEDIA_INFO_PATH.match(path) or _DOWNLOAD_PATH.match(path)
        if match is None:
            return _graph_error(404, 803, f"Unknown path components: {path}")
        if not self._authorised(headers):
            return self._unauthorised()
        media_id = match.group(match.lastindex or 1)
        with self._cond:
            stored = self._media.get(media_id)
        if stored is None:
            return _graph_error(
                404, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist"
            )
        if isinstance(stored, LargeFile):
            if path.startswith("/media-download/"):
                return stored.reply()
            mime_type, size, digest = stored.content_type, stored.size, self._digest(media_id, stored)
        else:
            content, mime_type = stored
            if path.startswith("/media-download/"):
                return Reply(200, content, mime_type)
            size, digest = len(content), hashlib.sha256(content).hexdigest()
        return Reply.json(
            200,
            {
                "url": f"{self.base_url}/media-download/{media_id}",
                "mime_type": mime_type,
                "sha256": digest,
                "file_size": size,
                "id": media_id,
                "messaging_product": "whatsapp",
            },
        )

    def _send(self, phone_number_id: str, headers: Message, body: bytes) -> Reply:
        try:
            payload: Any = json.loads(body or b"null")
        except ValueError:
            payload = None
        reply, message = self._judge(phone_number_id, headers, payload)
        if message is not None:
            wamid, recipient = json.loads(reply.body)["messages"][0]["id"], str(message["to"]).lstrip("+")
            with self._cond:
                self._sent[wamid] = (phone_number_id, recipient)
        self._record(
            {
                "status": reply.status,
                "phone_number_id": phone_number_id,
                "json": payload,
                "response": json.loads(reply.body),
            },
            message,
        )
        if message is not None:  # the statuses leave once this answer has (CallbackSender.interval)
            self._schedule_statuses(wamid, recipient)
        return reply

    def _judge(
        self, phone_number_id: str, headers: Message, payload: Any
    ) -> tuple[Reply, dict[str, Any] | None]:
        """Outage, then auth, then the phone number id, then Meta's validation, then success."""
        if failure := self._take_failure():
            status, retry_after = failure
            code, text = _INJECTED.get(status, (131000, "(#131000) Something went wrong"))
            reply = _graph_error(status, code, text, is_transient=status >= 500 or status == 429)
            if retry_after is not None:
                reply.headers["Retry-After"] = str(retry_after)
            return reply, None
        if not self._authorised(headers):
            return self._unauthorised(), None
        if phone_number_id not in self.phone_number_ids:
            return _unknown_object("post", phone_number_id), None
        if isinstance(payload, dict) and payload.get("status") == "read" and payload.get("message_id"):
            return Reply.json(200, {"success": True}), None  # mark-as-read: acknowledged, not a message
        if problem := validate_send(payload):
            return _invalid(problem), None
        if payload.get("type") == "template" and (refusal := self._check_template(payload["template"])):
            return refusal, None
        to = str(payload["to"])
        response = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
            "messages": [{"id": _wamid()}],
        }
        return Reply.json(200, response), {**payload, "phone_number_id": phone_number_id}
