"""Customers waiting for a person: the queue, one handoff with its conversation, the team's reply, closing.

A reply goes to the customer on WhatsApp through the outbox (grace.messaging.notifications.reply_from_ops), under
the same 24-hour rule and opt-outs as everything Grace writes first; the outbox row is the record
the conversation shows, with whether it reached the customer.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grace.messaging.notifications import MAX_REPLY_CHARS, ReplyRejected, reply_from_ops
from grace.store.models import Customer, Handoff
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.conversations import conversation
from web.queries import handoffs
from web.request_store import db

bp = Blueprint("handoffs", __name__, url_prefix="/handoffs")


def _handoff_or_404(tenant_id: str, handoff_id: int) -> Handoff:
    handoff = db().execute(select(Handoff).where(Handoff.tenant_id == tenant_id, Handoff.id == handoff_id)
                           ).scalar_one_or_none()
    if handoff is None:
        abort(404)
    return handoff


def _page(handoff: Handoff, draft: str = "", status: int = 200):
    tenant = current_tenant()
    customer = db().get(Customer, handoff.customer_id)
    return render_template("handoff.html", tenant=tenant, handoff=handoff, customer=customer,
                           turns=conversation(db(), tenant.id, customer.phone), max_chars=MAX_REPLY_CHARS,
                           draft=draft), status


@bp.route("")
@role_required()
def queue():
    tenant = current_tenant()
    return render_template("handoffs.html", tenant=tenant, handoffs=handoffs(db(), tenant.id))


@bp.route("/<int:handoff_id>")
@role_required()
def detail(handoff_id: int):
    return _page(_handoff_or_404(current_tenant().id, handoff_id))


@bp.route("/<int:handoff_id>/reply", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def reply(handoff_id: int):
    tenant = current_tenant()
    handoff = _handoff_or_404(tenant.id, handoff_id)
    text = request.form.get("text", "")
    try:
        reply_from_ops(db(), tenant.id, handoff.conversation_id, text, by=current_user.email, handoff_id=handoff.id)
    except ReplyRejected as exc:
        # Shown again with the draft kept: a typed answer is never lost to a validation message.
        db().rollback()
        flash(str(exc), "error")
        return _page(handoff, draft=text, status=422)
    db().commit()
    flash("Reply queued: it reaches the customer on WhatsApp within seconds, or the conversation below says "
          "why not (outside 24 hours since their last message only an approved ops_reply template can go).", "ok")
    return redirect(url_for("handoffs.detail", handoff_id=handoff.id))


@bp.route("/<int:handoff_id>/close", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def close(handoff_id: int):
    handoff = _handoff_or_404(current_tenant().id, handoff_id)
    handoff.status = "closed"
    db().commit()
    flash("Handoff closed.", "ok")
    return redirect(url_for("handoffs.queue"))
