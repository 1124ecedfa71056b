"""Turn Grace's replies (text, image, buttons) into what WhatsApp can carry.

WhatsApp (through Twilio) takes at most 1,600 characters per message. Long text
is split where a reader would pause (paragraph, line, sentence, word), never
inside a word. Buttons become a numbered list the customer answers by number.
"""
from __future__ import annotations

import re

TWILIO_MAX_BODY = 1600
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")
_CHOICE = re.compile(r"^\s*(?:(?:option|number|no\.?|#)\s*)?(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)


def split_text(text: str, limit: int = TWILIO_MAX_BODY) -> list[str]:
    """Pieces of at most `limit` characters, cut at the latest natural pause."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]  # a boundary right after the limit still counts
    for boundary in ("\n\n", "\n"):
        at = window.rfind(boundary, 0, limit)
        if at > limit // 3:
            return at
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if sentence_ends and sentence_ends[-1] > limit // 3:
        return sentence_ends[-1]
    space = window.rfind(" ", 0, limit + 1)
    if space > 0:
        return space
    return limit  # one "word" longer than a message: nothing better is possible


def button_title(button: dict) -> str:
    return str(button.get("title") or button.get("payload") or "").strip()


def numbered_choices(text: str, buttons: list[dict], prompt: str) -> str:
    """Buttons as a numbered list under the text; the customer replies with a number."""
    lines = [f"{i}. {button_title(b)}" for i, b in enumerate(buttons, 1)]
    return "\n".join(part for part in (text.strip(), "\n".join(lines), prompt) if part)


def chosen_number(text: str) -> int | None:
    """The number a customer answered with ("2", "2.", "option 2"), if that is all they wrote."""
    match = _CHOICE.match(text or "")
    return int(match.group(1)) if match else None


def choice_text(button: dict) -> str:
    """What a chosen button means, as the customer's words: its payload, unless that is an
    intent literal (never forwarded: customers' text is text), then its title."""
    payload = str(button.get("payload") or "").strip()
    if payload and not payload.startswith("/"):
        return payload
    return button_title(button)


TEMPLATE_PARAM_MAX = 1024


def template_text(value: str) -> str:
    """A template parameter Meta and Twilio accept: they refuse empty ones, new lines, tabs and more than four
    spaces in a row (Meta's error 132018, Twilio's 21656), and caps a parameter's length."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text[:TEMPLATE_PARAM_MAX] or "-"
