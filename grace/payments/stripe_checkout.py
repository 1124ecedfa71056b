"""Stripe Checkout through the official `stripe` library: a Checkout Session for one amount (the link), and
the webhook's `Stripe-Signature` checked by the library's own `Webhook.construct_event`.

Each call gets a client of its own (the tenant's secret key, STRIPE_API_BASE_URL when set, a short timeout
and no retries): the library's module-wide key and base would be shared by every tenant.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import stripe

from grace.payments.checkout import Checkout, Paid, ProviderError, timeout

# A Checkout Session lives at most 24 hours at Stripe; a link older than this is made anew rather than reused.
SESSION_LIFETIME = timedelta(hours=23)
# The events that mean a session's money is in: paid at once, or later for delayed methods (bank debits).
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class SignatureInvalid(ProviderError):
    """The webhook is not signed with the endpoint's secret (or is stale, or not an event at all)."""


def _client(secret_key: str) -> stripe.StripeClient:
    base = os.environ.get("STRIPE_API_BASE_URL", "").rstrip("/")
    return stripe.StripeClient(secret_key, base_addresses={"api": base} if base else None,
                               http_client=stripe.RequestsClient(timeout=timeout()), max_network_retries=0)


def create_session(secret_key: str, *, amount_minor: int, currency: str, description: str, success_url: str,
                   metadata: dict[str, str], client_reference_id: str, idempotency_key: str) -> Checkout:
    """A Checkout Session charging this amount once; its url is the page the customer pays on."""
    expires = datetime.now(timezone.utc) + SESSION_LIFETIME
    params: dict = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency.lower(), "unit_amount": amount_minor, "product_data": {"name": description}}}],
        "success_url": success_url,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": client_reference_id,
        "expires_at": int(expires.timestamp()),
    }
    try:
        session = _client(secret_key).v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key})  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise ProviderError(f"Stripe refused the checkout session: {exc.http_status} {exc.user_message or exc}"
                            ) from None
    if not session.id or not session.url:
        raise ProviderError("Stripe's checkout session has no id or URL")
    return Checkout(reference=session.id, url=session.url)


def paid_session(body: bytes, signature: str, webhook_secret: str, secret_key: str) -> Paid | None:
    """The checkout session a signed webhook says is paid, as Stripe states it; None for any other event
    (or a session not paid yet). SignatureInvalid when Stripe did not sign it."""
    try:
        event = stripe.Webhook.construct_event(body, signature, webhook_secret, api_key=secret_key)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise SignatureInvalid(str(exc)[:200]) from None
    if event.type not in PAID_EVENTS:
        return None
    session = event.data.object.to_dict()
    if session.get("object") != "checkout.session" or session.get("payment_status") != "paid":
        return None
    amount, currency, reference = session.get("amount_total"), session.get("currency"), session.get("id")
    if not isinstance(amount, int) or not isinstance(currency, str) or not isinstance(reference, str):
        return None
    return Paid(reference=reference, amount_minor=amount, currency=currency.upper())
