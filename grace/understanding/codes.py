"""Promotion codes and order references in a message.

A tenant's own codes are found in any case, with or without a space or hyphen between the
letters and the digits ("akwaaba 15"), expired ones too (the action says it has expired).
A code the shop does not have is still read when it looks like one: an upper-case word of
letters and digits ("SALE20"), the word after "code", "promo", "coupon" or "voucher", or a word in
capitals after "redeem", "use", "apply" or "enter".
Order references are the tenant's prefix and five characters of the reference alphabet,
written with or without the dash, in any case: "aka7kq2m" -> "AKA-7KQ2M"; but the shop's own name
is no reference, though it may read as one ("HELLO AKANRABY" is AKA and NRABY).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from grace.understanding.vocabulary import COMMON, UNITS

REFERENCE_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # as grace.shop.orders makes them
_CURRENCIES = r"(?:NGN|GHS|GHC|KES|KSH|KSHS|USD|N|C)"
# "owambe 10 yards" is ten yards for an owambe, not the code OWAMBE10.
_NO_UNIT_AFTER = r"(?!\s*-?\s*(?:" + "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True)) + r")\b)"


@dataclass(frozen=True)
class CodeMatch:
    kind: str   # "promo_code" or "order_ref"
    value: str
    start: int
    end: int
    known: bool  # one of the tenant's own promotion codes / the tenant's prefix


def _chunks(code: str) -> list[str]:
    return re.findall(r"[A-Za-z]+|\d+", code)


@dataclass
class CodeIndex:
    known: re.Pattern | None
    canonical: dict[str, str]   # "AKWAABA15" -> "AKWAABA15" (the tenant's spelling, upper case)
    order_ref: re.Pattern
    prefix: str
    plain_words: frozenset[str]  # the catalog's words: "promo lace" asks about lace, it names no code
    shop_words: frozenset[str] = frozenset()  # the shop's name and id, lower case: "akanraby", "atuche"

    @classmethod
    def build(cls, codes: list[str], order_prefix: str, plain_words: frozenset[str] = frozenset(),
              shop_name: str = "") -> CodeIndex:
        alternatives, canonical = [], {}
        for code in sorted(set(codes), key=len, reverse=True):
            chunks = _chunks(code)
            if not chunks:
                continue
            alternatives.append(r"[\s_-]?".join(re.escape(c) for c in chunks))
            canonical["".join(chunks).upper()] = code.strip().upper()
        known = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])" + _NO_UNIT_AFTER,
                           re.IGNORECASE) if alternatives else None
        chars = "[" + REFERENCE_CHARS + "]"
        order_ref = re.compile(
            rf"(?<![A-Za-z0-9]){re.escape(order_prefix)}(?P<gap>[\s_-]?)(?P<code>{chars}{{5}})(?![A-Za-z0-9])",
            re.IGNORECASE)
        # "AkanrabyAtuche" is written "Akanraby" too: each capitalised part is a word of the name, as is the whole
        words = re.findall(r"\w+", shop_name)
        shop_words = frozenset(part.lower() for word in words for part in [word, *re.findall(r"[A-Z][a-z]+", word)])
        return cls(known, canonical, order_ref, order_prefix.upper(), plain_words, shop_words)


_CUE = re.compile(
    r"\b(?:(?:promo(?:tion)?|coupon|voucher|discount|referral)\s+)?(?P<cue>code|promo|coupon|voucher)\b"
    r"(?P<said>\s+(?:is|na|be|ni)\b|\s*[:=-])?\s*(?P<code>[A-Za-z0-9][A-Za-z0-9-]{2,19})(?![\w-])",
    re.IGNORECASE,
)
_CODE_LIKE = re.compile(r"(?<![A-Za-z0-9-])[A-Z][A-Z0-9]{3,19}(?![A-Za-z0-9-])")
# An M-Pesa message starts with its transaction code: "QFT7H2K9LM Confirmed. Ksh380.00 sent to ...".
_TRANSACTION_CODE = re.compile(r"\s*confirmed\b", re.IGNORECASE)
_NOT_A_CODE = frozenset("code codes promo coupon voucher discount please pls for is the a an and or to of on in it "
                        "this that my your you do does dey no not any abeg mine "
                        "yangu yako yetu langu lako ni hii hiyo ile".split())  # Swahili: my, your, our, is, this
# A word in capitals after "redeem", "use", "apply" or "enter" is written as a code: "redeem FIRSTORDER".
_VERB_CUE = re.compile(r"\b(?i:redeem|use|apply|enter)\s+(?P<code>[A-Z][A-Z0-9]{4,19})(?![\w-])")


def _plain_word(index: CodeIndex, word: str) -> bool:
    """A word of the language or of the catalog, never a code however it is cued ("code please", "use LAGOS")."""
    lowered = word.lower()
    return lowered in _NOT_A_CODE or lowered in COMMON or lowered in index.plain_words


def find_codes(index: CodeIndex, text: str) -> list[CodeMatch]:
    found: list[CodeMatch] = []
    for match in index.order_ref.finditer(text):
        if not match.group("gap") and match.group(0).lower() in index.shop_words:
            continue
        reference = f"{index.prefix}-{match.group('code').upper()}"
        found.append(CodeMatch("order_ref", reference, match.start(), match.end(), True))
    if index.known:
        for match in index.known.finditer(text):
            key = re.sub(r"[\s_-]", "", match.group(0)).upper()
            found.append(CodeMatch("promo_code", index.canonical.get(key, key), match.start(), match.end(), True))
    for match in _CUE.finditer(text):
        code = match.group("code")
        if _plain_word(index, code):
            continue
        if code.isdigit() and len(code) < 4:
            continue
        if not any(c.isdigit() for c in code):  # a word: only "code X", "coupon is X", or written as a code
            said = match.group("cue").lower() == "code" or match.group("said")
            if len(code) < 4 or not (said or code.isupper()):
                continue
        found.append(CodeMatch("promo_code", code.upper(), match.start("code"), match.end("code"), False))
    shouted = text.upper() == text  # "PLS USE LAGOS SUNSET": capitals say nothing in a message all in capitals
    for match in () if shouted else _VERB_CUE.finditer(text):
        if not _plain_word(index, match.group("code")):
            found.append(CodeMatch("promo_code", match.group("code"), match.start("code"), match.end("code"), False))
    for match in _CODE_LIKE.finditer(text):
        token = match.group(0)
        letters = sum(c.isalpha() for c in token)
        if letters < 3 or not any(c.isdigit() for c in token) or re.fullmatch(rf"{_CURRENCIES}\d+K?", token):
            continue
        if _TRANSACTION_CODE.match(text, match.end()):
            continue
        found.append(CodeMatch("promo_code", token, match.start(), match.end(), False))
    return found
