"""Chat simulator: owners and ops talk to their own Grace as a customer would (REST channel), to try
a catalog or settings change before customers see it. The conversation is a real one, kept under the
customer `sim:simulator-<user id>` (the REST channel puts it there for callers holding Rasa's token),
apart from every WhatsApp and REST customer, and it shows in Customers like any other."""
from __future__ import annotations

import requests
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from grace.config import load_settings
from grace.messaging.inbound import SIMULATOR_NAMESPACE
from grace.messaging.media import MAX_BYTES as MAX_PICTURE
from grace.messaging.media import MediaRejected, save_media
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.conversations import history

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
TIMEOUT_S = 30
MAX_MESSAGE = 1000


def sender() -> str:
    return f"simulator-{current_user.id}"


def customer() -> str:
    """The conversation's customer key: the simulator's namespace, never a real customer's."""
    return SIMULATOR_NAMESPACE + sender()


@bp.route("")
@role_required(*ACT_ON_ORDERS)
def index():
    tenant = current_tenant()
    return render_template("simulator.html", tenant=tenant, turns=history(tenant.id, customer()))


@bp.route("", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def send():
    tenant = current_tenant()
    text = request.form.get("message", "").strip()[:MAX_MESSAGE]
    picture = request.files.get("picture")
    metadata: dict = {"tenant": tenant.id, "customer_name": "Simulator", "namespace": "simulator"}
    if picture and picture.filename:
        # Kept like a customer's WhatsApp picture (same checks, same place), so Grace reads it as one:
        # a style to match, or the proof when an order awaits payment.
        try:
            stored = save_media(tenant.id, picture.read(MAX_PICTURE + 1), picture.mimetype or "")
        except MediaRejected as exc:
            flash(f"That file cannot be sent: {exc}", "error")
            return redirect(url_for("simulator.index"))
        metadata["media"] = [{"url": stored.url, "content_type": stored.content_type}]
    elif not text:
        flash("Type a message or choose a picture first.", "error")
        return redirect(url_for("simulator.index"))
    settings = load_settings()
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    try:
        answer = requests.post(url, json={"sender": sender(), "message": text, "metadata": metadata},
                               headers={"Authorization": f"Bearer {settings.rasa_token or ''}"}, timeout=TIMEOUT_S)
        answer.raise_for_status()
        replies = answer.json()
    except (requests.RequestException, ValueError) as exc:
        flash(f"Grace did not answer ({exc.__class__.__name__}): is it running (make run)?", "error")
        return redirect(url_for("simulator.index"))
    for reply in replies if isinstance(replies, list) else []:
        flash("Grace: " + (reply.get("text") or reply.get("image") or ""), "reply")
    return redirect(url_for("simulator.index"))
