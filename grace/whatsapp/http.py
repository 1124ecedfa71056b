"""One retrying HTTP call for every provider: backoff on 429, 5xx and network errors."""
from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("grace.whatsapp.http")

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 10.0


def _backoff_base() -> float:
    return float(os.environ.get("GRACE_SEND_BACKOFF_S", "0.5"))


@dataclass
class ProviderError(Exception):
    """A provider refused a call for good (after retries when retrying made sense)."""

    status: int
    detail: str

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.detail[:300]}"

    def refusal(self) -> tuple[str, str]:
        """(error code, message) of the provider's answer: Twilio writes {"code", "message"}, Meta {"error":
        {"code", "message", "error_data": {"details"}}}; ("", the text) for anything else (a 5xx page, a
        network error)."""
        try:
            body = json.loads(self.detail)
        except ValueError:
            return "", self.detail[:300]
        if not isinstance(body, dict):
            return "", self.detail[:300]
        inner = body["error"] if isinstance(body.get("error"), dict) else body
        data = inner.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        return str(inner.get("code") or ""), str(details or inner.get("message") or self.detail)[:300]


async def request_with_retry(session: aiohttp.ClientSession, method: str, url: str, *, attempts: int = 4,
                             **kwargs: Any) -> tuple[int, bytes, str]:
    """(status, body, content type) of the first non-retryable answer; ProviderError if none came."""
    delay = _backoff_base()
    last: ProviderError | None = None
    for attempt in range(1, attempts + 1):
        try:
            async with session.request(method, url, **kwargs) as answer:
                body = await answer.read()
                if answer.status not in RETRY_STATUSES:
                    return answer.status, body, answer.headers.get("Content-Type", "")
                last = ProviderError(answer.status, body.decode("utf-8", "replace"))
                wait = _retry_after(answer.headers.get("Retry-After"), delay)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            last = ProviderError(0, f"{type(exc).__name__}: {exc}")
            wait = delay
        if attempt < attempts:
            log.warning("%s %s failed (%s); retry %d in %.1fs", method, url.split("?")[0], last, attempt, wait)
            await asyncio.sleep(wait)
            delay *= 2
    assert last is not None
    raise last


def credentials_may_go_to(url: str, api_base_url: str, host_suffixes: tuple[str, ...]) -> bool:
    """A provider's credentials go to its API (as configured: tests use a local one) and its own
    media hosts over https, never to any other URL a webhook may carry."""
    target, api = urlsplit(url), urlsplit(api_base_url)
    if (target.hostname, target.port) == (api.hostname, api.port):
        return True
    return target.scheme == "https" and (target.hostname or "").endswith(host_suffixes)


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(header))) if header else default
    except ValueError:
        return default
