"""Files spreadsheets save as CSV, read as the business wrote them (catalog and contact uploads)."""
from __future__ import annotations

import pytest

from grace.shop.spreadsheets import delimiter_of, guard_cell, spreadsheet_text, unguarded

ROWS = "sku,name,price\nAKN-001,Ìyá Àgbà Ankara,4500\n"


@pytest.mark.parametrize("data", [
    ROWS.encode("utf-8"),
    b"\xef\xbb\xbf" + ROWS.encode("utf-8"),  # Excel's "CSV UTF-8" starts with a byte-order mark
    ROWS.encode("utf-16"),  # "Unicode text"
])
def test_utf8_and_utf16_files_read_as_written(data):
    assert spreadsheet_text(data) == ROWS


def test_a_windows_csv_reads_its_accents():
    assert spreadsheet_text("name\nCrème lace,12\n".encode("cp1252")) == "name\nCrème lace,12\n"


def test_bytes_that_are_no_text_are_refused():
    assert spreadsheet_text(b"\xff\xfe\x00\xd8") is None  # a broken UTF-16 file
    assert spreadsheet_text(bytes([0x81, 0x8d, 0x8f, 0x90, 0x9d])) is None  # undefined in every encoding tried


def test_the_separator_is_the_first_lines():
    assert delimiter_of("\n\nsku;name;price\n1;a,b;2\n") == ";"
    assert delimiter_of("sku\tname\n") == "\t" and delimiter_of("sku,name\n") == ","


def test_a_cell_that_would_run_as_a_formula_is_guarded_and_read_back_as_meant():
    for cell in ("=SUM(A1)", "+2348031234567", "-5", "@me"):
        assert guard_cell(cell) == "'" + cell and unguarded(guard_cell(cell)) == (cell, False)
    assert guard_cell("Ankara") == "Ankara" and unguarded("Ankara") == ("Ankara", False)
    assert unguarded("=HYPERLINK(1)") == ("=HYPERLINK(1)", True)
