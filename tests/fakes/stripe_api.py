"""A real HTTP server impersonating Stripe's Checkout Sessions API, and Stripe's side of its webhooks.

Requests come form-encoded with Stripe's bracket nesting (``line_items[0][price_data][currency]=kes``) and a
Bearer secret key, as the official library sends them. It refuses what Stripe refuses: a missing or wrong key
(401), a session without mode, line items, success_url, a currency, a whole-number unit_amount or a product
name, metadata over Stripe's limits, an ``expires_at`` outside 30 minutes to 24 hours, and an Idempotency-Key
reused with other parameters (400, Stripe's error object). ``complete`` is the customer paying on the page and
``send_webhook`` posts the event signed as Stripe signs it: ``Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of
"<ts>.<body>" keyed with the endpoint's whsec_ secret>``. Standard library only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.twilio_api import HTTPFake, Reply
from tests.fakes.webhooks import post_webhook

__all__ = ["FakeStripe", "parse_stripe_form", "stripe_signature"]

CURRENCIES = ("usd", "eur", "gbp", "kes", "ngn", "ghs", "zar", "xof", "xaf")
_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body with the endpoint's signing secret>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def parse_stripe_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding back into objects: a[b]=1 -> {"a": {"b": "1"}}, a[0][b]=1 -> {"a": [{"b": "1"}]}."""
    root: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False):
        match = _KEY.match(name)
        if match is None:
            raise ValueError(f"bad parameter name {name!r}")
        parts = [match.group(1)] + re.findall(r"\[([^\]]*)\]", match.group(2))
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"parameter {name!r} is both a value and an object")
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class Refusal(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.param, self.status, self.kind = message, param, status, kind


def _error(refusal: Refusal) -> Reply:
    error: dict[str, Any] = {"message": refusal.message, "type": refusal.kind}
    if refusal.param:
        error["param"] = refusal.param
    return Reply.json(refusal.status, {"error": error})


def _integer(value: Any, param: str, minimum: int) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise Refusal(f"Invalid integer: {value}", param)
    if int(value) < minimum:
        raise Refusal(f"This value must be greater than or equal to {minimum}.", param)
    return int(value)


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise Refusal("Invalid object", param)
    if len(value) > 50:
        raise Refusal("Metadata can have up to 50 keys.", param)
    for key, item in value.items():
        if len(key) > 40:
            raise Refusal("Metadata keys can be up to 40 characters long.", f"{param}[{key}]")
        if not isinstance(item, str) or len(item) > 500:
            raise Refusal("Metadata values can be up to 500 characters long.", f"{param}[{key}]")
    return dict(value)


class FakeStripe(HTTPFake):
    def __init__(self, secret_key: str = "sk_test_grace_stripe", webhook_secret: str = "whsec_grace_test") -> None:
        super().__init__()
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self._sessions: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (params, session)

    @property
    def sessions(self) -> list[dict[str, Any]]:
        """Every checkout session created, oldest first."""
        with self._cond:
            return [dict(s) for s in self._sessions.values()]

    def complete(self, session_id: str, amount_total: int | None = None) -> dict[str, Any]:
        """The customer pays the session; returns the checkout.session.completed event Stripe then sends."""
        with self._cond:
            session = self._sessions[session_id]
            session.update(status="complete", payment_status="paid",
                           amount_total=session["amount_total"] if amount_total is None else amount_total,
                           payment_intent=f"pi_{secrets.token_hex(12)}")
            data = json.loads(json.dumps(session))
        return {"id": f"evt_{secrets.token_hex(12)}", "object": "event", "api_version": "2025-01-27.acacia",
                "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "type": "checkout.session.completed",
                "data": {"object": data}}

    def send_webhook(self, url: str, event: dict[str, Any], secret: str | None = None,
                     timestamp: int | None = None, signature: str | None = None) -> tuple[int, str]:
        """POST the event as Stripe does (JSON, Stripe-Signature over it); returns Grace's (status, body)."""
        body = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON: the bytes are what is signed
        if signature is None:
            signature = stripe_signature(body, secret or self.webhook_secret, timestamp)
        return post_webhook(url, body, {"Content-Type": "application/json; charset=utf-8",
                                        "Stripe-Signature": signature})

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        record: dict[str, Any] = {"method": method, "path": path, "params": None}
        try:
            failure = self._take_failure()
            if failure is not None:
                raise Refusal("scripted failure", status=failure[0], kind="api_error")
            self._authorise(headers)
            if method != "POST" or path != "/v1/checkout/sessions":
                raise Refusal(f"Unrecognized request URL ({method}: {path}).", status=404)
            params = parse_stripe_form(body)
            record["params"] = params
            reply = Reply.json(200, self._create(params, headers.get("Idempotency-Key")))
        except Refusal as refusal:
            reply = _error(refusal)
            record["refused"] = refusal.message
        except ValueError as exc:
            reply = _error(Refusal(str(exc)))
            record["refused"] = str(exc)
        record["status"] = reply.status
        self._record(record)
        return reply

    def _authorise(self, headers: Message) -> None:
        scheme, _, key = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Refusal("You did not provide an API key. You need to provide your API key in the Authorization "
                          "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').", status=401)
        if key.strip() != self.secret_key:
            raise Refusal(f"Invalid API Key provided: {key.strip()[:8]}****", status=401)

    def _create(self, params: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        if idempotency_key:
            with self._cond:
                seen = self._idempotent.get(idempotency_key)
            if seen is not None:
                if seen[0] != params:
                    raise Refusal("Keys for idempotent requests can only be used with the same parameters they "
                                  "were first used with.", kind="idempotency_error")
                return seen[1]
        mode = params.get("mode")
        if not mode:
            raise Refusal("Missing required param: mode.", "mode")
        if mode not in ("payment", "setup", "subscription"):
            raise Refusal("Invalid mode: must be one of payment, setup, or subscription", "mode")
        if not params.get("success_url") and params.get("ui_mode") not in ("embedded", "custom"):
            raise Refusal("Missing required param: success_url.", "success_url")
        items = params.get("line_items")
        if mode == "payment" and not items:
            raise Refusal("Missing required param: line_items.", "line_items")
        if not isinstance(items, list):
            raise Refusal("Invalid array", "line_items")
        total, currency = 0, None
        for index, item in enumerate(items):
            where = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise Refusal("Invalid object", where)
            quantity = _integer(item.get("quantity"), f"{where}[quantity]", 1) if "quantity" in item else None
            if quantity is None:
                raise Refusal(f"Missing required param: {where}[quantity].", f"{where}[quantity]")
            price = item.get("price_data")
            if not isinstance(price, dict):
                raise Refusal("You must specify either `price` or `price_data` for each line item.", where)
            if not price.get("currency"):
                raise Refusal(f"Missing required param: {where}[price_data][currency].",
                              f"{where}[price_data][currency]")
            if price["currency"] not in CURRENCIES:
                raise Refusal(f"Invalid currency: {price['currency']}.", f"{where}[price_data][currency]")
            if currency not in (None, price["currency"]):
                raise Refusal("All line items must have the same currency.", f"{where}[price_data][currency]")
            currency = price["currency"]
            if "unit_amount" not in price:
                raise Refusal(f"Missing required param: {where}[price_data][unit_amount].",
                              f"{where}[price_data][unit_amount]")
            unit = _integer(price["unit_amount"], f"{where}[price_data][unit_amount]", 0)
            product = price.get("product_data")
            if not isinstance(product, dict) or not product.get("name"):
                raise Refusal(f"Missing required param: {where}[price_data][product_data][name].",
                              f"{where}[price_data][product_data][name]")
            total += unit * quantity
        metadata = _metadata(params.get("metadata"), "metadata")
        intent = params.get("payment_intent_data") or {}
        _metadata(intent.get("metadata") if isinstance(intent, dict) else None, "payment_intent_data[metadata]")
        reference = params.get("client_reference_id")
        if reference is not None and len(reference) > 200:
            raise Refusal("client_reference_id can be up to 200 characters long.", "client_reference_id")
        now = int(time.time())
        expires = _integer(params["expires_at"], "expires_at", 0) if "expires_at" in params else now + 86400
        if not now + 1800 - 5 <= expires <= now + 86400 + 5:
            raise Refusal("The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session "
                          "creation.", "expires_at")
        session_id = f"cs_test_{secrets.token_hex(24)}"
        session = {"id": session_id, "object": "checkout.session", "mode": mode, "status": "open",
                   "payment_status": "unpaid", "amount_subtotal": total, "amount_total": total, "currency": currency,
                   "metadata": metadata, "client_reference_id": reference, "success_url": params.get("success_url"),
                   "expires_at": expires, "created": now, "livemode": False, "payment_intent": None,
                   "url": f"https://checkout.stripe.com/c/pay/{session_id}"}
        with self._cond:
            self._sessions[session_id] = session
            if idempotency_key:
                self._idempotent[idempotency_key] = (params, session)
        return session
