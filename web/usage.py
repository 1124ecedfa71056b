"""The business's usage this month against its plan; GET /api/v1/usage."""
from __future__ import annotations

from flask import Blueprint, abort

from web.access import OWNER, role_required
from web.api import api_blueprint

bp = Blueprint("usage", __name__, url_prefix="/usage")
api = api_blueprint("usage_api")


@bp.route("")
@role_required(*OWNER)
def index():
    abort(404)
