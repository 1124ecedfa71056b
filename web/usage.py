"""The business's usage this month against its plan (owners only); GET /api/v1/usage; the owners' banner when a
limit is near or reached (grace.tenancy.usage tells the ops numbers on WhatsApp too)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template, request
from flask_login import current_user

from grace.tenancy.plans import PlansFileError
from grace.tenancy.usage import month_name, owner_notices, usage_of
from web.access import OWNER, current_tenant, role_required
from web.api import api_blueprint, error
from web.openapi import SPEC
from web.request_store import db

bp = Blueprint("usage", __name__, url_prefix="/usage")
api = api_blueprint("usage_api")


@bp.route("")
@role_required(*OWNER)
def index():
    try:
        usage = usage_of(db(), current_user.tenant_id)
    except PlansFileError as exc:  # the platform's file: the owner is told what is wrong, nothing else breaks
        return render_template("usage.html", tenant=current_tenant(), usage=None, problem=str(exc)), 503
    return render_template("usage.html", tenant=current_tenant(), usage=usage, month=month_name(usage.month),
                           problem="")


@api.route("/usage")
def usage_api():
    try:
        return jsonify(usage_of(db(), g.tenant.id).json())
    except PlansFileError as exc:
        return error(503, f"the platform's plans do not load: {exc}")


@bp.app_context_processor
def plan_banner() -> dict:
    """Owners see on every page what the plan notices said this month (80% of a limit, a limit used up)."""
    if (request.blueprint or "").startswith("admin") or not current_user.is_authenticated \
            or getattr(current_user, "role", None) not in OWNER:
        return {}
    try:
        return {"plan_notices": owner_notices(db(), current_user.tenant_id)}
    except PlansFileError:
        return {}


# A broadcast's report says when the plan holds it (grace.shop.broadcasts.report_json).
SPEC["components"]["schemas"]["BroadcastReport"]["allOf"][1]["properties"]["held_by_plan"] = {
    "type": "string", "nullable": True,
    "description": "why its pending recipients wait: the plan's broadcast messages for the month are used up"}

_LIMITED = {"type": "object", "required": ["used", "limit"], "properties": {
    "used": {"type": "integer", "minimum": 0},
    "limit": {"type": "integer", "nullable": True, "description": "null: unlimited on this plan"}}}

SPEC["paths"].update({
    "/api/v1/usage": {"get": {
        "summary": "This month's usage (calendar month, UTC) against the business's plan: per metric what was used "
                   "and the plan's limit. Past a limit customers still get every reply; model answers stop first "
                   "(the canned library answers) and broadcasts wait for next month or a bigger plan",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["plan", "month", "metrics"], "properties": {
                "plan": {"type": "string", "example": "basic"},
                "plan_name": {"type": "string", "example": "Basic"},
                "month": {"type": "string", "example": "2026-11"},
                "metrics": {"type": "object", "properties": {
                    name: _LIMITED for name in ("conversations", "messages", "model_calls", "model_tokens",
                                                "broadcast_messages", "seats")}}}}}}},
            "401": {"description": "missing or unknown X-API-Key", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}}}},
})
