"""Customers' data (owners only): the Privacy page lists erasure requests (customers ask on WhatsApp: the owner
confirms or declines), and a customer's page offers their data as a zip and their erasure, with a confirmation
step. The API does the same for a number: GET /api/v1/customers/<phone>/export, POST .../erase. Exports and
erasures are audited naming "customer <id>", never the number (grace.privacy)."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from grace.errors import GraceError
from grace.privacy.erasure import ERASED, TrackerUnavailable
from grace.privacy.export import export_customer
from grace.privacy.requests import PENDING, RequestRefused, confirm, decline, erase, requests_of, who
from grace.shop.contact_book import ContactError, normalise_phone
from grace.store.models import Contact, Customer, PrivacyRequest
from grace.tenancy.registry import Tenant
from web.access import OWNER, current_tenant, role_required
from web.api import api_blueprint, error
from web.audit import audit, audit_api, customer_target
from web.conversations import conversation
from web.openapi import SPEC
from web.queries import customer_or_404
from web.request_store import db

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
api = api_blueprint("privacy_api")
CONFIRM_WORD = "erase"  # typed by the owner on the confirmation step: an erasure cannot be undone


def _zip(tenant: Tenant, phone: str, label: str) -> Response:
    data = export_customer(db(), tenant, phone, conversation(db(), tenant.id, phone))
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{tenant.id}-{label.replace(" ", "-")}-data.zip"',
        "Cache-Control": "no-store"})


def _ip() -> str | None:
    return request.remote_addr


@bp.route("")
@role_required(*OWNER)
def index():
    tenant = current_tenant()
    return render_template("privacy.html", tenant=tenant, requests=requests_of(db(), tenant.id), pending=PENDING)


@bp.route("/requests/<int:request_id>/confirm", methods=["POST"])
@role_required(*OWNER)
def confirm_request(request_id: int):
    tenant = current_tenant()
    try:
        done = confirm(db(), tenant, request_id, current_user.email, _ip())
    except (RequestRefused, TrackerUnavailable) as exc:
        flash(f"Nothing was erased: {exc}", "error")
        return redirect(url_for("privacy.index"))
    _said(done)
    return redirect(url_for("privacy.index"))


@bp.route("/requests/<int:request_id>/decline", methods=["POST"])
@role_required(*OWNER)
def decline_request(request_id: int):
    try:
        decline(db(), current_tenant(), request_id, current_user.email, _ip())
    except RequestRefused as exc:
        flash(str(exc), "error")
    else:
        flash("Declined: nothing was erased. Tell the customer why in the inbox.", "ok")
    return redirect(url_for("privacy.index"))


def _said(done: PrivacyRequest) -> None:
    left = (done.summary or {}).get("files_left") or []
    if left:
        flash(f"Erased, except {len(left)} file(s) the media store did not remove: run it again from the Privacy "
              "page when it answers.", "error")
    else:
        flash("Erased. Orders and payments are kept for your accounts, without the customer's name or number.", "ok")


@bp.route("/customers/<int:customer_id>/export")
@role_required(*OWNER)
def export_page(customer_id: int):
    tenant = current_tenant()
    customer = customer_or_404(db(), tenant.id, customer_id)
    audit("customer_exported", f"customer {customer.id}")
    return _zip(tenant, customer.phone, f"customer-{customer.id}")


@bp.route("/customers/<int:customer_id>/erase", methods=["GET", "POST"])
@role_required(*OWNER)
def erase_page(customer_id: int):
    tenant = current_tenant()
    customer = customer_or_404(db(), tenant.id, customer_id)
    if customer.phone.startswith(ERASED):
        flash("This customer's data was erased already.", "ok")
        return redirect(url_for("customers.detail", customer_id=customer.id))
    problem = ""
    if request.method == "POST":
        if request.form.get("confirm", "").strip().lower() == CONFIRM_WORD:
            try:
                done = erase(db(), tenant, customer.phone, "dashboard", current_user.email, _ip())
            except TrackerUnavailable as exc:
                problem = f"Nothing was erased: {exc}"
            else:
                _said(done)
                return redirect(url_for("customers.detail", customer_id=customer.id))
        else:
            problem = f"Type {CONFIRM_WORD} to confirm: nothing was erased."
    return render_template("privacy_erase.html", tenant=tenant, customer=customer, problem=problem,
                           word=CONFIRM_WORD), 422 if problem else 200


# API ---------------------------------------------------------------------------------------------------------


def _known(phone: str) -> str:
    """The number as Grace keeps it, if this business knows it (a customer or a contact); else abort 404/400."""
    try:
        number = normalise_phone(g.tenant, phone)
    except ContactError as exc:
        abort(make_response(error(400, str(exc))))
    known = any(db().scalars(select(model.id).where(model.tenant_id == g.tenant.id, model.phone == number)).first()
                for model in (Customer, Contact))
    if not known:
        abort(make_response(error(404, "no customer or contact with this number")))
    return number


@api.route("/customers/<phone>/export")
def export_api(phone: str):
    number = _known(phone)
    target = customer_target(g.tenant.id, number)
    audit_api("customer_exported", target)
    return _zip(g.tenant, number, target)


@api.route("/customers/<phone>/erase", methods=["POST"])
def erase_api(phone: str):
    number = _known(phone)
    try:
        done = erase(db(), g.tenant, number, "api", g.audit_actor, _ip())
    except TrackerUnavailable as exc:
        return error(503, f"nothing was erased: {exc}")
    except GraceError as exc:
        return error(422, str(exc))
    return jsonify(request_id=done.id, status=done.status, customer=who(done), summary=done.summary)


_PHONE = {"name": "phone", "in": "path", "required": True, "schema": {"type": "string"},
          "description": "the customer's number (E.164, or as written locally in the business's country)"}
SPEC["paths"].update({
    "/api/v1/customers/{phone}/export": {"get": {
        "summary": "Everything kept about one customer, as a zip of JSON files and their proof pictures",
        "parameters": [_PHONE],
        "responses": {"200": {"description": "the zip", "content": {"application/zip": {}}},
                      "404": {"description": "no customer or contact with this number"}}}},
    "/api/v1/customers/{phone}/erase": {"post": {
        "summary": "Erase one customer (orders and payments kept for the accounts, anonymised); cannot be undone",
        "parameters": [_PHONE],
        "responses": {"200": {"description": "the request id, its status (done; partial: files the media store "
                                             "did not remove are in summary.files_left, call it again) and what "
                                             "was removed, counted"},
                      "404": {"description": "no customer or contact with this number"},
                      "503": {"description": "the tracker store did not answer: nothing was erased"}}}},
})
