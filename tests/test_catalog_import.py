"""Owners change the catalog from the dashboard: uploads checked whole, swapped atomically, seen by Grace at once."""
from __future__ import annotations

import csv
import io
import json
import re
import struct
import threading
import zipfile
import zlib

import pytest
from openpyxl import Workbook

from grace.errors import GraceError
from grace.shop.catalog_import import (
    UploadError,
    apply_upload,
    check_upload,
    export_catalog_csv,
    mark_sold_out,
    save_fabric_image,
    update_fabric,
)
from grace.shop.fulfilment import take_from_stock
from grace.tenancy.catalog import CatalogError, parse_catalog
from grace.tenancy.files import backups, catalog_path, locked, restore_backup
from grace.tenancy.registry import get_registry

HEADER = ["sku", "name", "category", "colors", "pattern", "price", "unit", "min_qty", "stock", "image_url",
          "description"]


def tenant(tenant_id: str = "akanraby"):
    return get_registry().get(tenant_id)


def shipped_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(catalog_path("akanraby").read_text(encoding="utf-8"))))


def as_csv(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue()


def errors_of(report) -> set[tuple[int, str, str]]:
    return {(e["line"], e["sku"], e["column"]) for e in report.to_dict()["errors"]}


def png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_an_excel_csv_is_checked_without_changing_anything_then_applied_and_grace_sees_it(grace_env):
    rows = shipped_rows()
    rows[0] = [f" {h.upper()} " for h in rows[0]] + [""]  # header case and spaces, a trailing empty column
    rows[1][5] = "₦4,600.00"  # AK-001 price as Excel formats it
    rows[2][8] = "1,000"  # AK-002 stock with a thousands separator
    rows = [rows[0]] + [r + [""] for r in rows[1:]] + [[""] * 12, [""] * 12]  # trailing empty rows
    data = ("\ufeff" + as_csv(rows, delimiter=";", newline="\r\n")).encode("utf-8")
    before = catalog_path("akanraby").read_bytes()

    report = check_upload(tenant(), data, "catalog export.csv")
    assert report.ok, report.errors
    assert report.changes.summary() == {"added": 0, "removed": 0, "price_changes": 1, "other_changes": 1,
                                        "unchanged": len(rows) - 5}
    change = report.to_dict()["changes"]["price_changes"][0]
    assert (change["sku"], change["old_price"], change["new_price"]) == ("AK-001", "₦4,500", "₦4,600")
    assert report.to_dict()["changes"]["other_changes"][0] == {"sku": "AK-002", "name": "Lagos Sunset",
                                                               "fields": ["stock"]}
    assert catalog_path("akanraby").read_bytes() == before and tenant().catalog.get("AK-001").price_minor == 450000

    applied = apply_upload(tenant(), data, "catalog export.csv")
    assert applied.ok and applied.summary() == report.summary()
    assert tenant().catalog.get("AK-001").price_minor == 460000  # at once, no restart, no training
    assert tenant().catalog.get("AK-002").stock == 1000
    assert [b.read_bytes() for b in backups("akanraby")] == [before]  # the old catalog is kept


def test_every_problem_is_reported_at_once_by_line_sku_and_column_and_nothing_changes(grace_env):
    rows = [HEADER,
            ["AK-001", "Marigold", "ankara", "yellow", "floral", "four thousand", "yard", "6", "10", "a.jpg", ""],
            ["AK-001", "Twin", "ankara", "red", "", "4000", "yard", "6", "10", "", ""],
            ["AK-003", "", "ankara", "red", "", "4000", "yard", "6", "-3", "my picture.jpg", ""],
            ["AK-004", "=HYPERLINK(\"http://evil.example\")", "ankara", "", "", "4000", "yard", "1", "5", "", ""],
            ["AK-005", "Far", "ankara", "", "", "4000", "yard", "1", "5", "ftp://files.example/a.jpg", ""],
            ["AK-006", "Hostless", "ankara", "", "", "4000", "yard", "1", "5", "https:///a.jpg", ""]]
    before = catalog_path("akanraby").read_bytes()

    report = apply_upload(tenant(), as_csv(rows).encode(), "catalog.csv")

    assert not report.ok and report.changes is None and report.summary() == {}
    assert errors_of(report) == {(2, "AK-001", "price"), (3, "AK-001", "sku"), (4, "AK-003", "name"),
                                 (4, "AK-003", "stock"), (4, "AK-003", "image_url"), (5, "AK-004", "name"),
                                 (6, "AK-005", "image_url"), (7, "AK-006", "image_url")}
    problems = {(e.line, e.column): e.problem for e in report.errors}
    assert "duplicate of line 2" in problems[(3, "sku")] and "formula" in problems[(5, "name")]
    assert catalog_path("akanraby").read_bytes() == before and not backups("akanraby")


def test_a_missing_column_is_named(grace_env):
    rows = [[h for h in HEADER if h != "unit"], ["AK-1", "A", "ankara", "", "", "4000", "6", "10", "", ""]]
    report = check_upload(tenant(), as_csv(rows).encode(), "c.csv")
    assert [(e.line, e.column, e.problem) for e in report.errors] == [(1, "unit", "missing column")]


def test_windows_1252_csv_keeps_its_accents_and_html_stays_text_without_control_characters(grace_env):
    rows = [HEADER, ["LC-9", "Café <b>Lace</b>\x07", "lace", "ivory", "", "45000", "piece", "1", "3", "",
                     "Soft\r\nand light"]]
    report = apply_upload(tenant(), as_csv(rows).encode("cp1252"), "lace.csv")
    assert report.ok, report.errors
    fabric = tenant().catalog.get("LC-9")
    assert (fabric.name, fabric.description) == ("Café <b>Lace</b>", "Soft and light")


def test_json_list_of_fabrics_with_problems_reported_by_position(grace_env):
    fabrics = [{"sku": "JS-1", "name": "Jade", "category": "ankara", "colors": ["green", "gold"], "price": 4500,
                "unit": "yard", "min_qty": 6, "stock": 12.0},
               {"SKU": "JS-2", "Name": "Ruby", "category": "lace", "price": "GH₵ 1,200.50", "unit": "piece",
                "stock": 4, "supplier": "Accra Mills"}]
    ok = check_upload(tenant("kentehouse"), json.dumps(fabrics).encode(), "fabrics.json")
    assert ok.ok, ok.errors and ok.extra_columns == ["supplier"]
    apply_upload(tenant("kentehouse"), json.dumps(fabrics).encode(), "fabrics.json")
    catalog = tenant("kentehouse").catalog
    assert catalog.get("JS-1").colors == ("green", "gold") and catalog.get("JS-1").stock == 12
    assert catalog.get("JS-2").price_minor == 120050 and [f.sku for f in catalog.fabrics] == ["JS-1", "JS-2"]

    fabrics[1]["price"] = "free"
    bad = check_upload(tenant("kentehouse"), json.dumps(fabrics).encode(), "fabrics.json")
    assert errors_of(bad) == {(2, "JS-2", "price")}  # the second item of the list
    with pytest.raises(UploadError, match="list of fabrics"):
        check_upload(tenant(), b'{"sku": "JS-1"}', "fabrics.json")
    with pytest.raises(UploadError, match="not valid JSON"):
        check_upload(tenant(), b"[{", "fabrics.json")


def xlsx(rows: list[list], cached: dict[str, str] | None = None) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    if not cached:
        return out.getvalue()
    # openpyxl cannot compute formulas; give them the value Excel would have saved beside them.
    source, result = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(result, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for ref, value in cached.items():
                    text = re.sub(rf'(<c r="{ref}"[^>]*><f>[^<]*</f>)<v\s*/>|(<c r="{ref}"[^>]*><f>[^<]*</f>)<v></v>',
                                  lambda m, v=value: (m.group(1) or m.group(2)) + f"<v>{v}</v>", text)
                body = text.encode()
            target.writestr(item, body)
    return result.getvalue()


def test_xlsx_first_sheet_values_not_formulas(grace_env):
    data = xlsx([HEADER + [None, None],
                 ["XL-1", "Sheet Star", "ankara", "blue;white", "stars", "=4000+600", "yard", 6, 240, None, "Nice"],
                 [None] * 13,
                 ["XL-2", "Sheet Moon", "ankara", "", "", 5000.0, "yard", 6, 0, "xl-2.jpg", None]],
                cached={"F2": "4600"})
    shipped = len(tenant().catalog.fabrics)
    report = apply_upload(tenant(), data, "Catalog.XLSX")
    assert report.ok, report.errors
    assert report.changes.summary()["added"] == 2 and report.changes.summary()["removed"] == shipped
    catalog = tenant().catalog
    assert catalog.get("XL-1").price_minor == 460000 and catalog.get("XL-2").price_minor == 500000
    assert catalog.get("XL-2").image_url.endswith("/fabrics/xl-2.jpg")

    bad = check_upload(tenant(), xlsx([HEADER, ["XL-3", "Odd", "ankara", "", "", "lots", "yard", 1, 1]]), "c.xlsx")
    assert errors_of(bad) == {(2, "XL-3", "price")}  # the spreadsheet's own row number


@pytest.mark.parametrize("data, filename, reason", [
    (b"", "c.csv", "empty"),
    (b"x" * (5 * 1024 * 1024 + 1), "c.csv", "limit is 5.0 MB"),
    (b"%PDF-1.4", "catalog.pdf", "not a CSV, JSON or XLSX"),
    (b"\xd0\xcf\x11\xe0 old excel", "catalog.xlsx", "old .xls"),
    (b"PK\x03\x04 broken zip", "catalog.xlsx", "cannot be read"),
    (b"sku,name\n\x81\x8d\x8f", "c.csv", "not text"),
    (",".join(HEADER).encode() + b"\n", "c.csv", "no fabrics"),
])
def test_files_that_cannot_be_read_are_refused_with_the_reason(grace_env, data, filename, reason):
    before = catalog_path("akanraby").read_bytes()
    with pytest.raises(UploadError, match=reason):
        apply_upload(tenant(), data, filename)
    assert catalog_path("akanraby").read_bytes() == before


def test_export_cannot_run_formulas_in_excel_and_uploads_back_unchanged(grace_env):
    update_fabric(tenant(), "AK-001", {"name": "+Plus Size Special", "description": "@home -or- out"})
    apply_upload(tenant(), export_catalog_csv(tenant()).encode("utf-8"), "tmp.csv")  # round trip via the export
    update_fabric(tenant(), "AK-002", {"name": "'=Sum of colours"})  # the export's own guard: meant as text

    exported = export_catalog_csv(tenant())
    assert exported.startswith("\ufeffsku,name,") and "\r\n" in exported
    cells = [cell for row in csv.reader(io.StringIO(exported.lstrip("\ufeff"))) for cell in row]
    assert "'+Plus Size Special" in cells and "'@home -or- out" in cells and "'=Sum of colours" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]

    again = check_upload(tenant(), exported.encode("utf-8"), "export.csv")
    assert again.ok and again.changes.summary()["unchanged"] == len(tenant().catalog.fabrics)
    assert tenant().catalog.get("AK-002").name == "=Sum of colours"


def test_one_fabric_edited_or_sold_out_at_once_and_bad_edits_refused(grace_env):
    fabric = update_fabric(tenant(), "ak-003", {"price": "₦5,750", "Name": " Sunday Best Royal "})
    assert (fabric.sku, fabric.name, fabric.price_minor) == ("AK-003", "Sunday Best Royal", 575000)
    assert tenant().catalog.get("AK-003").price_minor == 575000
    assert mark_sold_out(tenant(), "AK-003").stock == 0 and tenant().catalog.get("AK-003").stock == 0

    before = catalog_path("akanraby").read_bytes()
    with pytest.raises(CatalogError) as bad:
        update_fabric(tenant(), "AK-004", {"price": "0", "stock": "many", "sku": "AK-999", "colour": "red"})
    assert {e.column for e in bad.value.errors} == {"sku", "colour"}  # refused before reading the file
    with pytest.raises(CatalogError) as bad:
        update_fabric(tenant(), "AK-004", {"price": "0", "stock": "many"})
    assert {e.column for e in bad.value.errors} == {"price", "stock"}
    with pytest.raises(CatalogError, match="no fabric 'NOPE-1'"):
        mark_sold_out(tenant(), "NOPE-1")
    assert catalog_path("akanraby").read_bytes() == before


def test_same_size_edits_in_quick_succession_are_each_seen(grace_env):
    # 240 -> 250 -> 260: the file's size never changes, only the registry's signature can tell.
    for stock in ("250", "260", "270"):
        update_fabric(tenant(), "AK-001", {"stock": stock})
        assert tenant().catalog.get("AK-001").stock == int(stock)


def test_fabric_picture_is_kept_and_the_fabric_points_at_it(grace_env, monkeypatch):
    monkeypatch.setenv("GRACE_MEDIA_DIR", str(grace_env / "media"))
    monkeypatch.setenv("GRACE_MEDIA_BASE_URL", "https://grace.example.test/media/")
    url = save_fabric_image(tenant(), "AK-001", png(), "marigold.png", "image/png")
    assert url.startswith("https://grace.example.test/media/akanraby/fabric-ak-001-") and url.endswith(".png")
    assert tenant().catalog.get("AK-001").image_url == url
    assert (grace_env / "media" / "akanraby" / url.rsplit("/", 1)[1]).read_bytes() == png()

    with pytest.raises(UploadError, match="JPEG, PNG or WebP"):
        save_fabric_image(tenant(), "AK-001", b"%PDF-1.4", "m.pdf", "application/pdf")
    with pytest.raises(UploadError, match="not a image/jpeg"):
        save_fabric_image(tenant(), "AK-001", png(), "m.jpg", "image/jpeg")
    with pytest.raises(CatalogError, match="no fabric"):
        save_fabric_image(tenant(), "NOPE-1", png(), "m.png", "image/png")
    monkeypatch.delenv("GRACE_MEDIA_BASE_URL")
    with pytest.raises(UploadError, match="GRACE_MEDIA_BASE_URL"):
        save_fabric_image(tenant(), "AK-002", png(), "m.png", "image/png")
    assert len(list((grace_env / "media" / "akanraby").iterdir())) == 1  # refused pictures are not kept
    assert tenant().catalog.get("AK-002").image_url.endswith("/fabrics/ak-002.jpg")


def variant(n: int) -> str:
    rows = shipped_rows()
    rows[1][5] = str(4000 + n)
    return as_csv(rows)


def test_concurrent_uploads_are_each_swapped_whole_and_none_is_lost(grace_env):
    original = catalog_path("akanraby").read_text(encoding="utf-8")
    uploads = [variant(n) for n in range(6)]
    stop, seen, failures = threading.Event(), set(), []
    barrier = threading.Barrier(len(uploads))

    def upload(text: str) -> None:
        barrier.wait()
        if not apply_upload(tenant(), text.encode(), "c.csv").ok:
            failures.append(text)

    def read() -> None:  # what Grace reads meanwhile: always a whole catalog
        while not stop.is_set():
            seen.add(catalog_path("akanraby").read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=upload, args=(text,)) for text in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    reader.join()

    assert not failures and seen <= set(uploads) | {original}
    final = catalog_path("akanraby").read_text(encoding="utf-8")
    kept = [b.read_text(encoding="utf-8") for b in backups("akanraby")]
    # One after the other: each swap replaced the previous complete file, so every version appears exactly once.
    assert sorted(kept + [final]) == sorted(uploads + [original])
    assert tenant().catalog.get("AK-001").price_minor == int(final.splitlines()[1].split(",")[5]) * 100


def test_shipping_waits_for_the_same_lock_and_keeps_an_upload(grace_env):
    apply_upload(tenant(), variant(7).encode(), "c.csv")
    kept = len(backups("akanraby"))
    stock = tenant().catalog.get("AK-001").stock
    done = threading.Event()

    def ship() -> None:
        take_from_stock(tenant(), {"AK-001": 10})
        done.set()

    with locked(catalog_path("akanraby")):  # an upload in progress
        shipper = threading.Thread(target=ship)
        shipper.start()
        assert not done.wait(0.3)
    shipper.join()
    catalog = tenant().catalog
    assert catalog.get("AK-001").stock == stock - 10 and catalog.get("AK-001").price_minor == 400700
    assert len(backups("akanraby")) == kept  # stock leaving is not a swap to undo


def test_a_bad_swap_is_undone_from_the_kept_catalog(grace_env):
    original = catalog_path("akanraby").read_text(encoding="utf-8")
    apply_upload(tenant(), as_csv([HEADER, ["ONLY-1", "Oops", "ankara", "", "", "1", "yard", "1", "1", "", ""]])
                 .encode(), "wrong file.csv")
    assert len(tenant().catalog.fabrics) == 1
    restore_backup(tenant(), backups("akanraby")[0])
    assert catalog_path("akanraby").read_text(encoding="utf-8") == original
    assert len(tenant().catalog.fabrics) == len(parse_catalog(original, "NGN").fabrics)
    with pytest.raises(GraceError, match="not one of akanraby's catalog backups"):
        restore_backup(tenant(), catalog_path("kentehouse"))


def test_writing_one_tenant_never_touches_another(grace_env):
    other = catalog_path("kentehouse").parent
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in other.iterdir()}
    apply_upload(tenant(), variant(1).encode(), "c.csv")
    update_fabric(tenant(), "AK-002", {"stock": "1"})
    take_from_stock(tenant(), {"AK-003": 1})
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in other.iterdir()} == before
    assert tenant("kentehouse").catalog.get("KH-001").price_minor == 650000


@pytest.mark.parametrize("typed, minor", [("₦4,500.00", 450000), ("N4500", 450000), ("4 500", 450000),
                                          ("4.500,50", 450050), ("4500,5", 450050), ("NGN 4,500", 450000)])
def test_prices_typed_the_way_owners_type_them(grace_env, typed, minor):
    assert update_fabric(tenant(), "AK-001", {"price": typed}).price_minor == minor


def test_excel_unicode_text_tab_separated_is_read(grace_env):
    rows = [HEADER, ["TX-1", "Ọ̀yọ́ Indigo", "adire", "blue", "", "6500", "yard", "6", "10", "", ""]]
    report = apply_upload(tenant(), as_csv(rows, delimiter="\t", newline="\r\n").encode("utf-16"), "catalog.txt")
    assert report.ok, report.errors
    assert tenant().catalog.get("TX-1").name == "Ọ̀yọ́ Indigo"


def test_a_zip_bomb_posing_as_a_workbook_is_refused_before_it_is_unpacked(grace_env):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))  # 60 MB of zeros, a few KB packed
    before = catalog_path("akanraby").read_text(encoding="utf-8")
    with pytest.raises(UploadError, match="unpacks to 60 MB"):
        check_upload(tenant(), bomb.getvalue(), "catalog.xlsx")
    assert catalog_path("akanraby").read_text(encoding="utf-8") == before
