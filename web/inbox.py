"""The team's inbox: every WhatsApp conversation of the business, newest activity first, with who has each
one, its open order, and whether the customer asked for a person; one conversation with its messages, where
ops and owners take it over from Grace, reply, and hand it back (viewers read).

Pages work without scripts; static/inbox.js refreshes the list and the open conversation every few seconds
from the .json routes (short polling: one request per page every POLL_SECONDS, served from the app itself, so
the Content-Security-Policy stays 'self').
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grace.messaging.inbound import split_conversation_id
from grace.messaging.media import TEAM_PICTURE, MediaRejected, save_media
from grace.messaging.notifications import MAX_REPLY_CHARS
from grace.messaging.takeover import AlreadyTaken, current, hand_back, needing_a_person, take_over, touch
from grace.messaging.team_notes import (
    NoteRefused,
    add_canned_reply,
    add_label,
    add_note,
    canned_replies,
    labelled,
    labels_of,
    notes_of,
    remove_canned_reply,
    remove_label,
)
from grace.money import format_money
from grace.shop.orders import OPEN_STATUSES
from grace.store.models import Customer, Order, Takeover
from grace.tenancy.catalog import Fabric
from grace.tenancy.registry import Tenant
from grace.tenancy.wording import Wording
from grace.whatsapp.human_reply import ReplyFailed, ReplyRefused, send_human_reply
from web.access import ACT_ON_ORDERS, current_tenant, role_required
from web.audit import audit, customer_target
from web.conversation_list import (
    conversation_summary,
    conversations,
    conversations_mentioning,
    is_conversation,
    transcript,
)
from web.request_store import db

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

POLL_SECONDS = 5
FILTERS = {"": "All", "needs_person": "Needs a person", "unpaid": "Unpaid order", "mine": "Assigned to me"}
# Orders whose state the inbox shows beside a conversation: not cancelled, expired or delivered.
SHOWN_ORDERS = OPEN_STATUSES + ("deposit_paid", "in_production", "ready", "shipped")
MAX_QUERY = 100
MAX_PICTURE_BYTES = 5 * 1024 * 1024  # WhatsApp's limit for an image


def _listed() -> list[dict]:
    """The conversations the list shows for this request's search (q) and filter."""
    tenant_id = current_tenant().id
    session = db()
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    wanted = request.args.get("filter", "")
    only: set[str] | None = None
    if query:
        only = _matching(tenant_id, query)
    if wanted == "needs_person":
        only = _within(only, needing_a_person(session, tenant_id))
    elif wanted == "unpaid":
        phones = session.scalars(select(Customer.phone).join(Order, Order.customer_id == Customer.id).where(
            Order.tenant_id == tenant_id, Customer.tenant_id == tenant_id, Order.status.in_(OPEN_STATUSES)))
        only = _within(only, {f"{tenant_id}:{phone}" for phone in phones})
    elif wanted == "mine":
        mine = session.scalars(select(Takeover.conversation_id).where(
            Takeover.tenant_id == tenant_id, Takeover.user_id == current_user.id))
        only = _within(only, set(mine))
    label = request.args.get("label", "").strip()
    if label:
        try:
            only = _within(only, labelled(session, tenant_id, label))
        except NoteRefused:
            only = set()
    listed = conversations(session, tenant_id, limit=100, only=only)
    orders = _open_orders(tenant_id, [split_conversation_id(c["id"])[1] for c in listed])
    for item in listed:
        item["order"] = orders.get(item["customer"]["phone"])
        item["url"] = url_for("inbox.conversation", conversation_id=item["id"])
    return listed


def _within(only: set[str] | None, allowed: set[str]) -> set[str]:
    return allowed if only is None else only & allowed


def _matching(tenant_id: str, query: str) -> set[str]:
    """Conversations whose customer's name or number, order reference, or words contain `query`."""
    session = db()
    like = f"%{query.lower()}%"
    phones = set(session.scalars(select(Customer.phone).where(
        Customer.tenant_id == tenant_id,
        (Customer.phone.contains(query, autoescape=True)) | (Customer.name.ilike(like)))))
    phones |= set(session.scalars(select(Customer.phone).join(Order, Order.customer_id == Customer.id).where(
        Order.tenant_id == tenant_id, Customer.tenant_id == tenant_id, Order.reference.ilike(like))))
    return {f"{tenant_id}:{phone}" for phone in phones} | conversations_mentioning(tenant_id, query)


def _open_orders(tenant_id: str, phones: list[str]) -> dict[str, dict]:
    """The newest order still in play of each customer: reference and state."""
    if not phones:
        return {}
    rows = db().execute(select(Customer.phone, Order.reference, Order.status).join(
        Order, Order.customer_id == Customer.id).where(
        Customer.tenant_id == tenant_id, Order.tenant_id == tenant_id, Customer.phone.in_(phones),
        Order.status.in_(SHOWN_ORDERS)).order_by(Order.id))
    return {phone: {"reference": reference, "status": status.replace("_", " ")} for phone, reference, status in rows}


def _conversation_or_404(conversation_id: str) -> str:
    if not is_conversation(current_tenant().id, conversation_id):
        abort(404)
    return conversation_id


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    return render_template("inbox.html", tenant=tenant, conversations=_listed(), filters=FILTERS,
                           query=request.args.get("q", ""), wanted=request.args.get("filter", ""),
                           label=request.args.get("label", ""),
                           all_labels=sorted({name for names in labels_of(db(), tenant.id).values() for name in names}),
                           poll_seconds=POLL_SECONDS)


@bp.route("/list.json")
@role_required()
def listing():
    return jsonify(conversations=_listed())


def _page(conversation_id: str, draft: str = "", status: int = 200):
    tenant = current_tenant()
    summary = conversation_summary(db(), tenant.id, conversation_id)
    return render_template("inbox_conversation.html", tenant=tenant, conversation=summary,
                           messages=transcript(db(), tenant.id, conversation_id), draft=draft,
                           notes=notes_of(db(), tenant.id, conversation_id),
                           labels=labels_of(db(), tenant.id, [conversation_id]).get(conversation_id, []),
                           canned=canned_replies(db(), tenant.id),
                           fabrics=[f for f in tenant.catalog.fabrics if f.image_url],
                           mine=bool(summary["taken_over"]) and summary["taken_over"]["user_id"] == current_user.id,
                           can_act=current_user.can(ACT_ON_ORDERS), poll_seconds=POLL_SECONDS,
                           max_chars=MAX_REPLY_CHARS), status


@bp.route("/c/<conversation_id>")
@role_required()
def conversation(conversation_id: str):
    return _page(_conversation_or_404(conversation_id))


@bp.route("/c/<conversation_id>/messages.json")
@role_required()
def messages(conversation_id: str):
    tenant_id = current_tenant().id
    conversation_id = _conversation_or_404(conversation_id)
    return jsonify(conversation=conversation_summary(db(), tenant_id, conversation_id),
                   messages=transcript(db(), tenant_id, conversation_id))


@bp.route("/c/<conversation_id>/takeover", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def take(conversation_id: str):
    conversation_id = _conversation_or_404(conversation_id)
    try:
        take_over(db(), current_tenant().id, conversation_id, current_user.id, current_user.email)
    except AlreadyTaken as exc:
        db().commit()  # an idle takeover found over stays over
        flash(str(exc), "error")
        return redirect(url_for("inbox.conversation", conversation_id=conversation_id))
    audit("takeover", customer_target(current_user.tenant_id, conversation_id))
    db().commit()
    flash("You have this conversation: Grace will not answer this customer until you hand it back.", "ok")
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


@bp.route("/c/<conversation_id>/reply", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def reply(conversation_id: str):
    tenant = current_tenant()
    conversation_id = _conversation_or_404(conversation_id)
    text = request.form.get("text", "")
    image = None
    sku = request.form.get("fabric", "")
    if sku:  # a fabric's picture from the catalog, the text (or its name and price) the caption
        fabric = tenant.catalog.get(sku)
        if fabric is None or not fabric.image_url:
            abort(404)
        image, text = fabric.image_url, text.strip() or fabric_caption(tenant, fabric)
    upload = request.files.get("picture")
    if upload is not None and upload.filename:  # a picture of their own, the text its caption
        try:
            image = save_media(tenant.id, upload.read(MAX_PICTURE_BYTES + 1), upload.mimetype or "",
                               prefix=TEAM_PICTURE).url
        except MediaRejected as exc:
            flash(f"The picture was not sent: {exc}", "error")
            return _page(conversation_id, draft=text, status=422)
    canned_id = request.form.get("canned", "")
    if canned_id and not text.strip():  # "send this canned reply" (its text is the business's, not the form's)
        chosen = next((r for r in canned_replies(db(), tenant.id) if str(r.id) == canned_id), None)
        if chosen is None:
            abort(404)
        text = chosen.text
    taken = current(db(), tenant.id, conversation_id)
    db().commit()  # the store is not held while the provider is called
    if taken is None:
        flash("Take the conversation over first: Grace answers it now.", "error")
        return _page(conversation_id, draft=text, status=409)
    try:
        send_human_reply(tenant, conversation_id, text, current_user.email, current_user.id, image=image)
    except (ReplyRefused, ReplyFailed) as exc:
        # Shown again with the draft kept: a typed answer is never lost to an error.
        flash(str(exc), "error")
        return _page(conversation_id, draft=text, status=422 if isinstance(exc, ReplyRefused) else 502)
    touch(db(), tenant.id, conversation_id)
    # that they wrote, never what
    audit("reply_sent", customer_target(current_user.tenant_id, conversation_id), {"picture": True} if image else None)
    db().commit()
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


@bp.route("/c/<conversation_id>/handback", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def give_back(conversation_id: str):
    conversation_id = _conversation_or_404(conversation_id)
    if hand_back(db(), current_tenant().id, conversation_id, by=current_user.email):
        audit("handback", customer_target(current_user.tenant_id, conversation_id))
        db().commit()
        flash("Handed back: Grace answers this customer's next message.", "ok")
    else:
        flash("Nobody of the team has this conversation: Grace answers it.", "error")
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


def _back_to(conversation_id: str):
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


@bp.route("/c/<conversation_id>/notes", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def note(conversation_id: str):
    conversation_id = _conversation_or_404(conversation_id)
    try:
        add_note(db(), current_tenant().id, conversation_id, current_user.email, request.form.get("text"))
    except NoteRefused as exc:
        flash(str(exc), "error")
        return _page(conversation_id, status=422)
    db().commit()
    flash("Note kept: only the team sees it.", "ok")
    return _back_to(conversation_id)


@bp.route("/c/<conversation_id>/labels", methods=["POST"])
@role_required(*ACT_ON_ORDERS)
def label(conversation_id: str):
    conversation_id = _conversation_or_404(conversation_id)
    try:
        if request.form.get("remove"):
            remove_label(db(), current_tenant().id, conversation_id, request.form.get("remove"))
        else:
            add_label(db(), current_tenant().id, conversation_id, request.form.get("label"))
    except NoteRefused as exc:
        flash(str(exc), "error")
        return _page(conversation_id, status=422)
    db().commit()
    return _back_to(conversation_id)


@bp.route("/canned", methods=["GET", "POST"])
@role_required(*ACT_ON_ORDERS)
def canned():
    tenant = current_tenant()
    status = 200
    if request.method == "POST":
        try:
            if request.form.get("remove", "").isdigit():
                remove_canned_reply(db(), tenant.id, int(request.form["remove"]))
            else:
                add_canned_reply(db(), tenant.id, request.form.get("title"), request.form.get("text"),
                                 current_user.email)
            db().commit()
            return redirect(url_for("inbox.canned"))
        except NoteRefused as exc:
            db().rollback()
            flash(str(exc), "error")
            status = 422
    return render_template("inbox_canned.html", tenant=tenant, replies=canned_replies(db(), tenant.id),
                           title=request.form.get("title", ""), text=request.form.get("text", "")), status


def fabric_caption(tenant: Tenant, fabric: Fabric) -> str:
    return Wording(tenant)("fabric_picture_caption", name=fabric.name, sku=fabric.sku,
                           price=format_money(fabric.price_minor, tenant.currency), unit=fabric.unit)
