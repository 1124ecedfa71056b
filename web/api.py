"""JSON API /api/v1: the dashboard's operations for scripts and other systems.

Each request carries a tenant's key in X-API-Key; the key alone decides the tenant, so ids of
other tenants are never found (404). Errors are JSON: {"error": "..."}.

Keys carry no role: a key is the business's. What a person does in a conversation (take it over, reply,
hand it back) names that person, a dashboard user of the business (`user`: their id or email); their role
decides, as on the dashboard (owner and ops act, a viewer reads only), and their email is kept as the author.
"""
from __future__ import annotations

import csv
import io
import re

from flask import Blueprint, Response, abort, g, jsonify, make_response, request
from sqlalchemy import select

from grace.errors import GraceError
from grace.messaging.takeover import AlreadyTaken, current, hand_back, take_over, touch
from grace.messaging.team_notes import NoteRefused, add_label, add_note, labels_of, notes_of, remove_label
from grace.shop.balance import BalanceError, request_balance
from grace.shop.broadcasts import (
    BroadcastError,
    BroadcastNotFound,
    broadcast_json,
    broadcast_report,
    cancel_broadcast,
    count_recipients,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    recipient_totals,
    report_json,
    schedule_broadcast,
)
from grace.shop.contact_book import (
    CONSENT_FILTERS,
    MAX_IMPORT_BYTES,
    ContactError,
    ImportRefused,
    Segment,
    SegmentError,
    add_contact_label,
    export_contacts_csv,
    get_contact,
    import_contacts,
    list_contacts,
    normalise_phone,
    remove_contact_label,
)
from grace.shop.fulfilment import FulfilmentError
from grace.shop.orders import orders_of
from grace.shop.payments import AlreadyDecided, PaymentError, payments_of
from grace.store.audit import Actor
from grace.store.models import Broadcast, User
from grace.tenancy.accounts import tenant_for_key, user_by_email
from grace.tenancy.registry import get_registry
from grace.whatsapp.human_reply import ReplyFailed, ReplyRefused, send_human_reply
from web.access import ACT_ON_ORDERS
from web.audit import audit_api, customer_target, import_counts
from web.conversation_list import conversation_summary, conversations, is_conversation, transcript
from web.inbox import fabric_caption
from web.openapi import SPEC
from web.operations import decide, move_order
from web.queries import (
    NEXT_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    order_json,
    order_or_404,
    payment_json,
    payment_or_404,
)
from web.request_store import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra):
    return jsonify(error=message, **extra), status


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    key = request.headers.get("X-API-Key")
    tenant_id = tenant_for_key(db(), key)
    if tenant_id is None:
        return error(401, "missing or unknown X-API-Key")
    g.audit_actor = f"api-key {(key or '').strip()[:10]}"  # the prefix the keys page shows, never the key
    try:
        g.tenant = get_registry().get(tenant_id)
    except GraceError as exc:  # the business's files do not load: say so rather than fail obscurely
        return error(503, f"this business's settings do not load: {exc}")
    return None


def api_blueprint(name: str) -> Blueprint:
    """Another module's part of /api/v1 (its own blueprint, registered by web.app): the same key check."""
    part = Blueprint(name, __name__, url_prefix="/api/v1")
    part.before_request(authenticate)
    return part


@bp.route("/openapi.json")
def openapi():
    return jsonify(SPEC)


def _status_filter(allowed: tuple[str, ...], default: str | None) -> str | None:
    status = request.args.get("status", default)
    if status in (None, "", "all"):
        return None
    if status not in allowed:
        abort(make_response(error(400, f"unknown status {status!r}; use one of {', '.join(allowed)} or all")))
    return status


@bp.route("/payments")
def list_payments():
    status = _status_filter(PAYMENT_STATUSES, "pending")
    return jsonify(payments=[payment_json(g.tenant, p) for p in payments_of(db(), g.tenant.id, status)])


@bp.route("/payments/<int:payment_id>")
def get_payment(payment_id: int):
    return jsonify(payment_json(g.tenant, payment_or_404(db(), g.tenant.id, payment_id)))


@bp.route("/payments/<int:payment_id>/<any(verify, reject):verb>", methods=["POST"])
def decide_payment(payment_id: int, verb: str):
    body = request.get_json(silent=True) or {}
    given = body.get("reason")
    reason = given if isinstance(given, str) else request.form.get("reason", "")
    try:
        decision = decide(db(), g.tenant, payment_id, verb == "verify", reason, by=f"api:{g.tenant.id}",
                          actor=Actor(g.audit_actor, request.remote_addr))
    except AlreadyDecided as exc:  # someone decided first: a conflict, not a bad request
        return error(409, str(exc))
    except PaymentError as exc:
        return error(422, str(exc))
    return jsonify(order_reference=decision.reference, status=decision.status, customer_told=decision.customer_told)


@bp.route("/orders")
def list_orders():
    status = _status_filter(ORDER_STATUSES, None)
    return jsonify(orders=[order_json(g.tenant, o) for o in orders_of(db(), g.tenant.id, status, newest_first=True)])


@bp.route("/orders/<reference>")
def get_order(reference: str):
    return jsonify(order_json(g.tenant, order_or_404(db(), g.tenant.id, reference)))


@bp.route("/orders/<reference>/status", methods=["POST"])
def set_order_status(reference: str):
    order = order_or_404(db(), g.tenant.id, reference)
    body = request.get_json(silent=True) or {}
    status = str(body.get("status", ""))
    if status not in NEXT_STATUSES:
        return error(422, f"unknown status {status!r}; use one of {', '.join(NEXT_STATUSES)}")
    audit_api("order_status", order.reference, {"status": status})  # committed with the change, or not at all
    try:
        move_order(db(), g.tenant, order.reference, status)
    except FulfilmentError as exc:  # not paid yet, already past that step, or its balance is due
        db().rollback()
        return error(409, str(exc))
    return jsonify(order_json(g.tenant, order_or_404(db(), g.tenant.id, order.reference)))


@bp.route("/orders/<reference>/request-balance", methods=["POST"])
def request_order_balance(reference: str):
    """Ask the customer for the balance (told on WhatsApp by the outbox worker). A `user` named in the body
    acts as on the dashboard (a viewer gets 403) and is kept as who asked."""
    order = order_or_404(db(), g.tenant.id, reference)
    body = _body()
    person = _acting_user(body).email if "user" in body else None
    by = f"api:{person}" if person else f"api:{g.tenant.id}"
    try:
        request_balance(db(), g.tenant, order.reference, by=by,
                        actor=Actor(g.audit_actor, request.remote_addr, {"user": person} if person else {}))
    except BalanceError as exc:  # deposit not verified, nothing due, a proof waiting, or asked just now
        db().rollback()
        return error(409, str(exc))
    db().commit()
    return jsonify(order_json(g.tenant, order_or_404(db(), g.tenant.id, order.reference)))


@bp.route("/catalog", methods=["PUT"])
def put_catalog():
    """The whole catalog as CSV (or XLSX / JSON by Content-Type): 200 with a summary of the changes,
    or 422 naming each bad row by sku and line, and nothing changed."""
    try:
        from grace.shop.catalog_import import UploadError, apply_upload
    except ImportError:  # the catalog importer is not installed in this build
        return error(501, "catalog upload is not available")

    kind = (request.mimetype or "").lower()
    filename = {"application/json": "catalog.json",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "catalog.xlsx"
                }.get(kind, "catalog.csv")
    try:
        report = apply_upload(g.tenant, request.get_data(cache=False), filename)
    except UploadError as exc:
        return error(422, str(exc))
    except GraceError as exc:
        return error(400, str(exc))
    if not report.ok:
        return error(422, "the catalog has errors; nothing was changed", rows=[
            {"line": e.line, "sku": e.sku, "column": e.column, "problem": e.problem} for e in report.errors])
    audit_api("catalog_uploaded", filename, report.changes.summary() if report.changes else {})
    return jsonify(ok=True, summary=report.summary(), changes=report.to_dict())


# Conversations: the team in the loop (grace.messaging.takeover). ------------------------------------------


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _conversation_or_404(conversation_id: str) -> str:
    if not is_conversation(g.tenant.id, conversation_id):
        abort(404)
    return conversation_id


def _acting_user(body: dict) -> User:
    """The dashboard user of this business the request acts for; 422 when unnamed or unknown, 403 for a viewer."""
    given = body.get("user")
    user = None
    if isinstance(given, int) and not isinstance(given, bool):
        user = db().execute(select(User).where(User.tenant_id == g.tenant.id, User.id == given)).scalar_one_or_none()
    elif isinstance(given, str) and given.strip():
        user = user_by_email(db(), g.tenant.id, given)
    if user is None:
        abort(make_response(error(422, "say who acts: 'user' is the id or email of one of this business's "
                                       "dashboard users")))
    if user.role not in ACT_ON_ORDERS:
        abort(make_response(error(403, f"{user.email} is a {user.role}: a {user.role} reads conversations only")))
    return user


@bp.route("/conversations")
def list_conversations():
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        return error(400, "limit is a number from 1 to 200")
    return jsonify(conversations=conversations(db(), g.tenant.id, int(limit)))


@bp.route("/conversations/<conversation_id>/messages")
def conversation_messages(conversation_id: str):
    conversation = _conversation_or_404(conversation_id)
    return jsonify(conversation=conversation_summary(db(), g.tenant.id, conversation),
                   messages=transcript(db(), g.tenant.id, conversation))


@bp.route("/conversations/<conversation_id>/takeover", methods=["POST"])
def take_over_conversation(conversation_id: str):
    conversation = _conversation_or_404(conversation_id)
    user = _acting_user(_body())
    try:
        take_over(db(), g.tenant.id, conversation, user.id, user.email)
    except AlreadyTaken as exc:
        db().commit()  # an idle takeover found over stays over
        return error(409, str(exc), taken_by=exc.taken_by)
    audit_api("takeover", customer_target(g.tenant.id, conversation), {"user": user.email})
    db().commit()
    return jsonify(conversation_summary(db(), g.tenant.id, conversation))


@bp.route("/conversations/<conversation_id>/reply", methods=["POST"])
def reply_in_conversation(conversation_id: str):
    conversation = _conversation_or_404(conversation_id)
    body = _body()
    user = _acting_user(body)
    taken = current(db(), g.tenant.id, conversation) is not None
    db().commit()  # the store is not held while the provider is called
    if not taken:
        return error(409, "take the conversation over first (POST .../takeover): Grace answers it now")
    text, image = body.get("text"), None
    if body.get("fabric") is not None:  # a fabric's picture from the catalog, the text (or name and price) its caption
        fabric = g.tenant.catalog.get(str(body["fabric"]))
        if fabric is None or not fabric.image_url:
            return error(422, f"{body['fabric']!r} is no fabric of the catalog with a picture")
        image = fabric.image_url
        text = text if isinstance(text, str) and text.strip() else fabric_caption(g.tenant, fabric)
    try:
        sent = send_human_reply(g.tenant, conversation, text, user.email, user.id, image=image)
    except ReplyRefused as exc:
        return error(422, str(exc))
    except ReplyFailed as exc:
        return error(502, str(exc))
    touch(db(), g.tenant.id, conversation)
    # That a person wrote, and who: never what they wrote to the customer.
    audit_api("reply_sent", customer_target(g.tenant.id, conversation),
              {"user": user.email} | ({"picture": True} if image else {}))
    db().commit()
    return jsonify(sent=True, in_history=sent.in_history,
                   message={"who": "person", "text": sent.text, "author": sent.author, "image": image or "",
                            "at": sent.at.isoformat() + "Z"})


@bp.route("/conversations/<conversation_id>/labels", methods=["POST"])
def label_conversation(conversation_id: str):
    """{"user", "add": "vip"} or {"user", "remove": "vip"}: the conversation's labels afterwards."""
    conversation = _conversation_or_404(conversation_id)
    body = _body()
    _acting_user(body)
    try:
        if body.get("remove") is not None:
            remove_label(db(), g.tenant.id, conversation, body.get("remove"))
        else:
            add_label(db(), g.tenant.id, conversation, body.get("add"))
    except NoteRefused as exc:
        return error(422, str(exc))
    db().commit()
    return jsonify(labels=labels_of(db(), g.tenant.id, [conversation]).get(conversation, []))


@bp.route("/conversations/<conversation_id>/notes", methods=["GET", "POST"])
def conversation_notes(conversation_id: str):
    """The team's notes on the conversation (the customer never sees them); POST {"user", "text"} adds one."""
    conversation = _conversation_or_404(conversation_id)
    if request.method == "POST":
        body = _body()
        user = _acting_user(body)
        try:
            add_note(db(), g.tenant.id, conversation, user.email, body.get("text"))
        except NoteRefused as exc:
            return error(422, str(exc))
        db().commit()
    return jsonify(notes=[{"author": n.author, "text": n.text, "at": n.created_at.isoformat() + "Z"}
                          for n in notes_of(db(), g.tenant.id, conversation)])


@bp.route("/conversations/<conversation_id>/handback", methods=["POST"])
def hand_back_conversation(conversation_id: str):
    conversation = _conversation_or_404(conversation_id)
    user = _acting_user(_body())
    if not hand_back(db(), g.tenant.id, conversation, by=user.email):
        return error(409, "nobody of the team has this conversation: Grace answers it")
    audit_api("handback", customer_target(g.tenant.id, conversation), {"user": user.email})
    db().commit()
    return jsonify(conversation_summary(db(), g.tenant.id, conversation))


# Contacts: consent, labels and what they bought (grace.shop.contact_book). --------------------------------

CONTACT_DAYS = ("last_order_older_than_days", "last_order_newer_than_days")


def _contact_filters() -> tuple[Segment, str]:
    """The query string's filters: label and category (repeat for any of several), city, consent,
    last_order_older_than_days, last_order_newer_than_days; 400 for one that cannot be read."""
    days = {}
    for name in CONTACT_DAYS:
        given = request.args.get(name, "").strip()
        if given and not given.isdigit():
            abort(make_response(error(400, f"{name} is a whole number of days")))
        if given:
            days[name] = int(given)
    consent = request.args.get("consent", "any")
    if consent not in CONSENT_FILTERS:
        abort(make_response(error(400, f"unknown consent {consent!r}; use one of {', '.join(CONSENT_FILTERS)}")))
    try:
        return Segment(labels=tuple(request.args.getlist("label")), categories=tuple(request.args.getlist("category")),
                       city=request.args.get("city", ""), opted_in_only=False, **days), consent
    except SegmentError as exc:
        abort(make_response(error(400, str(exc))))


def _contact_or_404(phone: str) -> str:
    """The number as the book keeps it (written any way the business writes numbers), this business's only."""
    try:
        number = normalise_phone(g.tenant, phone)
    except ContactError:
        abort(404)
    if get_contact(db(), g.tenant, number) is None:
        abort(404)
    return number


@bp.route("/contacts")
def list_contacts_api():
    limit, offset = request.args.get("limit", "100"), request.args.get("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        return error(400, "limit is a number from 1 to 500")
    if not offset.isdigit():
        return error(400, "offset is a whole number")
    segment, consent = _contact_filters()
    found = list_contacts(db(), g.tenant, segment, consent=consent)
    page = found[int(offset):int(offset) + int(limit)]
    return jsonify(contacts=[c.to_dict() for c in page], total=len(found), limit=int(limit), offset=int(offset))


@bp.route("/contacts/export")
def export_contacts_api():
    segment, consent = _contact_filters()
    found = list_contacts(db(), g.tenant, segment, consent=consent)
    text = export_contacts_csv(g.tenant, found)
    audit_api("contacts_exported", detail={"contacts": len(found), "filtered": bool(request.args)})
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{g.tenant.id}-contacts.csv"'})


@bp.route("/contacts/import", methods=["POST"])
def import_contacts_api():
    """A CSV file as the body (text/csv) or as the multipart field `file`; `user` (who imports: owner or ops)
    as a query parameter or form field. Good rows are kept and bad ones reported; 422 and nothing changed
    for a file refused as a whole."""
    importer = _acting_user({"user": request.form.get("user") or request.args.get("user")})
    upload = request.files.get("file")
    if upload is not None:
        data, filename = upload.read(MAX_IMPORT_BYTES + 1), upload.filename or "contacts.csv"
    elif (request.mimetype or "text/csv") in ("text/csv", "text/plain", "application/octet-stream"):
        data, filename = request.get_data(cache=False), "contacts.csv"
    else:
        return error(422, f"send the contacts as CSV (Content-Type text/csv), not {request.mimetype}")
    try:
        report = import_contacts(db(), g.tenant, data, filename)
    except ImportRefused as exc:  # refused whole: nothing of the file is in the session
        return error(422, f"nothing was imported: {exc}")
    audit_api("contacts_imported", filename, {"user": importer.email} | import_counts(report))
    db().commit()
    return jsonify(report.to_dict())


@bp.route("/contacts/<phone>", methods=["PUT"])
def put_contact(phone: str):
    """One contact, as a shop's website sends it when a customer ticks "keep me posted" at its checkout:
    {"user", "name", "city", "labels": [...], "consent": true, "source": "checkout"}. The same rules as an
    import (the one path both take): consent is only ever added, never over a STOP; labels only added."""
    body = _body()
    importer = _acting_user(body)
    labels = body.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) and not re.search(r"[;|]", x) for x in labels):
        return error(422, "labels: a list of labels (1 to 30 letters, digits, spaces, - or _)")
    if not isinstance(body.get("consent", False), bool):
        return error(422, "consent: true (the person agreed to hear from the business) or false")
    row = {"phone": phone, "name": str(body.get("name") or ""), "city": str(body.get("city") or ""),
           "labels": ";".join(labels), "consent": "yes" if body.get("consent") else "",
           "source": str(body.get("source") or "")}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    try:
        report = import_contacts(db(), g.tenant, buffer.getvalue().encode("utf-8"), "contact.csv")
    except ImportRefused as exc:
        return error(422, str(exc))
    if report.problems:
        db().rollback()
        return error(422, report.problems[0].problem)
    number = normalise_phone(g.tenant, phone)
    audit_api("contact_saved", customer_target(g.tenant.id, number),
              {"user": importer.email, "consent": bool(body.get("consent"))})
    db().commit()
    contact = get_contact(db(), g.tenant, number)
    assert contact is not None  # just saved
    return jsonify(contact.to_dict())


@bp.route("/contacts/<phone>/labels", methods=["POST", "DELETE"])
def contact_labels(phone: str):
    """POST {"user", "label"} adds the label, DELETE removes it (in the body, or as query parameters): the
    contact's labels afterwards. They are its conversation's labels, the ones the inbox shows."""
    number = _contact_or_404(phone)
    body = _body() or request.args.to_dict()
    _acting_user(body)
    try:
        change = add_contact_label if request.method == "POST" else remove_contact_label
        labels = change(db(), g.tenant, number, body.get("label"))
    except NoteRefused as exc:
        return error(422, str(exc))
    db().commit()
    return jsonify(phone=number, labels=labels)


# Broadcasts: an approved template to a segment of opted-in contacts (grace.shop.broadcasts). ---------------


def _broadcast_owner(body: dict) -> User:
    """The dashboard user the request acts for, who must be an owner: broadcasts write to many customers at once
    in the business's name, so only owners create, send and cancel them (as on the dashboard)."""
    user = _acting_user(body)
    if user.role != "owner":
        abort(make_response(error(403, f"{user.email} is {user.role}: only owners create, send and cancel "
                                       f"broadcasts")))
    return user


def _broadcast_refused(exc: BroadcastError):
    """422 naming the field at fault; 409 when the broadcast's status does not allow it (sent, cancelled)."""
    db().rollback()
    return error(409 if exc.field == "status" else 422, str(exc), field=exc.field)


def _broadcast_or_404(broadcast_id: int) -> Broadcast:
    try:
        return get_broadcast(db(), g.tenant, broadcast_id)
    except BroadcastNotFound:
        abort(404)


@bp.route("/broadcasts", methods=["GET", "POST"])
def broadcasts_api():
    """GET: the business's broadcasts, newest first, with recipients per status. POST: a new one (draft, or
    scheduled with send_at), answered with its id and how many opted-in contacts it reaches now."""
    if request.method == "GET":
        totals = recipient_totals(db(), g.tenant)
        return jsonify(broadcasts=[{**broadcast_json(g.tenant, b), "recipients": totals.get(b.id, {})}
                                   for b in list_broadcasts(db(), g.tenant)])
    body = _body()
    user = _broadcast_owner(body)
    try:
        row = create_broadcast(db(), g.tenant, name=body.get("name"), template=body.get("template"),
                               variables=body.get("variables"), segment=body.get("segment"),
                               rate_per_minute=body.get("rate_per_minute"), send_at=body.get("send_at"),
                               created_by=f"api:{user.email}")
        reach = count_recipients(db(), g.tenant, row.segment)
    except BroadcastError as exc:
        return _broadcast_refused(exc)
    audit_api("broadcast_created", row.id, {"user": user.email, "name": row.name})
    db().commit()
    return jsonify(id=row.id, status=row.status, recipients=reach, broadcast=broadcast_json(g.tenant, row)), 201


@bp.route("/broadcasts/<int:broadcast_id>")
def broadcast_report_api(broadcast_id: int):
    row = _broadcast_or_404(broadcast_id)
    return jsonify(report_json(g.tenant, broadcast_report(db(), g.tenant, row.id)))


@bp.route("/broadcasts/<int:broadcast_id>/schedule", methods=["POST"])
def schedule_broadcast_api(broadcast_id: int):
    """{"user", "send_at": "now" or a time (the business's timezone unless it carries an offset or Z)}."""
    row = _broadcast_or_404(broadcast_id)
    body = _body()
    user = _broadcast_owner(body)
    if body.get("send_at") in (None, ""):
        return error(422, "send_at: say when: \"now\" or a time like 2026-12-01T09:00", field="send_at")
    try:
        row = schedule_broadcast(db(), g.tenant, row.id, body.get("send_at"))
    except BroadcastError as exc:
        return _broadcast_refused(exc)
    audit_api("broadcast_sent", row.id, {"user": user.email, "send_at": str(body.get("send_at"))[:40]})
    db().commit()
    return jsonify(broadcast_json(g.tenant, row))


@bp.route("/broadcasts/<int:broadcast_id>/cancel", methods=["POST"])
def cancel_broadcast_api(broadcast_id: int):
    row = _broadcast_or_404(broadcast_id)
    user = _broadcast_owner(_body())
    try:
        row = cancel_broadcast(db(), g.tenant, row.id)
    except BroadcastError as exc:
        return _broadcast_refused(exc)
    audit_api("broadcast_cancelled", row.id, {"user": user.email})
    db().commit()
    return jsonify(broadcast_json(g.tenant, row))
