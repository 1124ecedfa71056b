"""A message as words with their places in the text, and the words of catalog names."""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 1_000  # only the start of a long message is read

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Token:
    text: str   # as written
    norm: str   # lower case, apostrophes dropped ("oba's" -> "obas")
    base: str   # without a possessive 's ("oba's" -> "oba"), else norm
    start: int
    end: int

    @property
    def has_digit(self) -> bool:
        return any(c.isdigit() for c in self.norm)


def lower_same_length(text: str) -> str:
    """Lower case with every character kept in its place, so offsets stay those of `text`."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def norm_word(word: str) -> str:
    return word.lower().replace("'", "").replace("’", "")


def base_word(word: str) -> str:
    lowered = word.lower()
    for mark in ("'s", "’s"):
        if lowered.endswith(mark):
            return norm_word(lowered[: -len(mark)])
    return norm_word(lowered)


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), norm_word(m.group(0)), base_word(m.group(0)), m.start(), m.end())
            for m in _WORD.finditer(text)]


def name_words(name: str) -> list[str]:
    """The words of a catalog name or phrase, normalised as message tokens are."""
    return [norm_word(m.group(0)) for m in _WORD.finditer(name)]


def singular_forms(word: str) -> list[str]:
    """Plausible singulars of a plural word ("laces" -> "lace", "batiks" -> "batik", "dresses" -> "dress")."""
    forms = []
    if len(word) > 3 and word.endswith("es"):
        forms.append(word[:-2])
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    return forms
