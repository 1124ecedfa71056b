"""One inbound path for every channel: tenant, conversation id, safe text, media.

Rasa reads text starting with "/" as an intent literal ("/inform_paid" would skip
the funnel). Customer text never reaches Rasa in that form: the slash is swapped
for a look-alike. Only this module writes intent literals, for media messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 1000  # NLU reads the start; the text is kept in the metadata up to MAX_KEPT
MAX_KEPT = 4000  # characters of one message stored in the conversation (more is a paste, not a request)
# Who a customer is depends on how they reached Grace. A WhatsApp number is vouched for by the provider
# (a signed webhook); a REST sender is whatever its caller says, so REST conversations live apart
# ("web:<sender>") and can never read or act in a WhatsApp customer's conversation, and the
# dashboard's simulator apart again ("sim:<sender>").
REST_NAMESPACE, SIMULATOR_NAMESPACE = "web:", "sim:"
SLASH_LOOKALIKE = "\u2215"
MEDIA_INTENT = "/share_image"


@dataclass
class Inbound:
    tenant_id: str
    customer: str
    text: str
    media: list[dict] = field(default_factory=list)
    customer_name: str | None = None
    message_id: str | None = None
    channel: str = "rest"

    @property
    def conversation_id(self) -> str:
        return conversation_id(self.tenant_id, self.customer)

    def is_empty(self) -> bool:
        return not self.text.strip() and not self.media

    def rasa_text(self) -> str:
        """What Rasa parses: media is an image share whatever its caption; text is only text."""
        if self.media:
            return MEDIA_INTENT
        text = self.text.strip()[:MAX_TEXT]
        if text.startswith("/"):
            text = SLASH_LOOKALIKE + text[1:]
        return text

    def metadata(self) -> dict:
        meta: dict[str, Any] = {"tenant": self.tenant_id, "channel": self.channel}
        if self.media:
            meta["media"] = self.media
            meta["caption"] = self.text[:MAX_TEXT]
        if len(self.text) > MAX_TEXT:
            meta["full_text"] = self.text[:MAX_KEPT]
        if self.customer_name:
            meta["customer_name"] = self.customer_name
        if self.message_id:
            meta["message_id"] = self.message_id
        return meta


def clean_media(raw: object) -> list[dict]:
    """Keep well-formed media entries ({url, content_type}); drop the rest."""
    if not isinstance(raw, list):
        return []
    media = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"].strip():
            media.append({"url": item["url"].strip(), "content_type": str(item.get("content_type") or "")})
    return media


def conversation_id(tenant_id: str, customer: str) -> str:
    """Conversations are kept per (tenant, customer): one phone talking to two businesses is two."""
    return f"{tenant_id}:{customer}"


def is_whatsapp_customer(customer: str) -> bool:
    """A customer key that is a WhatsApp number (not a REST or simulator sender)."""
    return not customer.startswith((REST_NAMESPACE, SIMULATOR_NAMESPACE))


def split_conversation_id(conversation: str) -> tuple[str | None, str]:
    """The inverse of conversation_id; an id without a tenant is the default tenant's."""
    if ":" in conversation:
        tenant_id, customer = conversation.split(":", 1)
        return tenant_id, customer
    return None, conversation
