"""A business's own provider accounts (Twilio, Meta, model endpoint): entered by the owner, write-only.

The page shows, per kind, only whether the business has its own account, its hint ("AC…1234"), when and by
whom it was set; the fields are empty every time (nothing kept is ever sent back). Saving checks the values
(grace.tenancy.credentials) and refuses with the reason, the account before left as it was; "remove" goes
back to the platform's account. The numbers and the Meta phone-number id stay the platform operator's to
assign (`grace numbers`): they decide which business a customer's message belongs to.

GET /api/v1/providers gives the same status to the business's API key; the accounts themselves are entered
on the page only.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from grace.store.secrets import SecretKeyMissing
from grace.tenancy.credentials import FIELDS, KINDS, NAMES, CredentialsRefused, Status, clear, save, status
from web.access import OWNER, current_tenant, role_required
from web.api import api_blueprint
from web.openapi import SPEC
from web.request_store import db

log = logging.getLogger("grace.web.credentials")
bp = Blueprint("credentials", __name__, url_prefix="/settings/providers")
api = api_blueprint("credentials_api")
# What the owner types, per kind (`api_base_url` is the platform operator's, not on the page).
FORM_FIELDS = {kind: tuple(name for name in FIELDS[kind] if name != "api_base_url") for kind in KINDS}


def _page(status_code: int = 200):
    tenant = current_tenant()
    return render_template("credentials.html", tenant=tenant, accounts=status(db(), tenant.id), names=NAMES,
                           numbers=tenant.whatsapp_numbers,
                           meta_id=str(tenant.extra.get("meta_phone_number_id") or "")), status_code


@bp.route("")
@role_required(*OWNER)
def index():
    return _page()


@bp.route("/<kind>", methods=["POST"])
@role_required(*OWNER)
def keep(kind: str):
    if kind not in KINDS:
        abort(404)
    values = {name: request.form.get(name, "") for name in FORM_FIELDS[kind]}
    try:
        save(db(), current_user.tenant_id, kind, values, current_user.email, request.remote_addr)
    except (CredentialsRefused, SecretKeyMissing) as exc:
        db().rollback()
        flash(f"Nothing was saved, your {NAMES[kind]} account is as it was: {exc}", "error")
        return _page(422)
    db().commit()
    flash(f"Your own {NAMES[kind]} account is saved; Grace uses it within a few seconds.", "ok")
    return redirect(url_for("credentials.index"))


@bp.route("/<kind>/remove", methods=["POST"])
@role_required(*OWNER)
def remove(kind: str):
    if kind not in KINDS:
        abort(404)
    if clear(db(), current_user.tenant_id, kind, current_user.email, request.remote_addr):
        db().commit()
        flash(f"Your own {NAMES[kind]} account is removed: the platform's is used again.", "ok")
    return redirect(url_for("credentials.index"))


def status_json(found: Status) -> dict:
    return {"kind": found.kind, "own": found.set, "hint": found.hint,
            "updated_at": found.updated_at.isoformat() + "Z" if found.updated_at else None,
            "updated_by": found.updated_by or None}


@api.route("/providers")
def api_status():
    return jsonify(providers=[status_json(found) for found in status(db(), g.tenant.id).values()])


SPEC["paths"].update({
    "/api/v1/providers": {"get": {
        "summary": "Which provider accounts (twilio, meta, model) are the business's own; never a secret",
        "responses": {"200": {"description": "one entry per kind: own (bool), hint, updated_at, updated_by"}}}},
})
