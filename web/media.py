"""Files the dashboard serves.

Fabric pictures are public (WhatsApp fetches them by URL), so GRACE_MEDIA_BASE_URL may point at
<this app>/media: a file in /media/<tenant>/fabrics/, or one the tenant's catalog uses as a
fabric's image_url (the dashboard's picture upload keeps them beside other media), is served to
anyone, as is a picture the team sent a customer from the inbox (team-...). Everything else under a
tenant's media folder (payment proofs, customers' pictures) is served only to a signed-in user of that
tenant; anyone else gets 404, as for a missing file.
With GRACE_MEDIA_S3_BUCKET, the same files are read from the tenant's prefix in S3 (grace.messaging.media.read_media).
"""
from __future__ import annotations

import os
import posixpath
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, send_from_directory
from flask_login import current_user

from grace.errors import GraceError
from grace.messaging.media import (
    TEAM_PICTURE,
    MediaNotFound,
    MediaUnavailable,
    media_root,
    read_media,
    stored_name,
)
from grace.store.models import Payment
from grace.tenancy.registry import TENANT_ID, get_registry

bp = Blueprint("media", __name__, url_prefix="/media")
PUBLIC_FOLDER = "fabrics"


def _send(tenant_id: str, name: str):
    if not TENANT_ID.match(tenant_id):  # "..": the folder above every tenant's media is nobody's
        abort(404)
    if os.environ.get("GRACE_MEDIA_S3_BUCKET") and "/" not in name:
        return _send_stored(tenant_id, name)
    folder = media_root() / tenant_id
    if not folder.is_dir():
        abort(404)
    # send_from_directory refuses paths that leave the folder ("..", absolute paths).
    response = send_from_directory(folder, name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<tenant_id>/fabrics/<path:name>")
def fabric_image(tenant_id: str, name: str):
    return _send(tenant_id, f"{PUBLIC_FOLDER}/{name}")


@bp.route("/<tenant_id>/<name>")
def tenant_file(tenant_id: str, name: str):
    signed_in_here = current_user.is_authenticated and current_user.tenant_id == tenant_id
    if not signed_in_here and not name.startswith(TEAM_PICTURE) and not _is_fabric_picture(tenant_id, name):
        abort(404)
    return _send(tenant_id, name)


def _is_fabric_picture(tenant_id: str, name: str) -> bool:
    try:
        fabrics = get_registry().get(tenant_id).catalog.fabrics
    except GraceError:  # unknown or broken tenant: nothing of it is public
        return False
    return any(posixpath.basename(urlsplit(f.image_url).path) == name for f in fabrics)


def _send_stored(tenant_id: str, name: str) -> Response:
    try:
        stored = read_media(tenant_id, name)
    except MediaNotFound:
        abort(404)
    except MediaUnavailable:
        abort(503)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"  # digest-named: a name never changes content
    return response


def proof_response(payment: Payment):
    """The payment's proof file, kept on this machine or in S3 (media are named by their digest, so
    the file name in the proof URL finds it whatever base URL it was given)."""
    try:
        name = stored_name(payment.proof_url or "")
    except MediaNotFound:
        abort(404)
    return _send(payment.tenant_id, name)
