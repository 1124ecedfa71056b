"""A real HTTP server impersonating Paystack's transaction API, and Paystack's side of its webhooks.

It refuses what Paystack refuses: a missing or unknown secret key (401), an initialize without a valid email,
with an amount that is not a whole number of subunits above zero, in a currency Paystack does not take, or
with a reference that has other characters than letters, digits, '-', '.' and '=' or was used before (400).
Each secret key is its own Paystack account: a reference made with one key is "not found" with another.
``pay`` is the customer paying on the checkout page (verify then answers success with what was paid), and
``send_webhook`` posts the event to Grace signed as Paystack signs it: ``x-paystack-signature``, the hex
HMAC-SHA512 of the raw body keyed with the account's secret key. Standard library only.
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
from urllib.parse import unquote

from tests.fakes.twilio_api import HTTPFake, Reply
from tests.fakes.webhooks import post_webhook

__all__ = ["CURRENCIES", "FakePaystack", "paystack_signature"]

CURRENCIES = ("NGN", "GHS", "KES", "ZAR", "USD")
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def paystack_signature(body: bytes, secret_key: str) -> str:
    """x-paystack-signature: hex HMAC-SHA512 of the raw request body with the secret key."""
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def _refuse(status: int, message: str) -> Reply:
    return Reply.json(status, {"status": False, "message": message})


class FakePaystack(HTTPFake):
    def __init__(self, secret_keys: tuple[str, ...] = ("sk_test_grace_paystack",)) -> None:
        super().__init__()
        self.secret_keys = tuple(secret_keys)
        self._transactions: dict[tuple[str, str], dict[str, Any]] = {}  # (key, reference) -> transaction

    # what tests look at ----------------------------------------------------------------------------
    @property
    def initialized(self) -> list[dict[str, Any]]:
        """The bodies of every initialize Paystack accepted, oldest first."""
        return [r["json"] for r in self.requests if r["path"] == "/transaction/initialize" and r["status"] == 200]

    @property
    def verifications(self) -> list[str]:
        """The references Grace asked Paystack to verify (whatever the answer), oldest first."""
        return [r["reference"] for r in self.requests if r.get("reference") and r["method"] == "GET"]

    def transaction(self, reference: str) -> dict[str, Any]:
        with self._cond:
            found = [t for (_, ref), t in self._transactions.items() if ref == reference]
        assert found, f"no Paystack transaction {reference}"
        return dict(found[0])

    # the customer and Paystack's webhook -------------------------------------------------------------
    def pay(self, reference: str, amount: int | None = None, currency: str | None = None) -> dict[str, Any]:
        """The customer pays on the checkout page (``amount``/``currency``: what actually went through, if not
        what was asked); returns the charge.success event Paystack then sends."""
        with self._cond:
            key, transaction = next((k, t) for (k, ref), t in self._transactions.items() if ref == reference)
            transaction.update(status="success", amount=transaction["amount"] if amount is None else amount,
                               currency=currency or transaction["currency"], paid_at=_now_iso())
            data = dict(transaction)
        data.pop("key", None)
        return {"event": "charge.success", "data": data}

    def key_of(self, reference: str) -> str:
        with self._cond:
            return next(k for (k, ref) in self._transactions if ref == reference)

    def send_webhook(self, url: str, event: dict[str, Any], secret_key: str | None = None,
                     signature: str | None = None) -> tuple[int, str]:
        """POST the event as Paystack does (JSON, signed with the account's key unless told otherwise);
        returns (status, body text) of Grace's answer."""
        body = json.dumps(event).encode()
        if signature is None:
            signature = paystack_signature(body, secret_key or self.key_of(event["data"]["reference"]))
        return post_webhook(url, body, {"Content-Type": "application/json", "x-paystack-signature": signature})

    # the API ---------------------------------------------------------------------------------------------
    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        record: dict[str, Any] = {"method": method, "path": path, "json": None}
        key = self._key(headers)
        failure = self._take_failure()
        if failure is not None:
            reply = _refuse(failure[0], "scripted failure")
        elif method == "POST" and path == "/transaction/initialize":
            reply = self._initialize(key, body, record)
        elif method == "GET" and path.startswith("/transaction/verify/"):
            record["reference"] = unquote(path.removeprefix("/transaction/verify/"))
            reply = self._verify(key, record["reference"])
        else:
            reply = _refuse(404, f"Unknown route {method} {path}")
        record["status"] = reply.status
        self._record(record)
        return reply

    def _key(self, headers: Message) -> str | None:
        scheme, _, key = (headers.get("Authorization") or "").strip().partition(" ")
        return key.strip() if scheme.lower() == "bearer" and key.strip() in self.secret_keys else None

    def _initialize(self, key: str | None, body: bytes, record: dict[str, Any]) -> Reply:
        if key is None:
            return _refuse(401, "Invalid key")
        try:
            request: Any = json.loads(body)
        except ValueError:
            request = None
        record["json"] = request
        if not isinstance(request, dict):
            return _refuse(400, "Invalid request body")
        email = request.get("email")
        if not isinstance(email, str) or not _EMAIL.match(email):
            return _refuse(400, "Invalid Email Address Passed")
        amount = request.get("amount")
        if isinstance(amount, str) and amount.isdigit():
            amount = int(amount)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return _refuse(400, "Invalid Amount Sent")
        currency = request.get("currency", "NGN")
        if currency not in CURRENCIES:
            return _refuse(403, "Currency not supported by merchant")
        reference = request.get("reference") or f"T{secrets.randbelow(10**15):015d}"
        if not isinstance(reference, str) or not _REFERENCE.match(reference):
            return _refuse(400, "Invalid reference. Only -, ., = and alphanumeric characters allowed")
        metadata = request.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return _refuse(400, "Invalid metadata")
        access_code = secrets.token_hex(8)
        with self._cond:
            if (key, reference) in self._transactions:
                return _refuse(400, "Duplicate Transaction Reference")
            self._transactions[(key, reference)] = {
                "id": secrets.randbelow(10**10), "status": "abandoned", "reference": reference, "amount": amount,
                "requested_amount": amount, "currency": currency, "paid_at": None, "metadata": metadata or {},
                "customer": {"email": email}, "channel": "card", "callback_url": request.get("callback_url")}
        return Reply.json(200, {"status": True, "message": "Authorization URL created", "data": {
            "authorization_url": f"https://checkout.paystack.com/{access_code}", "access_code": access_code,
            "reference": reference}})

    def _verify(self, key: str | None, reference: str) -> Reply:
        if key is None:
            return _refuse(401, "Invalid key")
        with self._cond:
            transaction = self._transactions.get((key, reference))
            data = dict(transaction) if transaction else None
        if data is None:
            return _refuse(400, "Transaction reference not found")
        return Reply.json(200, {"status": True, "message": "Verification successful", "data": data})


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
