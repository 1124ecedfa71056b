"""A business's own provider accounts (Twilio, Meta, model endpoint): entered by the owner, write-only."""
from __future__ import annotations

from flask import Blueprint, abort

from web.access import OWNER, role_required
from web.api import api_blueprint

bp = Blueprint("credentials", __name__, url_prefix="/settings/providers")
api = api_blueprint("credentials_api")


@bp.route("")
@role_required(*OWNER)
def index():
    abort(404)
