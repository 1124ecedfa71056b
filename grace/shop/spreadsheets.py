"""What a spreadsheet saves as "CSV", read the way the business meant it: the catalog and the contact list
are both uploads of files made in Excel or Google Sheets."""
from __future__ import annotations

import re

# Characters a cell never means: control characters and the invisible direction marks a copy-paste brings.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A cell starting with one of these runs as a formula when Excel opens the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(data: bytes) -> str | None:
    """The file's text: UTF-16 (Excel's "Unicode text"), UTF-8 with or without its byte-order mark, or
    Windows-1252 (Excel on Windows, "CSV (Comma delimited)"); None when it is none of these (not text)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def delimiter_of(text: str) -> str:
    """The separator of the file's first non-empty line: Excel writes ';' where ',' is the decimal mark."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", ";", "\t"), key=first.count)


def guard_cell(cell: str) -> str:
    """A cell for a file Excel will open: one that would run as a formula gets a leading "'" (shown as text)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unguarded(text: str) -> tuple[str, bool]:
    """(the cell's text, whether it is a formula the owner typed): our own export's "'" guard is taken off,
    since the text itself was meant; a cell starting with "=" is a formula, not a value."""
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:], False
    return text, text.startswith("=")
