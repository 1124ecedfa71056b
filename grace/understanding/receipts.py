"""What a payment receipt says, from the text OCR read off a customer's proof picture.

Bank apps, wallets and mobile-money messages print the amount sent, the date, the narration or
reference the customer typed, and the account that received the money, among balances, fees, session
ids and the sender's details. read_receipt picks those four out of the text (amounts through
find_money, the one reader of money), tolerant of what OCR does to a receipt: "₦" read as "#" or a
stray quote, words run together, a reference with an O for a Q. judge compares a reading with what the
payment expected: "match", "mismatch" or "unreadable". The verdict is advice for ops beside the
picture: it never verifies a payment (a receipt is easy to draw; only the bank statement is proof).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date

from rapidfuzz.distance import Levenshtein

from grace.understanding.amounts import Amount, find_money

MATCH, MISMATCH, UNREADABLE = "match", "mismatch", "unreadable"
TEXT_KEPT = 1500  # characters of the OCR text kept with the reading, for ops and for a later look

# Before an amount (in the 40 characters up to it): what makes it the amount sent...
_SENT = re.compile(r"\b(?:amount|amt|sent|paid|payment\s+(?:made\s+)?(?:for|of)|transfer(?:red)?(?:\s+of)?|debited"
                   r"|total|you\s+(?:have\s+)?(?:sent|paid)|successful|payment\s+sent|value)\b", re.I)
# ...or not: the sender's balance, a fee, a tax, a daily limit.
_NOT_SENT = re.compile(r"\b(?:bal|balance|fee|fees|charge|charges|charged|cost|tax|vat|e-?levy|levy|commission"
                       r"|limit|transact(?:ion)?\s+within|you\s+can\s+transact|cashback|reward|points)\b", re.I)
_MONTHS = {m: k + 1 for k, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATES = (
    re.compile(r"(?<!\d)(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"),
    # Day first: how Nigeria, Ghana and Kenya write dates (and their banks' and M-Pesa's messages).
    re.compile(r"(?<![\d/.])(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>(?:20)?\d\d)(?![\d/])"),
    re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s-]+{_MONTH}[\s,-]+(?P<y>20\d\d)(?!\d)", re.I),
    re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>20\d\d)(?!\d)", re.I),
)
# The field a customer types words into: narration, remark, description, M-Pesa's "account".
_NARRATION = re.compile(r"\b(?:narration|remarks?|description|purpose|memo|note|reference|ref|for\s+account)\b"
                        r"[\s:.#-]*(?P<value>[^\n]{1,60})", re.I)
# An account number: 6 to 13 digits, maybe masked in the middle ("012****789"), never inside a longer run.
_ACCOUNT = re.compile(r"(?<![\d*xX])(?P<number>\d[\d*xX]{4,11}\d)(?![\d*xX])")
# Before a number within its line: the account that received the money...
_RECEIVING = re.compile(r"(?:\b(?:beneficiary|recipient|receiver|account|acct|a/c|acc|paybill|pay\s*bill|till"
                        r"|business\s+(?:no|number)|merchant|wallet|momo|credited|sent\s+to|paid\s+to|to)\b|\|)",
                        re.I)
# ...or something else: the sender's account, a transaction, session or reference number.
_NOT_RECEIVING = re.compile(r"\b(?:sender|from|debit(?:ed)?|source|originator|session|transaction|txn|trans"
                            r"|reference|ref|receipt|id|no\.?\s*$|code|phone|tel|balance)\b", re.I)
# A J or an I that OCR read as a bracket, brace or bar, where it stands for the letter.
_BRACES = str.maketrans({"]": "J", "}": "J", ")": "J", "[": "I", "{": "I", "(": "I", "|": "I"})
# OCR's usual confusions in a reference's letters and digits, folded alike on both sides.
_FOLD = str.maketrans({"0": "Q", "O": "Q", "D": "Q", "5": "S", "2": "Z", "8": "B", "6": "G", "1": "I", "L": "I",
                       "7": "T", "4": "A"})


@dataclass(frozen=True)
class ReceiptReading:
    """What a receipt says; None where it could not be read."""

    amount_minor: int | None      # the amount sent, in minor units of the order's currency
    currency: str
    date: str | None              # ISO date printed on the receipt
    reference: str | None         # an order reference of this business found on it ("AKA-7KQ2M")
    narration: str | None         # what the narration / remark / reference field says, as read
    account: str | None           # the receiving account number printed (digits, maybe masked)
    text: str = ""                # the OCR text, trimmed
    amounts: list[int] = field(default_factory=list)  # every amount read as sent, most likely first

    def as_json(self) -> dict:
        return asdict(self)


def clean_ocr(text: str) -> str:
    """OCR text made readable by find_money: letters O/o/l/I between digits become digits, spaces
    that OCR put inside a grouped number ("45, 000.00") go, and smart quotes become plain ones."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"(?<=\d)[Oo](?=[\d,.])|(?<=[\d,])[Oo](?=\d)", "0", text)
    text = re.sub(r"(?<=\d)[lI](?=[\d,.]\d)", "1", text)
    text = re.sub(r"(?<=\d),\s(?=\d{3}\b)", ",", text)
    return text.replace("\u201c", '"').replace("\u201d", '"')


def read_receipt(text: str, currency: str, *, order_prefix: str, expected_reference: str | None = None
                 ) -> ReceiptReading:
    """The amount sent, date, order reference, narration and receiving account in a receipt's OCR
    text, for a business whose orders are in `currency` and referenced "<order_prefix>-XXXXX" (the order's
    own `expected_reference` is also recognised through one OCR slip)."""
    text = clean_ocr(text)
    amounts = sent_amounts(text, currency)
    return ReceiptReading(
        amount_minor=amounts[0] if amounts else None, currency=currency.upper(), date=receipt_date(text),
        reference=order_reference(text, order_prefix, expected_reference), narration=narration(text),
        account=receiving_account(text), text=text.strip()[:TEXT_KEPT], amounts=amounts)


def sent_amounts(text: str, currency: str) -> list[int]:
    """The amounts that may be the one sent, most likely first. A receipt prints the amount sent once
    or twice (a big "₦45,000.00" and an "Amount NGN 45,000.00" row) among balances and fees: each
    amount in `currency` scores for a label saying it was sent, a currency marker and two decimals;
    a balance, fee, tax or limit scores nothing; the same value printed twice adds up."""
    flat = text.replace("\n", " ")
    found = find_money(flat, bare=True)
    scores: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    for k, amount in enumerate(found):
        minor = amount.minor(currency)
        if minor is None or minor <= 0:
            continue  # another currency, or nothing
        ahead = flat[max(found[k - 1].end if k else 0, amount.start - 40):amount.start]
        if _NOT_SENT.search(ahead):
            continue
        score = _score(amount, ahead)
        if score <= 0:
            continue
        scores[minor] = scores.get(minor, 0) + score
        first_seen.setdefault(minor, k)
    return sorted(scores, key=lambda minor: (-scores[minor], first_seen[minor]))


def _score(amount: Amount, ahead: str) -> float:
    decimals = re.search(r"\.\d\d$", amount.text.rstrip()) is not None
    labelled = _SENT.search(ahead) is not None
    if not (amount.marked or decimals or labelled):
        return 0  # a bare whole number: a count, a code, a time
    return 3 * labelled + 2 * bool(amount.currencies) + 1 * decimals + 0.5 * amount.multiplied


def receipt_date(text: str) -> str | None:
    """The first date printed, as an ISO date (day first when written with slashes)."""
    best: tuple[int, str] | None = None
    for pattern in _DATES:
        for match in pattern.finditer(text):
            month = match.group("m") if "m" in match.groupdict() else None
            number = int(month) if month else _MONTHS.get(match.group("mon").lower()[:3], 0)
            year = int(match.group("y"))
            year = year + 2000 if year < 100 else year
            try:
                found = date(year, number, int(match.group("d"))).isoformat()
            except ValueError:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), found)
            break
    return best[1] if best else None


def _prefixed(order_prefix: str) -> str:
    """The business's order prefix starting a word, then what may stand between it and the code ("AKA-",
    "aka ", "AKA")."""
    return rf"(?<![A-Za-z0-9]){re.escape(order_prefix)}\s?[-_–—.]?\s?"


def order_reference(text: str, order_prefix: str, expected: str | None = None) -> str | None:
    """The order's own `expected` reference where the text has it, through one OCR slip (a letter doubled,
    dropped or misread, a J read as a brace, the code split in two: "KCN-UXHSS8", "KCN-PANS}", "AKA-5F 282");
    else the first reference of this business's shape as printed ("AKA-7KQ2M", "aka 7kq2m", "AKA7KQ2M")."""
    if expected and _has_near(text, order_prefix, expected):
        return expected.upper()
    # OCR puts a stray bracket or bar beside a J or an I ("KCN-PANS]J"): allowed between the characters.
    pattern = re.compile(_prefixed(order_prefix) + r"(?P<code>(?:[A-Za-z0-9][\]\[|]?){5})(?![A-Za-z0-9])", re.I)
    match = pattern.search(text)
    if match:
        return f"{order_prefix.upper()}-{re.sub(r'[^A-Za-z0-9]', '', match.group('code')).upper()}"
    return None


def _has_near(text: str, order_prefix: str, expected: str) -> bool:
    """`expected` is in the text within one OCR slip. Checked before any other reference's shape, since a
    slip such as 9 read as O ("AKA-C8FOW") still looks like a reference of the business."""
    code = _folded(expected.split("-", 1)[-1])
    # Tesseract also splits a code in two where the glyphs sit apart ("AKA-5F 282"): one space may fall
    # between the characters, and what follows the code ("AKA-5F 282 paid") is cut by length.
    near = re.compile(_prefixed(order_prefix) + r"(?P<code>[A-Za-z0-9\]\[|{}()](?: ?[A-Za-z0-9\]\[|{}()]){3,7})",
                      re.I)
    for found in near.finditer(text):
        read = _folded(found.group("code").translate(_BRACES))
        if any(Levenshtein.distance(read[:length], code) <= 1 for length in range(len(code) - 1, len(code) + 2)):
            return True
    return False


def narration(text: str) -> str | None:
    """What the narration, remark or reference field says (the words the customer typed)."""
    for match in _NARRATION.finditer(text):
        value = match.group("value").strip(" .:;,|")
        if value and any(c.isalnum() for c in value):
            return value[:60]
    return None


def receiving_account(text: str) -> str | None:
    """The account the money went to: a 6-13 digit number (maybe masked) printed after a receiving
    label on its line ("Beneficiary Account", "to KENTE HOUSE 0244000001", "Paybill", "Bank | 0123...")
    and not after a sender's or a transaction's label. None when no such number is printed."""
    for line in text.splitlines():
        for match in _ACCOUNT.finditer(line):
            before = line[max(0, match.start() - 50):match.start()]
            receiving = list(_RECEIVING.finditer(before))
            if not receiving:
                continue
            after_label = before[receiving[-1].end():]
            if _NOT_RECEIVING.search(after_label) or _NOT_RECEIVING.search(before[:receiving[-1].start()][-20:]):
                continue
            return match.group("number")
    # A message wrapped over lines ("... to KENTE HOUSE\n0244000001."): the same test on the whole text.
    flat = " ".join(text.split())
    for match in _ACCOUNT.finditer(flat):
        before = flat[max(0, match.start() - 50):match.start()]
        receiving = list(_RECEIVING.finditer(before))
        if receiving and not _NOT_RECEIVING.search(before[receiving[-1].start():]):
            return match.group("number")
    return None


def digits(account_number: str | None) -> str:
    return re.sub(r"\D", "", account_number or "")


def same_account(read: str | None, account_number: str | None) -> bool:
    """The account read is the business's: equal digits, or a masked print of them ("012****789")."""
    ours = digits(account_number)
    if not read or not ours or len(read) != len(ours):
        return False
    return all(r == o or r in "*xX" for r, o in zip(read, ours, strict=True))


def _folded(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper()).translate(_FOLD)


def mentions_account(text: str, account_number: str | None) -> bool:
    """The business's account number appears anywhere in the text, spaces and dashes aside."""
    ours = digits(account_number)
    return len(ours) >= 5 and ours in re.sub(r"(?<=\d)[\s-](?=\d)", "", text)


@dataclass(frozen=True)
class Verdict:
    verdict: str            # match / mismatch / unreadable
    reasons: list[str]      # why, in ops' words
    reference_found: bool
    account_found: bool


def judge(reading: ReceiptReading, *, expected_minor: int, reference: str, account_number: str | None,
          money: Callable[[int], str] = str) -> Verdict:
    """The reading against what the payment expected. match: the amount sent is the one expected and
    the order's reference or the business's account number is on the receipt. mismatch: another amount,
    or money sent to another account. unreadable: no amount could be read, or the amount is right but
    nothing on the receipt says it went to this business for this order (ops read the picture)."""
    text = reading.text
    reference_found = bool(reference) and _folded(reference) in _folded(text)
    account_found = same_account(reading.account, account_number) or mentions_account(text, account_number)
    other_account = reading.account is not None and not account_found
    if reading.amount_minor is None:
        return Verdict(UNREADABLE, ["no amount could be read off the picture"], reference_found, account_found)
    reasons = []
    if reading.amount_minor != expected_minor:
        reasons.append(f"the receipt says {money(reading.amount_minor)}, {money(expected_minor)} was expected")
    if other_account:
        reasons.append(f"the money went to account {reading.account}, not {account_number}")
    if reasons:
        return Verdict(MISMATCH, reasons, reference_found, account_found)
    if reference_found or account_found:
        found = [name for name, ok in (("the order reference", reference_found),
                                       ("your account number", account_found)) if ok]
        return Verdict(MATCH, [f"amount as expected; {' and '.join(found)} on the receipt"], reference_found,
                       account_found)
    return Verdict(UNREADABLE, ["the amount is as expected, but neither the order reference nor your account "
                                "number could be read: check the picture"], reference_found, account_found)
