"""Contacts: the business's WhatsApp numbers with their consent, labels and what they bought; filtered the way
broadcasts select them (grace.shop.contact_book), imported from and exported to CSV.

Everyone signed in reads the list and may download it; owners and ops import files and change labels (a
contact's labels are its conversation's, the same ones the inbox shows).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from grace.messaging.team_notes import NoteRefused, labels_of
from grace.shop.contact_book import (
    CONSENT_FILTERS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ContactError,
    ContactNotFound,
    ImportRefused,
    ImportReport,
    Segment,
    SegmentError,
    add_contact_label,
    export_contacts_csv,
    import_contacts,
    list_contacts,
    remove_contact_label,
)
from grace.tenancy.registry import Tenant
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.audit import audit, import_counts
from web.request_store import db

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

SHOWN = 500  # rows on the page; the count and the export cover every match
FILTERS = ("label", "category", "city", "consent", "older", "newer")
CONSENT_NAMES = {"any": "any", "opted_in": "opted in", "not_opted_in": "not opted in", "opted_out": "opted out (STOP)"}


def filters_from(args) -> dict[str, str]:
    """The list's filters as given in the query string (only known ones, trimmed)."""
    return {name: args.get(name, "").strip()[:80] for name in FILTERS if args.get(name, "").strip()}


def segment_of(filters: dict[str, str]) -> tuple[Segment, str]:
    """The filters as a segment (every contact, opted in or not, unless consent says) and the consent filter;
    SegmentError for what cannot be read."""
    days = {}
    for name, field_name in (("older", "last_order_older_than_days"), ("newer", "last_order_newer_than_days")):
        if filters.get(name):
            if not filters[name].isdigit():
                raise SegmentError("last order days are a whole number of days")
            days[field_name] = int(filters[name])
    consent = filters.get("consent", "any")
    if consent not in CONSENT_FILTERS:
        raise SegmentError(f"consent is one of {', '.join(CONSENT_FILTERS)}")
    labels = (filters["label"],) if filters.get("label") else ()
    categories = (filters["category"],) if filters.get("category") else ()
    return Segment(labels=labels, categories=categories, city=filters.get("city", ""), opted_in_only=False,
                   **days), consent


def _page(tenant: Tenant, report: ImportReport | None = None, status: int = 200):
    filters = filters_from(request.args)
    try:
        segment, consent = segment_of(filters)
        matching = list_contacts(db(), tenant, segment, consent=consent)
    except SegmentError as exc:
        flash(str(exc), "error")
        matching, status = [], 422
    return render_template(
        "contacts.html", tenant=tenant, contacts=matching[:SHOWN], count=len(matching), shown=SHOWN,
        reachable=sum(1 for c in matching if c.opted_in), filters=filters, consent_names=CONSENT_NAMES,
        all_labels=sorted({name for names in labels_of(db(), tenant.id).values() for name in names}),
        categories=sorted(tenant.catalog.categories), can_act=current_user.can(ACT_ON_ORDERS), report=report,
        max_mb=MAX_IMPORT_BYTES // 2**20, max_rows=MAX_IMPORT_ROWS), status


@bp.route("")
@role_required()
def index():
    return _page(current_tenant())


@bp.route("/export.csv")
@role_required()
def export():
    tenant = current_tenant()
    try:
        segment, consent = segment_of(filters_from(request.args))
    except SegmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("contacts.index"))
    found = list_contacts(db(), tenant, segment, consent=consent)
    text = export_contacts_csv(tenant, found)
    audit("contacts_exported", detail={"contacts": len(found)} | filters_from(request.args))
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{tenant.id}-contacts.csv"'})


@bp.route("/import", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def upload():
    tenant = current_tenant()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ImportRefused("choose a CSV file to import")
        report = import_contacts(db(), tenant, upload.read(MAX_IMPORT_BYTES + 1), upload.filename)
    except ImportRefused as exc:  # refused whole: nothing of the file is in the session
        flash(f"Nothing was imported: {exc}", "error")
        return _page(tenant, status=422)
    audit("contacts_imported", upload.filename, import_counts(report))
    db().commit()
    flash(f"Imported: {report.summary()}.", "ok" if not report.problems else "error")
    return _page(tenant, report)


@bp.route("/<phone>/labels", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def label(phone: str):
    """Add the form's label to the contact, or remove the one named in `remove`; back to the same list."""
    tenant = current_tenant()
    try:
        if request.form.get("remove"):
            remove_contact_label(db(), tenant, phone, request.form.get("remove"))
        else:
            add_contact_label(db(), tenant, phone, request.form.get("label"))
    except ContactNotFound:
        abort(404)
    except (NoteRefused, ContactError) as exc:
        db().rollback()
        flash(str(exc), "error")
        return _page(tenant, status=422)
    db().commit()
    back: dict[str, Any] = filters_from(request.args)  # the list as it was filtered
    return redirect(url_for("contacts.index", **back))
