"""The audit log page (owners only): who did what, newest first, filtered by action and by who; and the
helpers the dashboard's and the API's views call to add an entry to the request's store session, so it is
committed (or rolled back) with the change it records."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_login import current_user

from grace.messaging.inbound import split_conversation_id
from grace.shop.contact_book import ImportReport
from grace.store.audit import actions_of, customer_label, entries, record
from web.access import OWNER, current_tenant, role_required
from web.request_store import db

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 100


def import_counts(report: ImportReport) -> dict:
    """What an entry keeps of a contacts import: counts, never the numbers."""
    return {"added": report.added, "updated": report.updated, "opted_in": report.opted_in,
            "problems": len(report.problems)}


def customer_target(tenant_id: str, conversation_or_phone: str) -> str:
    """How an entry names the customer of a conversation or number (grace.store.audit.customer_label)."""
    _, phone = split_conversation_id(conversation_or_phone)
    return customer_label(db(), tenant_id, phone)


def audit(action: str, target: object = "", detail: dict | None = None) -> None:
    """An entry for what the signed-in dashboard user just did."""
    record(db(), current_user.tenant_id, current_user.email, action, target, detail, request.remote_addr)


def audit_api(action: str, target: object = "", detail: dict | None = None) -> None:
    """An entry for what the request's API key just did (the key's prefix names it: the key itself is secret)."""
    record(db(), g.tenant.id, g.audit_actor, action, target, detail, request.remote_addr)


@bp.route("")
@role_required(*OWNER)
def index():
    tenant = current_tenant()
    action = request.args.get("action", "").strip()[:40]
    actor = request.args.get("actor", "").strip()[:254]
    before = request.args.get("before", "")
    shown = entries(db(), tenant.id, action=action or None, actor=actor or None, limit=PAGE_SIZE + 1,
                    before_id=int(before) if before.isdigit() else None)
    # One more than a page was read: whether there is an older page to link to.
    more = len(shown) > PAGE_SIZE
    shown = shown[:PAGE_SIZE]
    return render_template("audit.html", tenant=tenant, entries=shown, actions=actions_of(db(), tenant.id),
                           action=action, actor=actor, older=shown[-1].id if more else None)
