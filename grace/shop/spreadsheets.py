"""What a spreadsheet saves as "CSV", read the way the business meant it: the catalog and the contact list
are both uploads of files made in Excel or Google Sheets."""
from __future__ import annotations


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
