"""Customers' data: export, erasure and the requests made on WhatsApp."""
from __future__ import annotations

from flask import Blueprint, abort

from web.access import OWNER, role_required
from web.api import api_blueprint

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
api = api_blueprint("privacy_api")


@bp.route("")
@role_required(*OWNER)
def index():
    abort(404)
