"""Owners change their catalog from the dashboard: whole-file uploads (CSV, JSON, XLSX), one-fabric edits,
fabric pictures and an export they can open in Excel.

Every format becomes the same CSV text first, so `grace.tenancy.catalog.parse_catalog`
is the one validator: the owner gets every problem at once (line, sku, column)
and nothing changes until the whole file is right. Writes go through
`grace.tenancy.files`, the catalog's one locked, atomic writer, so the
assistant sees the new catalog on the next message.

Spreadsheet formulas: an uploaded cell starting with "=" is refused (it is a
formula, not the value the owner meant; XLSX files are read for their computed
values instead). Cells starting with "+", "-" or "@" are kept as text: they can
be real text, and the export neutralises them. The export prefixes such cells
with "'" (Excel shows them as text) and an upload strips that prefix again, so
an exported file can be edited and uploaded back unchanged.

Wholesale tiers (the optional `tiers` column, "30:4000;100:3600") are written plain like prices
(" 30: ₦4,000 ; 100: N3,600.00" is stored as 30:4000;100:3600); a JSON object {"30": 4000} and a
lone "10:40" that Excel turned into a time of day are read as the owner typed them. A catalog file
without the column is kept without it until a fabric is given tiers.

A fabric an upload or an edit puts back in stock is announced to the customers waiting for it
(grace.shop.follow_ups) as soon as the new catalog is written.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import mimetypes
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

from grace.errors import GraceError
from grace.messaging.media import MediaRejected, base_type, save_media
from grace.money import MoneyError, format_money, to_minor
from grace.shop.follow_ups import tell_restocked
from grace.shop.spreadsheets import CONTROL, delimiter_of, guard_cell, spreadsheet_text, unguarded
from grace.store import session_scope
from grace.tenancy.catalog import COLUMNS, Catalog, CatalogError, Fabric, RowError, major_text, parse_catalog
from grace.tenancy.files import catalog_path, csv_text, replace_catalog, rows_from_text, rows_to_text
from grace.tenancy.registry import Tenant, get_registry

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # also WhatsApp's limit for a picture sent to a customer
MAX_ROWS = 20_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
FORMATS = {".csv": "csv", ".txt": "csv", ".json": "json", ".xlsx": "xlsx"}
EDITABLE = tuple(c for c in COLUMNS if c != "sku")

_BREAKS = re.compile(r"\s*[\t\r\n]+\s*")
_CURRENCY_MARK = r"(?:[A-Za-z]{1,3}[^\w\s.,-]?|[^\w\s.,-]{1,2})"
_PRICE = re.compile(rf"^{_CURRENCY_MARK}?\s*(-?\d[\d\s.,\u00a0\u202f]*?)\s*{_CURRENCY_MARK}?$")


class UploadError(GraceError):
    """The file cannot be read as a whole (type, size, encoding); the message says why."""


@dataclass
class CatalogChanges:
    added: list[Fabric]
    removed: list[Fabric]
    price_changes: list[tuple[Fabric, Fabric]]  # (old, new)
    other_changes: list[tuple[Fabric, Fabric]]  # same price, anything else changed
    unchanged: int = 0

    def summary(self) -> dict:
        return {"added": len(self.added), "removed": len(self.removed), "price_changes": len(self.price_changes),
                "other_changes": len(self.other_changes), "unchanged": self.unchanged}


@dataclass
class UploadReport:
    ok: bool
    errors: list[RowError]
    changes: CatalogChanges | None
    currency: str = ""
    extra_columns: list[str] = field(default_factory=list)  # kept in the file, unused by Grace

    def summary(self) -> dict:
        """The changes' counts ({} while the file has errors)."""
        return self.changes.summary() if self.changes else {}

    def to_dict(self) -> dict:
        def brief(f: Fabric) -> dict:
            return {"sku": f.sku, "name": f.name, "price_minor": f.price_minor,
                    "price": format_money(f.price_minor, self.currency), "stock": f.stock}

        changes = None
        if self.changes is not None:
            c = self.changes
            changes = {
                "summary": c.summary(),
                "added": [brief(f) for f in c.added],
                "removed": [brief(f) for f in c.removed],
                "price_changes": [{"sku": new.sku, "name": new.name, "old_price": brief(old)["price"],
                                   "new_price": brief(new)["price"], "old_price_minor": old.price_minor,
                                   "new_price_minor": new.price_minor} for old, new in c.price_changes],
                "other_changes": [{"sku": new.sku, "name": new.name, "fields": _changed_fields(old, new)}
                                  for old, new in c.other_changes],
            }
        return {"ok": self.ok, "errors": [{"line": e.line, "sku": e.sku, "column": e.column, "problem": e.problem}
                                          for e in self.errors],
                "changes": changes, "extra_columns": list(self.extra_columns)}


def check_upload(tenant: Tenant, data: bytes, filename: str) -> UploadReport:
    """Validate an uploaded catalog and compare it with the current one; changes nothing."""
    upload = _prepare(tenant, data, filename)
    if upload.catalog is not None:
        upload.report.changes = diff_catalogs(_current_catalog(tenant, None), upload.catalog)
    return upload.report


def apply_upload(tenant: Tenant, data: bytes, filename: str) -> UploadReport:
    """Validate again, then swap the whole catalog at once (the previous one is kept in .history)."""
    upload = _prepare(tenant, data, filename)
    new_catalog = upload.catalog
    if new_catalog is None:
        return upload.report

    def produce(current: str) -> str:
        upload.report.changes = diff_catalogs(_current_catalog(tenant, current), new_catalog)
        return upload.text

    tell_waiting_customers(tenant, replace_catalog(tenant, produce))
    return upload.report


def update_fabric(tenant: Tenant, sku: str, changes: dict[str, str]) -> Fabric:
    """Edit one fabric's columns (not its sku). Raises CatalogError naming each bad column."""
    errors, cleaned = [], {}
    for column, value in changes.items():
        name = column.strip().lower()
        if name not in EDITABLE:
            errors.append(RowError(0, sku, column, "not a column that can be edited here"))
            continue
        cleaned[name], problem = clean_cell(name, "" if value is None else str(value), tenant.currency)
        if problem:
            errors.append(RowError(0, sku, name, problem))
    if errors:
        raise CatalogError(errors)
    not_found = CatalogError([RowError(0, sku, "sku", f"no fabric {sku!r} in the catalog")])

    def produce(current: str) -> str | None:
        header, rows = rows_from_text(current)
        if not rows:
            return None
        matches = [row for row in rows if row.get("sku", "").strip().upper() == sku.strip().upper()]
        if not matches:
            raise not_found
        matches[0].update(cleaned)
        # a column the file does not have yet (tiers, in a catalog from before them) once it has a value
        header += [name for name, value in cleaned.items() if value and name not in header]
        return rows_to_text(header, rows)

    catalog = replace_catalog(tenant, produce)
    fabric = None if catalog is None else catalog.get(sku)
    if fabric is None:
        raise not_found
    tell_waiting_customers(tenant, catalog)
    return fabric


def tell_waiting_customers(tenant: Tenant, catalog: Catalog | None) -> int:
    """Customers waiting for a fabric the new catalog has in stock again are told (how many). The catalog is
    saved whatever happens here: a failure is logged, and the outbox worker's restock pass tells them."""
    if catalog is None or not tenant.follow_ups.restock_alerts:
        return 0
    try:
        with session_scope() as session:
            return tell_restocked(session, dataclasses.replace(tenant, catalog=catalog))
    except Exception:  # the owner's save succeeded: it must not be reported as failed
        log.exception("restock alerts for %s after a catalog change", tenant.id)
        return 0


def mark_sold_out(tenant: Tenant, sku: str) -> Fabric:
    """Stock 0: Grace stops offering the fabric at once."""
    return update_fabric(tenant, sku, {"stock": "0"})


def save_fabric_image(tenant: Tenant, sku: str, data: bytes, filename: str, content_type: str) -> str:
    """Keep a picture of a fabric (checked like customers' media) and point the fabric at it; its public URL."""
    kind = base_type(content_type) or (mimetypes.guess_type(filename)[0] or "")
    if kind not in IMAGE_TYPES:
        raise UploadError(f"a fabric picture must be a JPEG, PNG or WebP image, got {kind or filename!r}")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the picture is {_mb(len(data))}; WhatsApp sends pictures up to {_mb(MAX_UPLOAD_BYTES)}")
    if not os.environ.get("GRACE_MEDIA_BASE_URL", "").lower().startswith(("http://", "https://")):
        raise UploadError("customers can only see pictures at a public address: set GRACE_MEDIA_BASE_URL "
                          "to the https:// URL the dashboard serves media from")
    if get_registry().get(tenant.id).catalog.get(sku) is None:
        raise CatalogError([RowError(0, sku, "sku", f"no fabric {sku!r} in the catalog")])
    try:
        stored = save_media(tenant.id, data, kind, prefix=f"fabric-{sku.lower()}-")
    except MediaRejected as exc:
        raise UploadError(f"{filename}: {exc}") from None
    update_fabric(tenant, sku, {"image_url": stored.url})
    return stored.url


def export_catalog_csv(tenant: Tenant) -> str:
    """The catalog as CSV for Excel (BOM so accents and ₦ survive); no cell can run as a formula."""
    return guarded_csv(catalog_path(tenant.id).read_text(encoding="utf-8-sig"))


def guarded_csv(text: str) -> str:
    """A catalog file's text as a download for Excel: no cell can run as a formula (also for backups,
    which may hold a file edited by hand on the server)."""
    header, rows = rows_from_text(text)
    cells = [[guard_cell(row.get(name, "")) for name in header] for row in rows]
    return "\ufeff" + csv_text([guard_cell(name) for name in header], cells, newline="\r\n")


def diff_catalogs(old: Catalog | None, new: Catalog) -> CatalogChanges:
    before = {f.sku.upper(): f for f in old.fabrics} if old else {}
    after = {f.sku.upper(): f for f in new.fabrics}
    changes = CatalogChanges(added=[f for k, f in after.items() if k not in before],
                             removed=[f for k, f in before.items() if k not in after],
                             price_changes=[], other_changes=[])
    for key, fabric in after.items():
        previous = before.get(key)
        if previous is None:
            continue
        if previous.price_minor != fabric.price_minor:
            changes.price_changes.append((previous, fabric))
        elif previous != fabric:
            changes.other_changes.append((previous, fabric))
        else:
            changes.unchanged += 1
    return changes


def clean_cell(column: str, value: str, currency: str) -> tuple[str, str | None]:
    """(cell text as stored, problem or None): control characters gone, prices plain, formulas refused."""
    text = _BREAKS.sub(" ", CONTROL.sub("", value)).strip()
    meant, formula = unguarded(text)
    if meant != text:
        return meant, None  # our own export's guard: the owner meant the text
    if formula:
        return "", f"{text[:30]!r} is a spreadsheet formula: type the value itself"
    if column == "price":
        return _plain_price(text, currency), None
    if column in ("stock", "min_qty"):
        return _plain_count(text), None
    if column == "tiers":
        return _plain_tiers(text, currency), None
    if column == "image_url":
        return text, _image_url_problem(text)
    return text, None


class _Upload(NamedTuple):
    report: UploadReport
    text: str  # the catalog CSV to store
    catalog: Catalog | None  # None unless the whole file is valid


def _prepare(tenant: Tenant, data: bytes, filename: str) -> _Upload:
    """Read the file into catalog CSV text and validate it (the report has no changes yet)."""
    if not data:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is {_mb(len(data))}; the limit is {_mb(MAX_UPLOAD_BYTES)}")
    kind = FORMATS.get(PurePosixPath(filename.lower()).suffix)
    if kind is None:
        raise UploadError(f"{filename!r} is not a CSV, JSON or XLSX file (Excel: File > Save As > .xlsx or .csv)")
    table, line_shift = {"csv": _csv_table, "json": _json_table, "xlsx": _xlsx_table}[kind](data)
    if len(table) > MAX_ROWS + 1:
        raise UploadError(f"the file has over {MAX_ROWS} rows")
    header = [CONTROL.sub("", h).strip().lower() for h in table[0]] if table else []
    keep = [i for i, h in enumerate(header) if h]  # unnamed columns (Excel's trailing empties) are dropped
    sku_at = header.index("sku") if "sku" in header else None
    errors: list[RowError] = []
    rows: list[list[str]] = []
    for line, raw in enumerate(table[1:], start=2):
        sku = raw[sku_at].strip() if sku_at is not None and sku_at < len(raw) else ""
        cells = []
        for i in keep:
            text, problem = clean_cell(header[i], raw[i] if i < len(raw) else "", tenant.currency)
            if problem:
                errors.append(RowError(line + line_shift, sku, header[i], problem))
            cells.append(text)
        rows.append(cells)
    names = [header[i] for i in keep]
    catalog = None
    try:
        # Blank rows stay in the text checked, so the validator's line numbers are the file's.
        catalog = parse_catalog(csv_text(names, rows), tenant.currency, tenant.image_base_url)
    except CatalogError as exc:
        cleaned_away = {(e.line, e.column) for e in errors}  # a refused formula also reads as an empty cell
        shifted = [RowError(e.line + line_shift if e.line > 1 else e.line, e.sku, e.column, e.problem)
                   for e in exc.errors]
        errors += [e for e in shifted if (e.line, e.column) not in cleaned_away]
    if not errors and catalog is not None and not catalog.fabrics:
        raise UploadError("the file has no fabrics (to stop selling one, mark it sold out)")
    errors.sort(key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else len(COLUMNS)))
    report = UploadReport(ok=not errors, errors=errors, changes=None, currency=tenant.currency,
                          extra_columns=[n for n in names if n not in COLUMNS])
    return _Upload(report, csv_text(names, [r for r in rows if any(r)]), None if errors else catalog)


def _current_catalog(tenant: Tenant, text: str | None) -> Catalog | None:
    """The catalog being replaced (None when its file does not load: everything counts as added)."""
    if text is None:
        path = catalog_path(tenant.id)
        text = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    try:
        return parse_catalog(text, tenant.currency, tenant.image_base_url) if text.strip() else None
    except CatalogError:
        return None


def _csv_table(data: bytes) -> tuple[list[list[str]], int]:
    text = _decode(data)
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))], 0


def _decode(data: bytes) -> str:
    text = spreadsheet_text(data)
    if text is None:
        raise UploadError("the file is not text: save it as CSV UTF-8 or upload the .xlsx")
    return text


def _json_table(data: bytes) -> tuple[list[list[str]], int]:
    try:
        items = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise UploadError(f"not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise UploadError("expected a JSON list of fabrics, each an object with the catalog columns")
    header = list(COLUMNS)
    for item in items:
        for key in item if isinstance(item, dict) else ():
            if str(key).strip().lower() not in header:
                header.append(str(key).strip().lower())
    rows: list[list[str]] = []
    for item in items:
        if not isinstance(item, dict):
            raise UploadError(f"item {len(rows) + 1} is not an object with the catalog columns")
        values = {str(k).strip().lower(): v for k, v in item.items()}
        if isinstance(values.get("tiers"), dict):  # {"30": 4000, "100": 3600}
            values["tiers"] = ";".join(f"{_value_text(k)}:{_value_text(v)}" for k, v in values["tiers"].items())
        rows.append([_value_text(values.get(column)) for column in header])
    return [header, *rows], -1  # lines are reported as the item's position in the list


MAX_XLSX_UNPACKED = 50 * 1024 * 1024  # a 5 MB workbook of a few thousand rows unpacks to far less


def _refuse_a_bomb(data: bytes) -> None:
    """An XLSX is a zip: refuse one that would unpack to more than a catalog could ever be (a zip bomb
    would take the server's memory while openpyxl reads it)."""
    import zipfile

    try:
        unpacked = sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except zipfile.BadZipFile:
        raise UploadError("the workbook cannot be read (not a valid XLSX): save it again from Excel") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise UploadError(f"the workbook unpacks to {unpacked // (1024 * 1024)} MB; a catalog is far smaller "
                          "(save only the catalog sheet, as .xlsx or .csv)")


def _xlsx_table(data: bytes) -> tuple[list[list[str]], int]:
    if not data.startswith(b"PK"):
        raise UploadError("not an XLSX workbook (an old .xls? save it as .xlsx or .csv)")
    from openpyxl import load_workbook

    _refuse_a_bomb(data)
    table: list[list[str]] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)  # values, not formulas
        try:
            tiers_at = None
            for row in book.worksheets[0].iter_rows(values_only=True):
                if not table:
                    names = [str(v or "").strip().lower() for v in row]
                    tiers_at = names.index("tiers") if "tiers" in names else None
                table.append([_tiers_from_time(v) if i == tiers_at else _value_text(v) for i, v in enumerate(row)])
                if len(table) > MAX_ROWS + 1:
                    break
        finally:
            book.close()
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook; all mean "unreadable"
        raise UploadError(f"the workbook cannot be read ({type(exc).__name__}): save it again from Excel") from None
    return table, 0


def _value_text(value: object) -> str:
    """A JSON or spreadsheet value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _tiers_from_time(value: object) -> str:
    """A tiers cell as typed: Excel reads a lone "10:40" (from 10, at 40) as a time of day, "30:40" as a
    duration."""
    if isinstance(value, time) and not value.second and not value.microsecond:
        return f"{value.hour}:{value.minute:02d}"
    if isinstance(value, timedelta) and value.total_seconds() % 60 == 0:
        minutes = int(value.total_seconds()) // 60
        return f"{minutes // 60}:{minutes % 60:02d}"
    return _value_text(value)


def _plain_count(text: str) -> str:
    return re.sub(r"(?<=\d)[,\s\u00a0](?=\d{3}\b)", "", text)


def _plain_tiers(text: str, currency: str) -> str:
    """" 30 : ₦4,000 ; 1,000: N3,600.00;" as 30:4000;1000:3600; a cell that is not all tiers is kept as it
    is, for the catalog's check to say what is wrong with it."""
    tiers = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        quantity, colon, price = (piece.strip() for piece in part.partition(":"))
        quantity = _plain_count(quantity)
        if not colon or not re.fullmatch(r"[0-9]+", quantity):
            return text
        try:
            minor = to_minor(_plain_price(price, currency), currency)
        except MoneyError:
            return text
        if minor <= 0:
            return text
        tiers.append(f"{int(quantity)}:{major_text(minor, currency)}")
    return ";".join(tiers)


def _plain_price(text: str, currency: str) -> str:
    """"₦4,500.00", "N4500", "4 500", "4.500,50 GHS" as a number to_minor reads; other text unchanged."""
    match = _PRICE.match(text)
    if not match:
        return text
    number = re.sub(r"[\s\u00a0\u202f]", "", match.group(1))
    if "," in number and "." in number:
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
        number = number.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif re.fullmatch(r"-?\d+,\d{1,2}", number):  # "4500,50": a decimal comma, not thousands
        number = number.replace(",", ".")
    else:
        number = number.replace(",", "")
    try:
        to_minor(number, currency)
    except MoneyError:
        return text
    return number


def _image_url_problem(url: str) -> str | None:
    if not url:
        return None
    if re.search(r"\s", url):
        return f"{url!r} has spaces: a web address cannot"
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and not (parts.hostname and "." in parts.hostname):
        return f"{url!r} has no web host"
    if not parts.scheme and ".." in PurePosixPath(parts.path).parts:
        return f"{url!r} must not climb out of the image folder with '..'"
    return None  # other schemes are refused by the catalog parser


def _changed_fields(old: Fabric, new: Fabric) -> list[str]:
    return [name for name in Fabric.__dataclass_fields__ if getattr(old, name) != getattr(new, name)]


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
