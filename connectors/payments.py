"""Payment providers' webhooks: POST /webhooks/paystack/<tenant> and POST /webhooks/stripe/<tenant>
(credentials keys connectors.payments.PaystackWebhook and connectors.payments.StripeWebhook).

Checks, in order: the tenant exists and takes links from this provider (404), the body is small (413), the
signature is the provider's (Paystack: `x-paystack-signature`, HMAC-SHA512 of the raw body with the tenant's
secret key; Stripe: `Stripe-Signature`, checked by the stripe library with the endpoint's signing secret):
401 and nothing changes. Then the event is read; a Paystack payment is verified again with Paystack's verify
endpoint before anything is settled (grace.payments.links.settle). A repeated event answers 200 and changes
nothing. The customer's "payment verified" goes into their conversation once the settlement is committed.
Database and provider calls run off the event loop.
"""
from __future__ import annotations

import asyncio
import json
import logging

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.turns import OnNewMessage
from grace.concurrency import off_loop
from grace.errors import GraceError
from grace.messaging.rasa_delivery import deliver_customer_events
from grace.payments import paystack, stripe_checkout
from grace.payments.checkout import Paid, ProviderError
from grace.payments.links import Settled, link_by_reference, settle
from grace.store import session_scope
from grace.tenancy.registry import Tenant, get_registry

log = logging.getLogger("grace.channels.payments")
# Providers' events are a few KB (a Stripe checkout session with its line items stays far below this).
MAX_BODY = 256 * 1024
_deliveries: set[asyncio.Task] = set()  # kept so a running delivery is not collected mid-way


def _tenant(tenant_id: str, provider: str) -> Tenant | None:
    try:
        tenant = get_registry().get(tenant_id)
    except GraceError:
        return None
    return tenant if tenant.payment_links == provider else None


def _open(tenant: Tenant, provider: str, reference: str) -> bool | None:
    """None: not one of this tenant's links; else whether it still waits for its money."""
    with session_scope() as session:
        link = link_by_reference(session, tenant, provider, reference)
        return None if link is None else link.status == "open"


def _settle(tenant: Tenant, provider: str, paid: Paid) -> Settled:
    with session_scope() as session:
        return settle(session, tenant, provider, paid)


def _deliver(tenant: Tenant) -> None:
    """Tell the customer in their conversation (payment verified), after the commit; a failure waits in
    the outbox like any decision's (grace events retry)."""
    async def deliver() -> None:
        try:
            await off_loop(deliver_customer_events, tenant.id)
        except Exception:
            log.exception("could not deliver the payment news of %s", tenant.id)

    task = asyncio.get_running_loop().create_task(deliver())
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def _refused(request: Request, tenant_id: str, provider: str) -> tuple[Tenant | None, HTTPResponse | None]:
    tenant = await off_loop(_tenant, tenant_id, provider)
    if tenant is None:
        log.warning("%s webhook for %r refused: no such business taking %s links", provider, tenant_id, provider)
        return None, response.text("unknown business", status=404)
    if len(request.body or b"") > MAX_BODY:
        log.warning("%s webhook of %d bytes for %s refused", provider, len(request.body), tenant.id)
        return None, response.text(f"request body over {MAX_BODY} bytes", status=413)
    if not tenant.payment_webhook_secret():
        log.error("%s webhook for %s refused: %s is not set", provider, tenant.id,
                  tenant.payment_webhook_secret_env or tenant.payment_secret_key_env)
        return None, response.text("payment webhook not configured", status=503)  # the provider retries later
    return tenant, None


async def _finish(tenant: Tenant, provider: str, paid: Paid) -> HTTPResponse:
    settled = await off_loop(_settle, tenant, provider, paid)
    if settled.outcome in ("verified", "flagged"):
        _deliver(tenant)
    log.info("%s payment %s for %s: %s", provider, paid.reference, tenant.id, settled.outcome)
    return response.json({"status": settled.outcome})


class PaystackWebhook(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "paystack"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("grace_paystack", __name__)

        @hook.route("/<tenant_id>", methods=["POST"])
        async def receive(request: Request, tenant_id: str) -> HTTPResponse:
            tenant, refused = await _refused(request, tenant_id, "paystack")
            if tenant is None:
                return refused or response.text("refused", status=400)
            body = request.body or b""
            if not paystack.valid_signature(body, request.headers.get("x-paystack-signature", ""),
                                            tenant.payment_webhook_secret()):
                log.warning("Paystack webhook for %s refused: bad or missing signature from %s", tenant.id, request.ip)
                return response.text("invalid signature", status=401)
            try:
                event = json.loads(body)
            except ValueError:
                return response.text("body is not JSON", status=400)
            data = event.get("data") if isinstance(event, dict) else None
            reference = data.get("reference") if isinstance(data, dict) else None
            if event.get("event") != "charge.success" or not isinstance(reference, str) or not reference:
                return response.json({"status": "ignored"})  # other events, and sales not made through a link
            is_open = await off_loop(_open, tenant, "paystack", reference)
            if is_open is None:
                return response.json({"status": "ignored"})
            if not is_open:
                return response.json({"status": "repeat"})
            try:  # the webhook names the transaction; Paystack itself says what was paid
                paid = await off_loop(paystack.verify, tenant.payment_secret_key(), reference)
            except ProviderError as exc:
                log.warning("Paystack verification of %s for %s failed: %s", reference, tenant.id, exc)
                return response.text("verification failed, try again", status=502)
            if paid is None:
                log.warning("Paystack says %s of %s is not a success", reference, tenant.id)
                return response.json({"status": "not paid"})
            return await _finish(tenant, "paystack", paid)

        return hook


class StripeWebhook(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "stripe"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("grace_stripe", __name__)

        @hook.route("/<tenant_id>", methods=["POST"])
        async def receive(request: Request, tenant_id: str) -> HTTPResponse:
            tenant, refused = await _refused(request, tenant_id, "stripe")
            if tenant is None:
                return refused or response.text("refused", status=400)
            try:
                paid = stripe_checkout.paid_session(request.body or b"", request.headers.get("Stripe-Signature", ""),
                                                    tenant.payment_webhook_secret(), tenant.payment_secret_key())
            except stripe_checkout.SignatureInvalid as exc:
                log.warning("Stripe webhook for %s refused from %s: %s", tenant.id, request.ip, exc)
                return response.text("invalid signature", status=401)
            if paid is None:
                return response.json({"status": "ignored"})
            return await _finish(tenant, "stripe", paid)

        return hook
