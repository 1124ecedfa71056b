"""Customers' requests to have their data erased, and erasures the business makes itself.

On WhatsApp a customer asks in their own words ("delete my data", "abeg remove my number from your system"):
the words are read before the turn, conservatively (a sale sentence never matches: "remove the lace from my
order" is shopping), one pending request is kept per customer however often they ask, the ops numbers are
told (naming the customer by row, never by number), and the owner confirms it on the dashboard's Privacy
page or declines it. Confirming tells the customer first (afterwards Grace no longer has their number), then
erases (grace.privacy.erasure). From the dashboard or the API the person asking confirms it themselves. Every
decision is audited in the session of the change; the request row keeps what was done, counted."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.notifications import PRIVACY_REQUEST, notify_ops
from grace.privacy.erasure import ERASED, Erasure, erase_customer
from grace.store import session_scope
from grace.store.audit import record
from grace.store.models import Contact, Customer, PrivacyRequest, utcnow
from grace.tenancy.registry import Tenant
from grace.tenancy.wording import Wording
from grace.whatsapp.delivery import close_providers, send_proactive

PENDING, DONE, DECLINED = "pending", "done", "declined"
PARTIAL = "partial"  # erased but for files the media store did not remove: run it again
ERASED_ACTION, DECLINED_ACTION = "customer_erased", "privacy_request_declined"
MAX_ASKING_CHARS = 300  # a long message is about something else that mentions data

_VERB = r"(?:delete|erase|remove|wipe|clear|comot|cancel)"
_MINE = r"(?:personal |private |contact |phone )?(?:data|details|information|info|number|records?|contact)"
_ASKING = re.compile(
    rf"\b{_VERB}\s+(?:all\s+)?(?:of\s+)?my\s+{_MINE}\b"  # "delete my data", "abeg remove all my details"
    rf"|\b{_VERB}\s+(?:everything|all)\s+(?:you\s+(?:have|keep)\s+)?(?:about|on|of)\s+me\b"  # "erase all about me"
    rf"|\bmy\s+(?:personal\s+)?(?:data|details|information|info)\s+(?:to\s+be\s+|should\s+be\s+)?"
    r"(?:deleted|erased|removed|wiped)\b"  # "I want my data deleted"
    r"|\bright\s+to\s+be\s+forgotten\b",
    re.IGNORECASE)
_NOT = re.compile(r"\b(?:don'?t|do\s+not|never|no\s+need\s+to|not)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def asks_for_erasure(text: str) -> bool:
    """The customer's words ask for their data to be erased (never a sale sentence, a negation or a long text)."""
    text = (text or "").replace("’", "'").strip()
    if not text or len(text) > MAX_ASKING_CHARS:
        return False
    return any(not _NOT.search(text[:match.start()]) for match in _ASKING.finditer(text))


class RequestRefused(GraceError):
    """A request that cannot be decided: not this business's, or decided already."""


@dataclass(frozen=True)
class RequestView:
    """A request as the Privacy page lists it: the customer by row, never by number."""

    id: int
    customer: str
    source: str
    status: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    summary: dict


def who(request: PrivacyRequest) -> str:
    """How pages, alerts and the audit log name the customer of a request."""
    if request.customer_id is not None:
        return f"customer {request.customer_id}"
    return f"contact {request.contact_id}" if request.contact_id is not None else "customer (unknown)"


def ask_for_erasure(tenant: Tenant, phone: str) -> bool:
    """The customer asked on WhatsApp: a pending request (and the ops numbers told), unless one waits already.
    True when this ask made it. Blocking."""
    with session_scope() as session:
        customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant.id,
                                                          Customer.phone == phone)).one_or_none()
        contact = session.scalars(select(Contact).where(Contact.tenant_id == tenant.id,
                                                        Contact.phone == phone)).one_or_none()
        mine = []
        if customer is not None:
            mine.append(PrivacyRequest.customer_id == customer.id)
        if contact is not None:
            mine.append(PrivacyRequest.contact_id == contact.id)
        if mine and session.scalars(select(PrivacyRequest.id).where(
                PrivacyRequest.tenant_id == tenant.id, PrivacyRequest.status == PENDING, or_(*mine))).first():
            return False
        request = PrivacyRequest(tenant_id=tenant.id, customer_id=customer.id if customer else None,
                                 contact_id=contact.id if contact else None, kind="erasure", source="whatsapp",
                                 status=PENDING)
        session.add(request)
        session.flush()
        notify_ops(session, tenant, PRIVACY_REQUEST, Wording(tenant)("ops_privacy_request", customer=who(request)),
                   request_id=request.id)
        record(session, tenant.id, "system", "privacy_requested", who(request), {"source": "whatsapp"})
        return True


def requests_of(session: Session, tenant_id: str) -> list[RequestView]:
    """The business's requests, pending first, then newest first."""
    rows = session.scalars(select(PrivacyRequest).where(PrivacyRequest.tenant_id == tenant_id)
                           .order_by(PrivacyRequest.id.desc()))
    views = [RequestView(r.id, who(r), r.source, r.status, r.requested_at, r.decided_by, r.decided_at,
                         r.summary or {}) for r in rows]
    return sorted(views, key=lambda v: v.status != PENDING)


def _request(session: Session, tenant_id: str, request_id: int) -> PrivacyRequest:
    request = session.scalars(select(PrivacyRequest).where(PrivacyRequest.tenant_id == tenant_id,
                                                           PrivacyRequest.id == request_id)).one_or_none()
    if request is None:
        raise RequestRefused(f"no request {request_id} at this business")
    return request


def _phone_of(session: Session, tenant_id: str, request: PrivacyRequest) -> str:
    """The customer's number while it is kept; an erased customer's placeholder when a run is repeated."""
    if request.customer_id is not None:
        customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant_id,
                                                          Customer.id == request.customer_id)).one_or_none()
        if customer is not None:
            if not customer.phone.startswith(ERASED):
                return customer.phone
            contact = session.scalars(select(Contact.phone).where(Contact.tenant_id == tenant_id,
                                                                  Contact.id == request.contact_id)).one_or_none()
            return contact or customer.phone
    if request.contact_id is not None:
        phone = session.scalars(select(Contact.phone).where(Contact.tenant_id == tenant_id,
                                                            Contact.id == request.contact_id)).one_or_none()
        if phone:
            return phone
    return f"{ERASED}request-{request.id}"  # nothing left to find by number: only files a run left behind


def confirm(session: Session, tenant: Tenant, request_id: int, actor: str, ip: str | None = None) -> PrivacyRequest:
    """The owner confirms a request (or runs a partial one again): a customer who asked on WhatsApp is told,
    then everything is erased. Blocking (it may write to WhatsApp): never on an event loop."""
    request = _request(session, tenant.id, request_id)
    if request.status not in (PENDING, PARTIAL):
        raise RequestRefused(f"request {request_id} is {request.status} already")
    phone = _phone_of(session, tenant.id, request)
    told = None
    if request.status == PENDING and request.source == "whatsapp" and not phone.startswith(ERASED):
        told = tell_customer(tenant, phone)
    files_left = (request.summary or {}).get("files_left") or []
    erasure = erase_customer(session, tenant.id, phone, files_left=files_left)
    _finish(session, tenant.id, request, erasure, actor, ip, told)
    return request


def erase(session: Session, tenant: Tenant, phone: str, source: str, actor: str,
          ip: str | None = None) -> PrivacyRequest:
    """The business erases a customer itself (dashboard, API): confirmed by whoever asks, done at once."""
    erasure = erase_customer(session, tenant.id, phone)  # first: if the tracker store is down, no row is left
    request = PrivacyRequest(tenant_id=tenant.id, kind="erasure", source=source, status=PENDING,
                             customer_id=erasure.customer_id, contact_id=erasure.contact_id)
    session.add(request)
    theirs = [column == row for column, row in ((PrivacyRequest.customer_id, erasure.customer_id),
                                                (PrivacyRequest.contact_id, erasure.contact_id)) if row is not None]
    session.flush()
    for earlier in session.scalars(select(PrivacyRequest).where(  # what the customer asked for is done too
            PrivacyRequest.tenant_id == tenant.id, PrivacyRequest.status == PENDING,
            PrivacyRequest.id != request.id, or_(*theirs))) if theirs else ():
        earlier.status, earlier.decided_by, earlier.decided_at = DONE, actor, utcnow()
        earlier.summary = {"erased_by_request": request.id}
    _finish(session, tenant.id, request, erasure, actor, ip, None)
    return request


def decline(session: Session, tenant: Tenant, request_id: int, actor: str, ip: str | None = None) -> PrivacyRequest:
    """The owner declines a request (e.g. asked by mistake); nothing is erased and the customer is not
    messaged: the owner tells them why, in their own words."""
    request = _request(session, tenant.id, request_id)
    if request.status != PENDING:
        raise RequestRefused(f"request {request_id} is {request.status} already")
    request.status, request.decided_by, request.decided_at = DECLINED, actor, utcnow()
    record(session, tenant.id, actor, DECLINED_ACTION, who(request), {"request": request.id}, ip)
    return request


def _finish(session: Session, tenant_id: str, request: PrivacyRequest, erasure: Erasure, actor: str,
            ip: str | None, told: str | None) -> None:
    summary = erasure.summary()
    if told is not None:
        summary["customer_told"] = told
    request.status = DONE if erasure.complete else PARTIAL
    request.decided_by, request.decided_at, request.summary = actor, utcnow(), summary
    session.flush()
    record(session, tenant_id, actor, ERASED_ACTION, who(request),
           {"request": request.id, "status": request.status, **erasure.counts}, ip)


def tell_customer(tenant: Tenant, phone: str) -> str:
    """Tell the customer their erasure is being done, under WhatsApp's rules (inside the 24-hour window, or the
    tenant's `privacy_erased` template); how it went ("sent", or "skipped: why")."""
    async def send() -> str:
        try:
            outcome = await send_proactive(tenant, phone, [{"text": Wording(tenant)("privacy_erased")}],
                                           "privacy_erased", [tenant.name])
        finally:
            await close_providers()  # this loop ends here: its HTTP sessions with it
        return outcome.status if outcome.status == "sent" else f"{outcome.status}: {outcome.detail}"

    return asyncio.run(send())
