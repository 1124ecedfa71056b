"""Broadcasts: an approved WhatsApp template sent to a segment of the business's opted-in contacts
(grace.shop.broadcasts), sent by the outbox worker at the pace the owner sets (grace.whatsapp.broadcasting).

The flow: a new broadcast (name, template, its variables mapped to contact fields, the segment, the pace) is
saved as a draft, with the count of contacts it will reach shown before anything is sent (also on the form,
with "Count"); the owner sends a test to their own number, then sends it now or schedules it (in the
business's timezone), or cancels it. Once sending starts, its page is the report: recipients per status,
messages per state (the providers' receipts), replies, opt-outs since, failures with the providers' error codes.

Owners create, test, send and cancel: a broadcast writes to many customers at once in the business's name, like
the settings and keys only owners change. Ops and viewers read the list and the reports.
"""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from grace.messaging.team_notes import labels_of
from grace.shop.broadcasts import (
    DEFAULT_RATE_PER_MINUTE,
    MAX_RATE_PER_MINUTE,
    BroadcastError,
    BroadcastNotFound,
    broadcast_report,
    cancel_broadcast,
    channels_of,
    count_recipients,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    local_time,
    paused_until,
    recipient_totals,
    schedule_broadcast,
)
from grace.shop.contact_book import TEMPLATE_FIELDS, Segment, SegmentError
from grace.store.models import Broadcast
from grace.tenancy.registry import Tenant
from grace.whatsapp.broadcasting import TestSendRefused, send_test_message
from web.access import OWNER, current_tenant, role_required
from web.audit import audit
from web.contacts import segment_of
from web.request_store import db

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")

VARIABLE_SLOTS = 5  # template variables the form offers ({{1}} to {{5}}); the API takes up to 10
# The contact fields a variable can be filled with (grace.shop.contact_book.TEMPLATE_FIELDS), as owners read them.
_READ_AS = {"phone": "phone number", "last_order_date": "date of the last order", "categories": "categories bought"}
FIELD_NAMES = {name: _READ_AS.get(name, name.replace("_", " ")) for name in TEMPLATE_FIELDS}
FORM_FIELDS = ("name", "twilio_content_sid", "meta_name", "language", "label", "category", "city", "older", "newer",
               "rate_per_minute", "send_at", *(f"var{i}" for i in range(1, VARIABLE_SLOTS + 1)))


def _form() -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:600] for name in FORM_FIELDS}


def _variables(form: dict[str, str]) -> list[str]:
    """The chosen field of each variable slot, in order; a slot left empty before a chosen one is a mistake."""
    chosen = [form[f"var{i}"] for i in range(1, VARIABLE_SLOTS + 1)]
    while chosen and not chosen[-1]:
        chosen.pop()
    if "" in chosen:
        gap = chosen.index("") + 1
        raise BroadcastError("variables", f"choose a field for {{{{{gap}}}}}, or leave it and the ones after it empty")
    return chosen


def _segment(form: dict[str, str]) -> Segment:
    """The segment fields as on the Contacts page (one label, one category), opted-in contacts only."""
    try:
        segment, _ = segment_of(form)
    except SegmentError as exc:
        raise BroadcastError("segment", str(exc)) from None
    return replace(segment, opted_in_only=True)


def _form_page(tenant: Tenant, form: dict[str, str], errors: dict[str, str], count: int | None, status: int = 200):
    return render_template(
        "broadcast_new.html", tenant=tenant, form=form, errors=errors, count=count, fields=FIELD_NAMES,
        slots=range(1, VARIABLE_SLOTS + 1), channels=channels_of(tenant), max_rate=MAX_RATE_PER_MINUTE,
        all_labels=sorted({name for names in labels_of(db(), tenant.id).values() for name in names}),
        categories=sorted(tenant.catalog.categories), ops=tenant.ops), status


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    rows = list_broadcasts(db(), tenant)
    return render_template("broadcasts.html", tenant=tenant, broadcasts=rows, totals=recipient_totals(db(), tenant),
                           local=lambda moment: local_time(tenant, moment), can_send=current_user.can(OWNER))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*OWNER)
def new():
    """GET: the empty form. POST: "count" shows how many contacts it would reach (nothing saved); "save" saves
    a draft (or a scheduled broadcast, with a time) and opens its page."""
    tenant = current_tenant()
    if request.method == "GET":
        blank = {name: "" for name in FORM_FIELDS}
        blank.update(rate_per_minute=str(DEFAULT_RATE_PER_MINUTE), language="en", var1="first_name")
        return _form_page(tenant, blank, {}, None)
    form = _form()
    try:
        variables, segment = _variables(form), _segment(form)
        count = count_recipients(db(), tenant, segment)
        if request.form.get("action") != "save":
            return _form_page(tenant, form, {}, count)
        row = create_broadcast(
            db(), tenant, name=form["name"], template={"twilio_content_sid": form["twilio_content_sid"],
                                                       "meta_name": form["meta_name"], "language": form["language"]},
            variables=variables, segment=segment, rate_per_minute=form["rate_per_minute"], send_at=form["send_at"],
            created_by=current_user.email)
    except BroadcastError as exc:
        db().rollback()
        flash(str(exc), "error")
        return _form_page(tenant, form, {exc.field: exc.message}, None, 422)
    audit("broadcast_created", row.id, {"name": row.name})
    db().commit()
    flash(f"Saved: {row.name} will go to {count} opted-in contact{'' if count == 1 else 's'}"
          + (f", from {local_time(tenant, row.scheduled_at)}." if row.scheduled_at else
             ". Send yourself a test, then send it or schedule it."), "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=row.id))


def _broadcast_or_404(tenant: Tenant, broadcast_id: int) -> Broadcast:
    try:
        return get_broadcast(db(), tenant, broadcast_id)
    except BroadcastNotFound:
        abort(404)


@bp.route("/<int:broadcast_id>")
@role_required()
def detail(broadcast_id: int):
    """Before sending: what it is, the count now, test, send, schedule, cancel. Once started: its report."""
    tenant = current_tenant()
    row = _broadcast_or_404(tenant, broadcast_id)
    started = row.started_at is not None
    try:
        count = None if started or row.status == "cancelled" else count_recipients(db(), tenant, row.segment)
    except BroadcastError as exc:  # a label or category renamed since: the page still opens and says so
        flash(str(exc), "error")
        count = None
    try:
        description = Segment.from_dict(row.segment).describe()
    except SegmentError:
        description = "(a segment that no longer reads)"
    page = make_response(render_template(
        "broadcast.html", tenant=tenant, b=row, count=count, report=broadcast_report(db(), tenant, row.id),
        segment=description, fields=FIELD_NAMES, local=lambda moment: local_time(tenant, moment),
        paused_until=paused_until(row), can_send=current_user.can(OWNER), ops=tenant.ops))
    if row.status == "sending":  # the report fills in as it goes (a header: no script, no inline markup)
        page.headers["Refresh"] = "15"
    return page


@bp.route("/<int:broadcast_id>/test", methods=["POST"])
@role_required(*OWNER)
def test(broadcast_id: int):
    """Send the template once to the owner's number (one of the business's ops numbers)."""
    tenant = current_tenant()
    row = _broadcast_or_404(tenant, broadcast_id)
    db().commit()  # the store is not held while the provider is called
    try:
        sent = send_test_message(tenant, row.id, request.form.get("to"))
    except TestSendRefused as exc:
        flash(f"The test was not sent: {exc}", "error")
    else:
        whose = f" filled in as for {sent.as_for}" if sent.as_for else " (no contact matches: fields shown as [name])"
        flash(f"Test sent to {sent.to}{whose}: check WhatsApp before sending it to everyone.", "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=row.id))


@bp.route("/<int:broadcast_id>/schedule", methods=["POST"])
@role_required(*OWNER)
def schedule(broadcast_id: int):
    """Send now ("when" = now) or at the time given (the business's timezone)."""
    tenant = current_tenant()
    row = _broadcast_or_404(tenant, broadcast_id)
    when = "now" if request.form.get("when") == "now" else request.form.get("send_at", "")
    try:
        row = schedule_broadcast(db(), tenant, row.id, when)
    except BroadcastError as exc:
        db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("broadcasts.detail", broadcast_id=broadcast_id))
    audit("broadcast_sent", row.id, {"send_at": when[:40]})
    db().commit()
    if when == "now":
        flash("Sending starts within seconds (after your quiet hours, if it is night).", "ok")
    else:
        flash(f"Scheduled for {local_time(tenant, row.scheduled_at)}.", "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=row.id))


@bp.route("/<int:broadcast_id>/cancel", methods=["POST"])
@role_required(*OWNER)
def cancel(broadcast_id: int):
    tenant = current_tenant()
    row = _broadcast_or_404(tenant, broadcast_id)
    try:
        cancel_broadcast(db(), tenant, row.id)
    except BroadcastError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        audit("broadcast_cancelled", row.id)
        db().commit()
        flash("Cancelled: nothing more of it will be sent.", "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=broadcast_id))
