"""Money, budgets, quantities and option numbers in a message.

find_money is the one reader of amounts of money in a text ("N45,000", "45k", "GHS 84", "12,600/=", "1500
bob", "25 000 FCFA"), with where they are and the ISO 4217 codes their marker can mean; Amount.minor
gives integer minor units of a currency through grace.money.to_minor, never converting another one.
parse_money reads a whole text as one amount; the shop (stated payments) and the model-answer guard
use find_money. Budgets become integer minor units of the tenant's currency through grace.money.to_minor
("under 5k" in a NGN shop -> 500000 kobo; "budget ni 3k", "chini ya 2k" in Swahili). A quantity is a
number with a unit ("12 yards", "6yds", "ten yards", "6 and a half yards") or a bare number that can
only be an amount ("10 of it", "make it 20", "x3"); prices, option numbers, phone numbers, years and
order references are not quantities.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from grace.money import MoneyError, exponent, to_minor
from grace.understanding.text import Token
from grace.understanding.vocabulary import ORDINAL_WORDS, TENS_WORD_NUMBERS, UNITS, UNITS_WORD_NUMBERS


@dataclass(frozen=True)
class Found:
    kind: str   # "budget", "quantity" or "ordinal"
    value: object
    start: int  # character offsets
    end: int


_UNITS_WORDS = sorted(UNITS, key=len, reverse=True)
_UNIT = "(?:" + "|".join(re.escape(u) for u in _UNITS_WORDS) + ")"
_SMALL = "|".join(sorted(UNITS_WORD_NUMBERS, key=len, reverse=True))
_TENS = "|".join(TENS_WORD_NUMBERS)
_WORD_NUMBER = rf"(?:half a dozen|a dozen|dozen|(?:{_TENS})(?:[\s-](?:{_SMALL}))?|{_SMALL})"
# 4,500 or 4500 or 2.5, never the start of a longer number.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,.]?\d)"
_NOT_AFTER = r"(?<![\w.,₦$¢₵#/+-])"


def word_number(text: str) -> int | None:
    text = text.strip().replace("-", " ")
    if text in ("a dozen", "dozen"):
        return 12
    if text == "half a dozen":
        return 6
    parts = text.split()
    if len(parts) == 1:
        return UNITS_WORD_NUMBERS.get(parts[0], TENS_WORD_NUMBERS.get(parts[0]))
    if len(parts) == 2 and parts[0] in TENS_WORD_NUMBERS and parts[1] in UNITS_WORD_NUMBERS:
        return TENS_WORD_NUMBERS[parts[0]] + UNITS_WORD_NUMBERS[parts[1]]
    return None


def _number(text: str) -> int | float | None:
    if text[0].isdigit():
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    return word_number(text)


# ---------------------------------------------------------------- money and budgets

_CURRENCY_BEFORE = (r"(?:₦|ngn|naira|gh₵|gh¢|ghs|ghc|gh|¢|₵|kshs\.?|ksh\.?|kes|usd|\$|n(?=\d)|c(?=\d)"
                    r"|sh\.?(?=\s?\d))")
_CURRENCY_AFTER = r"(?:naira|ngn|cedis|cedi|ghs|ghc|kes|kshs|ksh|shillings|shilling|bob|bucks|/=|/-)"
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mil": 1_000_000, "million": 1_000_000,
                "bn": 1_000_000_000, "billion": 1_000_000_000}
# After a budget's amount: no unit, ordinal ending or count of something else ("within 3 days").
_NOT_MONEY_AFTER = (r"days?|weeks?|months?|years?|yrs?|hours?|hrs?|mins?|minutes?|people|persons?|guests?|times?|kgs?"
                    r"|kilos?|km|am|pm|o'?clock|working|business")
_NOT_QUANTITY = rf"(?!\s*(?:{_UNIT}|%|percent|st\b|nd\b|rd\b|th\b|(?:{_NOT_MONEY_AFTER})\b))"


def _money(suffix: str = "") -> str:
    return (rf"(?:(?P<cur{suffix}>{_CURRENCY_BEFORE})\s?)?(?P<amount{suffix}>{_NUMBER})"
            rf"(?:\s?(?P<mult{suffix}>k|thousand|million|mil|m)\b)?"
            rf"(?:\s?(?P<after{suffix}>{_CURRENCY_AFTER})(?![a-z]))?")


_STRONG_CUES = (r"under|below|beneath|less\s+than|lesser\s+than|lower\s+than|cheaper\s+than|not\s+more\s+than"
                r"|no\s+more\s+than|nothing\s+more\s+than|not\s+above|not\s+over|not\s+exceeding|not\s+to\s+exceed"
                r"|not\s+exceed|no\s+pass|not\s+pass|maximum\s+of|maximum|max|at\s+most|budget"
                r"|chini\s+ya|isizidi\s+ya|isizidi|isipite")  # Swahili: below, not exceeding
_WEAK_CUES = r"within|up\s*to|i\s+(?:only\s+)?have(?:\s+only|\s+just)?|i\s+get|i\s+got|all\s+i\s+have\s+is"
_BUDGET = re.compile(
    rf"\b(?:(?P<strong>{_STRONG_CUES})|(?P<weak>{_WEAK_CUES}))"
    rf"(?:\s+(?:is|of|na|be|about|around|roughly|like|ni|yangu|yetu)\b|\s*[:=-])*\s*"
    rf"{_money()}{_NOT_QUANTITY}"
)
_BUDGET_AFTER = re.compile(
    rf"{_NOT_AFTER}{_money()}\s*(?:or\s+less|or\s+below|and\s+below|or\s+lower|and\s+under|or\s+under|max(?:imum)?"
    rf"|at\s+most|tops|budget)\b"
)
_BUDGET_BETWEEN = re.compile(rf"\bbetween\s+{_money('1')}\s*(?:and|-|to)\s*{_money('2')}{_NOT_QUANTITY}")


def _money_value(match: re.Match, currency: str, suffix: str = "") -> int | None:
    amount = match.group(f"amount{suffix}").replace(",", "")
    mult = match.group(f"mult{suffix}")
    try:
        major = Decimal(amount) * _MULTIPLIERS.get(mult or "", 1)
        return to_minor(format(major, "f"), currency)
    except (InvalidOperation, MoneyError):
        return None


def parse_money(text: str, currency: str) -> int | None:
    """An amount as customers write it ("5k", "GHS 200", "₦4,500", "1500 bob", "2.5 million") in
    minor units of `currency`; None when `text` is not one amount, or names another currency."""
    stripped = text.strip()
    found = find_money(stripped, bare=True)
    if len(found) != 1 or (found[0].start, found[0].end) != (0, len(stripped)):
        return None
    return found[0].minor(currency)


# ---------------------------------------------------------------- money in a text

_NGN, _GHS, _KES = frozenset({"NGN"}), frozenset({"GHS"}), frozenset({"KES"})
_SHILLINGS = frozenset({"KES", "UGX", "TZS"})
_CFA = frozenset({"XOF", "XAF"})
# What customers, banks and mobile-money messages write for a currency, lower-cased without dots and
# spaces, and the ISO 4217 codes it can mean. "N", "c" and "#" count only stuck to the number ("N45,000",
# "#45,000": Nigerians type # for ₦); "N 45,000" only with a capital N.
CURRENCY_MARKERS: dict[str, frozenset[str]] = {
    **dict.fromkeys(["₦", "ngn", "n", "#", "naira"], _NGN),
    **dict.fromkeys(["gh₵", "gh¢", "ghs", "ghc", "gh", "₵", "¢", "c", "cedi", "cedis"], _GHS),
    **dict.fromkeys(["ksh", "kshs", "kes", "bob"], _KES),
    **dict.fromkeys(["sh", "shs", "shilling", "shillings", "/=", "/-"], _SHILLINGS),
    **dict.fromkeys(["ugx", "ush"], frozenset({"UGX"})),
    **dict.fromkeys(["tzs", "tsh"], frozenset({"TZS"})),
    **dict.fromkeys(["$", "us$", "usd", "dollar", "dollars"], frozenset({"USD"})),
    **dict.fromkeys(["£", "gbp"], frozenset({"GBP"})),
    **dict.fromkeys(["€", "eur", "euro", "euros"], frozenset({"EUR"})),
    **dict.fromkeys(["fcfa", "cfa", "xof", "xaf"], _CFA),
}
_NO_CURRENCY = frozenset({"XXX"})  # ISO 4217 "no currency": two markers that disagree ("$20 naira")


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MARKER_BEFORE = ("(?:" + _alternatives(["₦", "gh₵", "gh¢", "₵", "¢", "$", "us$", "£", "€"]) + "|(?:"
                  + _alternatives(["ngn", "ghs", "ghc", "kshs", "ksh", "kes", "shs", "sh", "ush", "ugx", "tsh", "tzs",
                                   "usd", "gbp", "eur", "fcfa", "cfa", "xof", "xaf"])
                  + r")\.?|gh(?=\s?\d)|(?-i:N)(?=\s?\d)|[nc#](?=\d))")
_MARKER_AFTER = ("(?:" + _alternatives(["naira", "ngn", "cedis", "cedi", "ghs", "ghc", "gh₵", "gh¢", "kes", "kshs",
                                        "ksh", "shs", "shillings", "shilling", "bob", "ugx", "tzs", "usd", "dollars",
                                        "dollar", "gbp", "eur", "euros", "euro", "€", "cfa", "xof", "xaf"])
                 + r"|f\s?cfa|/=|/-)")
_MONEY_RE = re.compile(
    rf"(?:(?<![a-z0-9_])(?P<before>{_MARKER_BEFORE})\s{{0,2}}|(?<![\w.,]))"
    # "25 000 FCFA", "25.000 FCFA": francophone thousands, only before a CFA marker
    r"(?P<num>(?P<spaced>\d{1,3}(?:[ .\u00a0\u202f]\d{3})+(?=\s?(?:f\s?cfa|cfa|xof|xaf)(?![a-z])))"
    r"|(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?![\d,.]?\d)"
    r"(?:\s?(?P<mult>k|thousand|million|mil|m|bn|billion)(?![a-z0-9]))?"
    rf"(?:\s?(?P<after>{_MARKER_AFTER})(?![a-z0-9]))?"
    r"(?![a-z0-9_])",
    re.IGNORECASE,
)
_MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august" \
          r"|september|october|november|december"
# Right before a number: what makes it a reference, an account, a phone, a till or a date, not money.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|ref|reference|no|nos|number|num|nbr|id|code|account|acct|acc|a/c|tel|phone|call|whatsapp|invoice"
    r"|receipt|txn|transaction|session|trans|ticket|till|paybill|agent|store|option|item|namba|nambari"
    rf"|{_MONTHS})|#)\W{{0,3}}$",
    re.IGNORECASE,
)
# Right after a bare number: a unit, a count, a time, a date, a percentage: not money.
_COUNT_NEXT = rf"\s*(?:(?:{_UNIT}|{_NOT_MONEY_AFTER}|percent|{_MONTHS})\b|%)"
_NOT_MONEY_NEXT = re.compile(rf"{_COUNT_NEXT}|[:/*\-]\d|\*|[ -]\d", re.IGNORECASE)
_COUNTED_NEXT = re.compile(_COUNT_NEXT, re.IGNORECASE)
# A group of digits right before or after ("+234 803 123 4567", "0123 456 789"): a phone or an account.
_GROUPED_BEFORE = re.compile(r"\d[ -]$")
# After "5m" with no currency: five metres, not five million.
_LENGTH_NEXT = re.compile(r"\s*(?:of|long|wide|length|lengths|each|per|by|x)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Amount:
    """An amount of money as written in a text."""

    text: str                   # as written ("N45,000", "45k", "12,600/=")
    major: Decimal              # in major units, multiplier applied ("45k" -> 45000)
    currencies: frozenset[str]  # the ISO 4217 codes its marker can mean; empty when none is written
    multiplied: bool            # "k", "m", "thousand", "million"
    start: int                  # character offsets in the text
    end: int

    @property
    def marked(self) -> bool:
        """A currency or a multiplier says it is money; a bare number ("45000") may be anything."""
        return bool(self.currencies) or self.multiplied

    def minor(self, currency: str) -> int | None:
        """In minor units of `currency`; None when its marker names another currency (never
        converted) or it has more decimals than `currency` has."""
        if self.currencies and currency.upper() not in self.currencies:
            return None
        try:
            return to_minor(format(self.major, "f"), currency)
        except MoneyError:
            return None


def _marker(written: str | None) -> frozenset[str]:
    if not written:
        return frozenset()
    return CURRENCY_MARKERS.get(re.sub(r"[\s.]", "", written.lower()), _NO_CURRENCY)


# Between the two ends of a range of money ("GHS 40-80", "3,000 to 6,000 naira"): the currency written
# at one end is the other end's too.
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|to)\s*", re.IGNORECASE)
# Price wording around a bare number: "5,000 per yard", "4500/yard", "4,500 a piece", "costs 4500".
_PER_UNIT_NEXT = re.compile(rf"\s*(?:/\s*|per\s+|an?\s+)(?:{_UNIT})(?![a-z])", re.IGNORECASE)
_PRICE_BEFORE = re.compile(r"\b(?:costs?|costing|priced\s+at|price\s+is|prices?\s*:|going\s+for|sells?\s+(?:at|for)"
                           r"|selling\s+(?:at|for))\s*$", re.IGNORECASE)


@dataclass
class _Candidate:
    match: re.Match
    digits: str
    currencies: frozenset[str]
    mult: str
    bare_ok: bool        # a bare number that is none of an account, phone, date, time, quantity...
    bare_ok_in_range: bool  # the same, leaving out what a range's dash or "to" would trip

    @property
    def marked(self) -> bool:
        return bool(self.currencies or self.mult)

    @property
    def number(self) -> Decimal:
        return Decimal(self.digits)

    @property
    def major(self) -> Decimal:
        return self.number * _MULTIPLIERS.get(self.mult.lower(), 1)


def _candidates(text: str) -> list[_Candidate]:
    found = []
    for match in _MONEY_RE.finditer(text):
        before, after, mult = match.group("before"), match.group("after"), match.group("mult")
        currencies = _marker(before)
        if after:  # "GHS 84 cedis" agrees; "$20 naira" is no currency at all
            currencies = (currencies & _marker(after) or _NO_CURRENCY) if currencies else _marker(after)
        number = match.group("num")
        digits = re.sub(r"[ .\u00a0\u202f]", "", number) if match.group("spaced") else number.replace(",", "")
        whole = digits.split(".")[0]
        weak = (before or "").lower() in ("#", "n", "c") or not (currencies or mult)
        if weak and _REFERENCE_BEFORE.search(text[max(0, match.start() - 30):match.start()]):
            continue  # "order #1042", "till 5123456", "ref 7751234", "nov 28"
        if before == "#" and len(whole) < 3 and "," not in number:
            continue  # "#2" is an option number
        following = text[match.end():match.end() + 20]
        if mult and mult.lower() == "m" and not currencies and _LENGTH_NEXT.match(following):
            continue  # "5m of lace": metres
        preceding = text[max(0, match.start() - 2):match.start()]
        account_like = whole.startswith("0") or len(whole) > 7
        # a range's dash is no phone's ("40-80"), its spaces may be ("0803 123 4567")
        in_range = not (account_like or preceding[-1:] in ("+", "/", ":", "*") or re.search(r"\d $", preceding)
                        or _COUNTED_NEXT.match(following))
        bare_ok = (in_range and preceding[-1:] != "-" and not _GROUPED_BEFORE.search(preceding)
                   and not _NOT_MONEY_NEXT.match(following))
        found.append(_Candidate(match, digits, currencies, mult or "", bare_ok, in_range))
    return found


def _range_end(text: str, first: _Candidate, second: _Candidate) -> bool:
    """`first` and `second` are the two ends of one range: joined by a dash or "to", going up, the
    upper end at most ten times the lower ("GHS 40-80", not "GHS 84 to 0244123456")."""
    joined = _RANGE_JOIN.fullmatch(text, first.match.end(), second.match.start())
    return bool(joined) and first.number < second.number <= 10 * first.number


def find_money(text: str, *, bare: bool = False, priced: bool = False) -> list[Amount]:
    """The amounts of money in `text` with where they are, in order: with a currency ("₦45,000",
    "N45,000", "#45,000", "GHS 84", "GH¢84", "84 cedis", "Ksh12,600.00", "12,600/=", "1500 bob", "$30",
    "25 000 FCFA") or a multiplier ("45k", "2.5m", "2.5 million"); both ends of a range take the currency
    written at one of them ("GHS 40-80", "3,000 to 6,000 naira", "20-30k"). With `priced`, bare numbers
    in price wording too ("5,000 per yard", "4500/yard", "costs 4500"). With `bare`, numbers alone too
    ("45000", "45,000.50"), but never one that is an account, phone, date, time, quantity, percentage
    or reference ("0123456789", "28/11/26", "3:14", "12 yards", "ref 7751234", "AKR-23456")."""
    candidates = _candidates(text)
    found = []
    for k, candidate in enumerate(candidates):
        match = candidate.match
        currencies, mult = candidate.currencies, candidate.mult
        if not candidate.marked:
            previous = candidates[k - 1] if k else None
            following = candidates[k + 1] if k + 1 < len(candidates) else None
            if (previous is not None and previous.currencies and not previous.mult and candidate.bare_ok_in_range
                    and _range_end(text, previous, candidate)):
                currencies = previous.currencies  # "GHS 40-80": 80 cedis too
            elif (following is not None and following.marked and candidate.bare_ok_in_range
                  and _range_end(text, candidate, following)):
                currencies, mult = following.currencies, following.mult  # "3,000 to 6,000 naira", "20-30k"
            elif not (bare or priced) or not candidate.bare_ok:
                continue
            elif not bare and not (_PER_UNIT_NEXT.match(text, match.end())
                                   or _PRICE_BEFORE.search(text[max(0, match.start() - 30):match.start()])):
                continue  # a bare number outside price wording may be anything
        major = candidate.number * _MULTIPLIERS.get(mult.lower(), 1)
        found.append(Amount(match.group(0), major, currencies, bool(mult), match.start(), match.end()))
    return found


def per_unit(text: str, amount: Amount) -> bool:
    """`amount` is said to be the price of one unit ("₦4,500 per yard", "2k a piece", "GH₵95/yard")."""
    return bool(_PER_UNIT_NEXT.match(text, amount.end))


def find_budgets(low: str, currency: str) -> list[Found]:
    found: list[Found] = []
    for match in _BUDGET_BETWEEN.finditer(low):
        value = _money_value(match, currency, "2")
        if value is not None:
            found.append(Found("budget", value, match.start(), match.end()))
    for pattern in (_BUDGET, _BUDGET_AFTER):
        for match in pattern.finditer(low):
            marked = match.group("cur") or match.group("mult") or match.group("after")
            if pattern is _BUDGET and match.group("weak") and not marked:
                continue  # "i have 12" is no budget; "i have 15k" is
            value = _money_value(match, currency)
            if value is not None and (marked or value >= 10 * 10 ** exponent(currency)):  # "kids under 5"
                found.append(Found("budget", value, match.start(), match.end()))
    return found


# ---------------------------------------------------------------- quantities

_QUANTITY = re.compile(rf"{_NOT_AFTER}(?P<num>{_NUMBER}|{_WORD_NUMBER})\s*-?\s*(?P<unit>{_UNIT})(?![\w])")
_BARE = (
    re.compile(rf"{_NOT_AFTER}(?P<num>\d{{1,6}}|{_WORD_NUMBER})\s+of\s+(?:it|that|this|them|those|these|the|each|"
               r"both|dem|am|una|every|all|my|your|ur)\b"),
    re.compile(rf"{_NOT_AFTER}(?P<num>\d{{1,6}}|{_WORD_NUMBER})\s*(?:each|apiece|more|extra)\b"),
    re.compile(rf"\b(?:make\s+(?:it|am|that|them|dem)|change\s+(?:it\s+|am\s+|that\s+)?to|increase\s+(?:it\s+|am\s+)?to"
               rf"|reduce\s+(?:it\s+|am\s+)?to)\s+(?P<num>\d{{1,6}}|{_WORD_NUMBER})"
               r"(?![\w.,%/])(?!\s*(?:k\b|naira|cedis?|ghs|kes|ksh|bob|shillings?|thousand|million))"),
    # "give me 2", "nipe 2": a count alone at the end, where a price, a time or options would carry a word
    re.compile(r"\b(?:nipe|niwekee|give\s+me|gimme|bring)\s+(?P<num>\d{1,3})(?=\s*(?:[.,!?🙏]|$|(?:pls|please|plz"
               r"|tafadhali|abeg|biko|only|tu|za|ya|of)\b))"),
    re.compile(r"(?<![\w.])x\s?(?P<num>\d{1,4})(?![\w.,])"),
    re.compile(r"(?<![\w.,#-])(?P<num>\d{1,4})\s?x(?![\w])"),
)


# "-5 yards", "minus 5 yards": kept as written, negative, so the order can refuse it rather than read 5
# ("marigold - 5 yards", with a space after the dash, is a dash).
_NEGATIVE = re.compile(rf"(?:(?<![\w.,-])-|\bminus\s+)(?P<num>{_NUMBER})\s*(?P<unit>{_UNIT})(?![\w])")

# "half a yard", "6 and a half yards", "one and half yards"
_HALF = re.compile(rf"{_NOT_AFTER}(?:(?P<num>{_NUMBER}|{_WORD_NUMBER})\s+and\s+(?:a\s+)?half|half(?:\s+an?)?)\s+"
                   rf"(?P<unit>{_UNIT})(?![\w])")


def find_quantities(low: str) -> list[Found]:
    found: list[Found] = []
    for match in _HALF.finditer(low) if "half" in low else ():
        whole = _number(match.group("num")) if match.group("num") else 0
        if whole is not None and whole <= 1_000_000:
            found.append(Found("quantity", {"amount": whole + 0.5, "unit": UNITS[match.group("unit")]},
                               match.start(), match.end()))
    for match in _NEGATIVE.finditer(low) if "-" in low or "minus" in low else ():
        amount = _number(match.group("num"))
        if amount is not None:
            found.append(Found("quantity", {"amount": -amount, "unit": UNITS[match.group("unit")]},
                               match.start(), match.end()))
    for match in _QUANTITY.finditer(low):
        amount = _number(match.group("num"))
        if amount is not None and amount <= 1_000_000:
            found.append(Found("quantity", {"amount": amount, "unit": UNITS[match.group("unit")]},
                               match.start(), match.end()))
    for pattern in _BARE:
        for match in pattern.finditer(low):
            raw = match.group("num")
            amount = _number(raw)
            if amount is None or (raw.isdigit() and len(raw) == 4 and 1900 <= int(raw) <= 2100):
                continue  # a year
            if raw == "one" and pattern in (_BARE[0], _BARE[1]):
                continue  # "one of them" picks a fabric, "one more thing" is no amount
            found.append(Found("quantity", {"amount": amount, "unit": None}, match.start("num"), match.end("num")))
    return found


# A whole message that is a number and nothing else: the answer to "how many yards?".
_FILLER = r"(?:ok(?:ay)?|oya|sawa|sure|then|just|make it|make am|abeg|pls|please|plz|o|oo|na|ni|only|yards?|yds?)"
_ONLY_A_NUMBER = re.compile(rf"(?:{_FILLER}[\s,]*)*(?P<num>\d{{1,6}}(?:\.\d+)?|{_WORD_NUMBER})"
                            rf"(?:[\s,]*{_FILLER})*[\s.!🙏🏾👍]*")


def only_a_number(text: str) -> int | float | None:
    """The number when the message is a number and nothing else ("12", "12 pls", "ok twelve", "make it
    20 then"); None otherwise. Out of context a bare number is no quantity (the extractor leaves it):
    the dialogue uses this when it has just asked how many."""
    match = _ONLY_A_NUMBER.fullmatch(text.strip().lower())
    return _number(match.group("num")) if match else None


# ---------------------------------------------------------------- option numbers

_OPTION = re.compile(
    r"(?<![\w#])(?P<cue>number|numba|nambari|namba|num|nbr|nos\.|nos|no\.|no|n°|option|opt|item|design|pic|picture"
    r"|photo|image|#)\s*"
    rf"(?P<nums>\d{{1,2}}(?:\s*(?:,|and|&|n|or|/)\s*\d{{1,2}})*)(?!\d)(?!\s*(?:{_UNIT}|k\b|%|naira|cedis?|bob))"
)
# "number two", "option three please"; not "number one customer", "no one", "no two are the same".
_OPTION_WORD = re.compile(
    r"(?<![\w#])(?:number|numba|nambari|namba|option|opt|item|design|pic|picture|photo|image)\s+"
    rf"(?P<word>{'|'.join(sorted(UNITS_WORD_NUMBERS, key=len, reverse=True))})"
    r"(?=\s*(?:$|[,.!?;:&)]|(?:and|or|n|pls|plz|please|abeg|too|also|biko|tafadhali)\b))"
)
_OPTION_WORD_CUES = ("numb", "namb", "opt", "item", "design", "pic", "photo", "image")
_ORDINAL = re.compile(rf"(?<![\w])(?:(?P<digits>\d{{1,2}})(?:st|nd|rd|th)|(?P<word>{'|'.join(ORDINAL_WORDS)}))\b")
_ORDINAL_NOUNS = frozenset("one ones option options fabric design pic picture photo image item print".split())
_ORDINAL_OK_AFTER = frozenset("and or pls please too also abeg is looks dey na".split())
_ORDINAL_FILLERS = frozenset("i want take the one ok okay pls please abeg oya give me send lemme let i'll ill".split())
_DATE_BEFORE = frozenset("on by before after till until from since".split())


def find_ordinals(low: str, tokens: list[Token]) -> list[Found]:
    found: list[Found] = []
    for match in _OPTION.finditer(low):
        first = True
        for number in re.finditer(r"\d{1,2}", match.group("nums")):
            value = int(number.group(0))
            if value < 1:
                continue
            start = match.start() if first else match.start("nums") + number.start()
            found.append(Found("ordinal", value, start, match.start("nums") + number.end()))
            first = False
    for match in _OPTION_WORD.finditer(low) if any(cue in low for cue in _OPTION_WORD_CUES) else ():
        found.append(Found("ordinal", UNITS_WORD_NUMBERS[match.group("word")], match.start(), match.end()))
    by_start = {t.start: k for k, t in enumerate(tokens)}
    for match in _ORDINAL.finditer(low):
        k = by_start.get(match.start())
        if k is None:
            continue
        value = int(match.group("digits")) if match.group("digits") else ORDINAL_WORDS[match.group("word")]
        if value == 0:
            continue
        before = tokens[k - 1].norm if k > 0 else ""
        before2 = tokens[k - 2].norm if k > 1 else ""
        after = tokens[k + 1].norm if k + 1 < len(tokens) else ""
        ends = k + 1 == len(tokens) or low[tokens[k].end:tokens[k + 1].start].strip() not in ("", "-")
        others = {t.norm for i, t in enumerate(tokens) if i != k}
        pointed = before in ("the", "dat", "that", "di", "d", "your", "ur") and before2 not in _DATE_BEFORE
        if after in _ORDINAL_NOUNS or (pointed and (ends or after in _ORDINAL_OK_AFTER)) or others <= _ORDINAL_FILLERS:
            found.append(Found("ordinal", value, match.start(), match.end()))
    return found
