"""Paystack's API as Grace uses it: initialize a transaction (the checkout link), verify one, check a webhook.

Amounts are integers in the currency's subunit (kobo, pesewas, cents), as ours are. Every call carries the
tenant's secret key as a Bearer token. A webhook is signed with that same key: `x-paystack-signature` is the
hex HMAC-SHA512 of the raw body. Base URL: PAYSTACK_API_BASE_URL (tests point it at a local fake).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from typing import Any
from urllib.parse import quote

import requests

from grace.payments.checkout import Checkout, Paid, ProviderError, timeout

API_BASE = "https://api.paystack.co"
# Paystack's newer signature form: "t=<unix>,v1=<key id>:<hex>" over "<t>." + body, accepted within this window.
TOLERANCE_S = 300
_HEX512 = re.compile(r"^[0-9a-f]{128}$")


def api_base() -> str:
    return os.environ.get("PAYSTACK_API_BASE_URL", API_BASE).rstrip("/")


def _call(method: str, path: str, secret_key: str, body: dict | None = None) -> dict:
    try:
        answer = requests.request(method, f"{api_base()}{path}", json=body, timeout=timeout(),
                                  headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"})
    except requests.RequestException as exc:
        raise ProviderError(f"Paystack unreachable: {exc.__class__.__name__}") from None
    try:
        payload: Any = answer.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ProviderError(f"Paystack answered {answer.status_code} without JSON")
    if answer.status_code >= 400 or payload.get("status") is not True:
        raise ProviderError(f"Paystack answered {answer.status_code}: {str(payload.get('message'))[:200]}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ProviderError("Paystack answered without data")
    return data


def initialize(secret_key: str, *, email: str, amount_minor: int, currency: str, reference: str,
               metadata: dict, callback_url: str | None = None) -> Checkout:
    """A transaction for this amount; its authorization_url is the page the customer pays on."""
    body: dict[str, Any] = {"email": email, "amount": amount_minor, "currency": currency, "reference": reference,
                            "metadata": metadata}
    if callback_url:
        body["callback_url"] = callback_url
    data = _call("POST", "/transaction/initialize", secret_key, body)
    url, given = data.get("authorization_url"), data.get("reference")
    if not isinstance(url, str) or not url.startswith("https://") or given != reference:
        raise ProviderError("Paystack's answer has no checkout URL for our reference")
    return Checkout(reference=reference, url=url)


def verify(secret_key: str, reference: str) -> Paid | None:
    """What Paystack itself says was paid for this reference; None while it is not a success."""
    data = _call("GET", f"/transaction/verify/{quote(reference, safe='')}", secret_key)
    if data.get("status") != "success":
        return None
    amount, currency = data.get("amount"), data.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise ProviderError("Paystack's verification has no amount or currency")
    if data.get("reference") != reference:
        raise ProviderError("Paystack verified another reference")
    return Paid(reference=reference, amount_minor=amount, currency=currency.upper())


def valid_signature(body: bytes, header: str, secret_key: str, now: float | None = None) -> bool:
    """The webhook came from Paystack: `x-paystack-signature` is the hex HMAC-SHA512 of the raw body keyed
    with the secret key (or the timestamped form, within TOLERANCE_S). Compared in constant time."""
    header = (header or "").strip()
    if not header or not secret_key:
        return False
    if _HEX512.match(header):
        expected = hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()
        return hmac.compare_digest(expected, header)
    parts = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(stamps[0])) > TOLERANCE_S:
        return False
    expected = hmac.new(secret_key.encode(), stamps[0].encode() + b"." + body, hashlib.sha512).hexdigest()
    given = [value.partition(":")[2] for key, _, value in parts if key == "v1"]
    return any(_HEX512.match(hexed) and hmac.compare_digest(expected, hexed) for hexed in given)
