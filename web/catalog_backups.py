"""Earlier catalogs (kept by every upload, edit and restore): listed, downloadable, restorable by owners.

A restore is a catalog swap like any other (grace.tenancy.files.restore_backup): the catalog it
replaces is kept as a backup in turn, so a restore can itself be undone from the same list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, url_for

from grace.errors import GraceError
from grace.shop.catalog_import import guarded_csv
from grace.tenancy.catalog import CatalogError
from grace.tenancy.files import backups, restore_backup
from web.access import OWNER, current_tenant, role_required

bp = Blueprint("catalog_backups", __name__, url_prefix="/catalog/backups")


@dataclass(frozen=True)
class Backup:
    name: str
    saved_at: datetime | None  # when it was replaced (from its name); None for a name of another form
    size: int


def listed(tenant_id: str) -> list[Backup]:
    """The tenant's catalog backups, newest first."""
    return [Backup(path.name, _saved_at(path.name), path.stat().st_size) for path in backups(tenant_id)]


def _saved_at(name: str) -> datetime | None:
    try:  # catalog-<%Y%m%dT%H%M%S%f>-<n>.csv, as grace.tenancy.files.history_name writes it
        return datetime.strptime(name.split("-")[1], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    except (IndexError, ValueError):
        return None


def _backup_or_404(tenant_id: str, name: str) -> Path:
    # Only a name from this tenant's own list: nothing else on disk can be reached through the URL.
    for path in backups(tenant_id):
        if path.name == name:
            return path
    abort(404)


@bp.route("/<name>")
@role_required()
def download(name: str):
    tenant = current_tenant()
    path = _backup_or_404(tenant.id, name)
    return Response(guarded_csv(path.read_text(encoding="utf-8-sig")), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{tenant.id}-{name}"'})


@bp.route("/<name>/restore", methods=["POST"])
@role_required(*OWNER)
def restore(name: str):
    tenant = current_tenant()
    path = _backup_or_404(tenant.id, name)
    try:
        catalog = restore_backup(tenant, path)
    except CatalogError as exc:  # e.g. kept before a settings change it no longer fits
        flash(f"That backup no longer loads, so nothing was changed: {exc}", "error")
    except GraceError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Catalog restored ({len(catalog.fabrics)} fabrics); Grace uses it from the next message. "
              "The catalog it replaced is now the newest backup, to undo this.", "ok")
    return redirect(url_for("catalog.index") + "#backups")
