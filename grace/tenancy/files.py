"""The one way a tenant's files are written: under a lock, atomically, with the previous catalog kept.

Shipping (stock leaves the catalog), dashboard uploads and edits all rewrite
catalog.csv; without one shared lock two of them could each read the file and
the later write would silently drop the earlier change. Writes go to a `.part`
file that replaces the real one in a single rename, so the assistant (which
rereads the file whenever its signature changes) never sees half a catalog.
tenant.yml is written the same way (`locked` + `atomic_write`).
"""
from __future__ import annotations

import csv
import fcntl
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from grace.errors import GraceError
from grace.tenancy.catalog import COLUMNS, Catalog, parse_catalog
from grace.tenancy.registry import Tenant, get_registry

CATALOG = "catalog.csv"
HISTORY = ".history"
KEEP_BACKUPS = 20  # catalogs can be large: keep the last swaps, enough to undo a bad one

Rows = list[dict[str, str]]


def tenant_folder(tenant_id: str) -> Path:
    return Path(get_registry().root) / tenant_id


def catalog_path(tenant_id: str) -> Path:
    return tenant_folder(tenant_id) / CATALOG


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the writers' lock of one file (`<file>.lock` beside it) until the block ends."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename. Call under `locked(path)`.

    The tenant registry reloads when (mtime, size) changes; two writes of the
    same size within one clock tick would share an mtime, so the new file's
    mtime is pushed past the old one's.
    """
    partial = path.with_name(path.name + ".part")
    with open(partial, "w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    try:
        before = path.stat().st_mtime_ns
    except FileNotFoundError:
        before = None
    if before is not None and partial.stat().st_mtime_ns <= before:
        os.utime(partial, ns=(before + 1, before + 1))
    os.replace(partial, path)


def history_name(folder: Path, stem: str, suffix: str) -> Path:
    """A new, unique file in the tenant's .history folder, named so that names sort by time."""
    history = folder / HISTORY
    history.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    n = 1
    while (candidate := history / f"{stem}-{stamp}-{n}{suffix}").exists():
        n += 1
    return candidate


def backups(tenant_id: str) -> list[Path]:
    """Earlier catalogs kept by uploads and edits, newest first."""
    history = tenant_folder(tenant_id) / HISTORY
    return sorted(history.glob("catalog-*.csv"), reverse=True) if history.is_dir() else []


def rows_from_text(text: str) -> tuple[list[str], Rows]:
    """Header and rows of catalog CSV text."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    # The loader reads headers whatever their case and spacing; so must every editor.
    header = [name.strip().lower() for name in reader.fieldnames or COLUMNS]
    reader.fieldnames = header
    rows = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
    return header, rows


def rows_to_text(header: list[str], rows: Rows) -> str:
    return csv_text(header, [[row.get(name, "") for name in header] for row in rows])


def csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def replace_catalog(tenant: Tenant, produce: Callable[[str], str | None], *, backup: bool = True) -> Catalog | None:
    """Rewrite the tenant's catalog: `produce` gets the current text and returns the new one
    (None: leave the file alone, and None is returned).

    Runs under the catalog lock; the new text must load (else CatalogError and
    nothing is written). With `backup`, the replaced file is kept in .history.
    """
    path = catalog_path(tenant.id)
    with locked(path):
        current = path.read_text(encoding="utf-8-sig") if path.exists() else ""
        text = produce(current)
        if text is None:
            return None
        catalog = parse_catalog(text, tenant.currency, tenant.image_base_url)  # never write one that won't load
        if backup and current:
            history_name(path.parent, "catalog", ".csv").write_text(current, encoding="utf-8")
            for old in backups(tenant.id)[KEEP_BACKUPS:]:
                old.unlink(missing_ok=True)
        atomic_write(path, text)
        return catalog


def edit_rows(tenant: Tenant, edit: Callable[[Rows], None], *, backup: bool = True) -> Catalog | None:
    """Change the catalog's rows (`edit` mutates them) under the lock. None when the catalog has no rows."""

    def produce(current: str) -> str | None:
        header, rows = rows_from_text(current)
        if not rows:
            return None
        edit(rows)
        return rows_to_text(header, rows)

    return replace_catalog(tenant, produce, backup=backup)


def restore_backup(tenant: Tenant, backup: Path) -> Catalog:
    """Put an earlier catalog back (the one replaced is itself kept, so this can be undone too)."""
    if backup.parent != tenant_folder(tenant.id) / HISTORY or not backup.name.startswith("catalog-"):
        raise GraceError(f"{backup.name} is not one of {tenant.id}'s catalog backups")
    text = backup.read_text(encoding="utf-8")
    catalog = replace_catalog(tenant, lambda _current: text)
    assert catalog is not None  # the producer always gives text, so a catalog is written
    return catalog
