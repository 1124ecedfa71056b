"""Catalog: upload (check, preview, then apply), export, edit one fabric, sold out, fabric pictures.

Only owners change the catalog; everyone signed in sees it. Nothing changes until the owner applies
a file whose every row is valid; the swap is atomic (grace.shop.catalog_import), and Grace answers from
the new catalog on the next message, with no retraining.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from grace.shop.catalog_import import (
    EDITABLE,
    UploadError,
    apply_upload,
    check_upload,
    export_catalog_csv,
    mark_sold_out,
    save_fabric_image,
    update_fabric,
)
from grace.shop.follow_ups import customers_waiting
from grace.tenancy.catalog import CatalogError
from grace.tenancy.files import catalog_path, rows_from_text
from web.access import OWNER, current_tenant, role_required
from web.audit import audit
from web.catalog_backups import listed
from web.uploads import stash, take

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _uploaded(field: str) -> tuple[bytes, str, str]:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise UploadError("choose a file to upload")
    return upload.read(), upload.filename, upload.mimetype or ""


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    return render_template("catalog.html", tenant=tenant, fabrics=tenant.catalog.fabrics, backups=listed(tenant.id))


@bp.route("/check", methods=["POST"])
@role_required(*OWNER)
def check():
    tenant = current_tenant()
    try:
        data, filename, _ = _uploaded("file")
        report = check_upload(tenant, data, filename)
    except UploadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("catalog.index"))
    token = stash(tenant.id, data, filename) if report.ok else None
    return render_template("catalog_preview.html", tenant=tenant, report=report.to_dict(), filename=filename,
                           token=token), (200 if report.ok else 422)


@bp.route("/apply", methods=["POST"])
@role_required(*OWNER)
def apply():
    tenant = current_tenant()
    stashed = take(tenant.id, request.form.get("token", ""))
    if stashed is None:
        flash("That preview has expired or was already applied; upload the file again.", "error")
        return redirect(url_for("catalog.index"))
    try:
        report = apply_upload(tenant, *stashed)
    except UploadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("catalog.index"))
    if not report.ok:  # the catalog changed meanwhile so the file no longer fits: show why, change nothing
        return render_template("catalog_preview.html", tenant=tenant, report=report.to_dict(),
                               filename=stashed[1], token=None), 422
    counts = report.changes.summary() if report.changes else {}
    audit("catalog_uploaded", stashed[1], counts)
    flash("Catalog replaced: {added} added, {removed} removed, {price_changes} price changes, "
          "{other_changes} other changes.".format(**counts), "ok")
    return redirect(url_for("catalog.index"))


@bp.route("/export.csv")
@role_required()
def export():
    tenant = current_tenant()
    return Response(export_catalog_csv(tenant), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{tenant.id}-catalog.csv"'})


def _row(tenant_id: str, sku: str) -> dict[str, str]:
    _, rows = rows_from_text(catalog_path(tenant_id).read_text(encoding="utf-8-sig"))
    for row in rows:
        if row.get("sku", "").strip().upper() == sku.strip().upper():
            return row
    abort(404)


@bp.route("/fabric/<sku>", methods=["GET", "POST"])
@role_required(*OWNER)
def fabric(sku: str):
    tenant = current_tenant()
    row = _row(tenant.id, sku)
    errors: dict[str, str] = {}
    if request.method == "POST":
        changes = {column: request.form[column] for column in EDITABLE if column in request.form}
        waiting = customers_waiting(tenant.id, row["sku"])
        try:
            saved = update_fabric(tenant, row["sku"], changes)
        except CatalogError as exc:
            errors = {e.column: e.problem for e in exc.errors}
            row = {**row, **changes}
        else:
            told = waiting - customers_waiting(tenant.id, saved.sku)  # back in stock: they were told
            flash(f"{saved.sku} saved; Grace uses it from the next message."
                  + (f" {told} customer(s) waiting for it will hear it's back." if told > 0 else ""), "ok")
            return redirect(url_for("catalog.index"))
    return render_template("fabric.html", tenant=tenant, row=row, columns=EDITABLE, errors=errors), \
        (422 if errors else 200)


@bp.route("/fabric/<sku>/sold-out", methods=["POST"])
@role_required(*OWNER)
def sold_out(sku: str):
    tenant = current_tenant()
    row = _row(tenant.id, sku)
    mark_sold_out(tenant, row["sku"])
    flash(f"{row['sku']} is sold out: Grace stops offering it now.", "ok")
    return redirect(url_for("catalog.index"))


@bp.route("/fabric/<sku>/image", methods=["POST"])
@role_required(*OWNER)
def image(sku: str):
    tenant = current_tenant()
    row = _row(tenant.id, sku)
    try:
        data, filename, content_type = _uploaded("image")
        url = save_fabric_image(tenant, row["sku"], data, filename, content_type)
    except (UploadError, CatalogError) as exc:
        flash(str(exc), "error")
    else:
        flash(f"Picture saved for {row['sku']}: {url}", "ok")
    return redirect(url_for("catalog.index"))
