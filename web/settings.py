"""Business settings (owner only): profile, hours, deposit, pickup and delivery, payment details and links,
ops numbers, voice, policies, FAQs, promotions. Validated and written by grace.tenancy.settings, with history, undo."""
from __future__ import annotations

import copy
import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from grace.tenancy.hours import DAYS
from grace.tenancy.registry import REDIRECT_KINDS
from grace.tenancy.settings import FIELDS, ROUTING, SettingsError, current_settings, history, undo, update_settings
from web.access import OWNER, current_tenant, role_required
from web.audit import audit

bp = Blueprint("settings", __name__, url_prefix="/settings")
BLANK_ROWS = 2  # empty FAQ / promotion rows the form offers for adding
MAX_ROWS = 200  # FAQ entries, promotions: "faq.5000000.q" must not build a list of five million


def form_to_changes(form: MultiDict) -> dict:
    """Dotted form names (payment.bank_name, faq.0.q) to the nested settings shape; other fields ignored."""
    changes: dict = {}
    for name, value in form.items():
        parts = name.split(".")
        if parts[0] not in FIELDS and parts[0] not in ROUTING:  # routing fields: refused with the reason
            continue
        if any(part.isdigit() and int(part) >= MAX_ROWS for part in parts):
            raise SettingsError({name: f"at most {MAX_ROWS} entries"})
        node = changes
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            key: int | str = int(part) if part.isdigit() else part
            if isinstance(node, list):
                while len(node) <= key:
                    node.append({})
            if last:
                node[key] = value
            else:
                nxt_is_index = parts[i + 1].isdigit()
                if isinstance(node, dict):
                    node = node.setdefault(key, [] if nxt_is_index else {})
                else:
                    node = node[key]
    for name, value in changes.items():  # the form's empty rows for adding an FAQ or promotion
        if isinstance(value, list):
            changes[name] = [row for row in value if any(str(v).strip() for v in row.values())]
    return changes


def _merged(current: dict, wanted: dict) -> dict:
    """What the form shows after a refused save: the owner's input over the saved settings."""
    shown = copy.deepcopy(current)
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(shown.get(key), dict):
            shown[key] = _merged(shown[key], value)
        else:
            shown[key] = value
    return shown


def _page(values: dict, errors: dict[str, str], status: int = 200):
    tenant = current_tenant()
    # The parser names a promotion's field promotions[0].amount_off; the form's box is promotions.0.amount_off.
    errors = errors | {re.sub(r"\[(\d+)\]", r".\1", name): problem for name, problem in errors.items()}
    return render_template("settings.html", tenant=tenant, s=values, errors=errors, days=DAYS,
                           redirect_kinds=REDIRECT_KINDS, blank_rows=BLANK_ROWS,
                           history=history(tenant.id)), status


@bp.route("")
@role_required(*OWNER)
def index():
    return _page(current_settings(current_user.tenant_id), {})


@bp.route("", methods=["POST"])
@role_required(*OWNER)
def save():
    tenant_id = current_user.tenant_id
    changes: dict = {}
    before = current_settings(tenant_id)
    try:
        changes = form_to_changes(request.form)
        update_settings(tenant_id, changes, by=current_user.email)
    except SettingsError as exc:
        flash("Nothing was saved: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()), "error")
        return _page(_merged(current_settings(tenant_id), changes), exc.errors, 422)
    # The form sends every field: the entry names the sections that changed, never their values.
    after = current_settings(tenant_id)
    audit("settings_changed", detail={"fields": sorted(k for k in before.keys() | after.keys()
                                                        if before.get(k) != after.get(k))})
    flash("Settings saved; Grace uses them from the next message.", "ok")
    return redirect(url_for("settings.index"))


@bp.route("/undo/<entry_id>", methods=["POST"])
@role_required(*OWNER)
def undo_change(entry_id: str):
    try:
        undo(current_user.tenant_id, entry_id, by=current_user.email)
    except SettingsError as exc:
        flash(str(exc), "error")
    else:
        audit("settings_undone", entry_id)
        flash("Change undone.", "ok")
    return redirect(url_for("settings.index"))
