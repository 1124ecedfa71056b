"""The platform administrator's area (/admin): businesses, numbers, suspension, usage. Its own accounts
(grace.tenancy.admins), never a business's user."""
from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("")
def index():
    abort(404)
