"""Small text helpers for fabric search."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100, "a dozen": 12, "dozen": 12,
}
def normalise(text: str) -> str:
    """Lower case, word numbers as digits ("ten yards" -> "10 yards")."""
    text = text.lower().replace("’", "'")
    for word, number in sorted(WORD_NUMBERS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"\b{word}\b", str(number), text)
    return text


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def fuzzy_in(needle: str, haystack_words: list[str], threshold: float = 0.82) -> bool:
    """Whether a (possibly multi-word) phrase appears in the words, tolerating typos."""
    parts = needle.lower().split()
    n = len(parts)
    target = " ".join(parts)
    for i in range(len(haystack_words) - n + 1):
        window = " ".join(haystack_words[i:i + n])
        if window == target or (len(target) >= 4 and similar(window, target) >= threshold):
            return True
    return False
