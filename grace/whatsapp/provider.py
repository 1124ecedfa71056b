"""What Grace needs from a WhatsApp provider (Twilio, Meta), whichever it is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from grace.tenancy.registry import Tenant


@dataclass
class MediaRef:
    """A file as the provider names it (Twilio: a URL; Meta: a media id)."""

    ref: str
    content_type: str


@dataclass
class Template:
    """An approved message for writing outside the 24-hour window, per provider."""

    twilio_content_sid: str = ""
    meta_name: str = ""
    language: str = "en"
    # Meta: a template approved with an image header is refused unless each send names the image
    # (e.g. the proof screenshot in an ops alert).
    meta_header: str = ""  # "" or "image"

    @classmethod
    def from_mapping(cls, raw: dict) -> Template:
        """As tenant.yml's `whatsapp_templates` and a broadcast keep one: twilio_content_sid, meta_name,
        language (en), meta_header."""
        return cls(twilio_content_sid=str(raw.get("twilio_content_sid") or ""),
                   meta_name=str(raw.get("meta_name") or ""), language=str(raw.get("language") or "en"),
                   meta_header=str(raw.get("meta_header") or "").lower())


class Provider(Protocol):
    channel: str

    async def fetch_media(self, media: MediaRef) -> tuple[bytes, str]: ...

    async def deliver(self, tenant: Tenant, business_number: str, customer: str, replies: list[dict]) -> None:
        """Send the replies in order; ProviderError when one could not be sent."""

    async def send_template(self, business_number: str, customer: str, template: Template,
                            variables: list[str], image_url: str = "") -> bool:
        """Send an approved template; False when the tenant has none for this provider (or it
        needs an image and there is none)."""


def template_for(tenant: Tenant, kind: str) -> Template | None:
    raw = (tenant.extra.get("whatsapp_templates") or {}).get(kind)
    if not isinstance(raw, dict):
        return None
    return Template.from_mapping(raw)
