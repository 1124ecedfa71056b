"""WhatsApp's own text formatting (*bold*, _italic_, ~strike~) shown on a page as it looks on a phone."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

# WhatsApp formats a marked run only when the marks hug the words: "*Lilac Dream*", not "2 * 3 * 4".
_MARKS = ((re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "strong"),
          (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "em"),
          (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"))


def whatsapp_markup(text: str | None) -> Markup:
    """The text escaped first (a customer's words are never markup), then WhatsApp's marks as tags."""
    html = str(escape(text or ""))
    for pattern, tag in _MARKS:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    return Markup(html)
