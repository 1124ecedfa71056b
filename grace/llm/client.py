"""The model call: any OpenAI-compatible endpoint, a time limit, one retry, and a circuit breaker.

A business's own endpoint, key and model (entered by its owner: grace.tenancy.credentials) serve its calls;
else the platform's: OPENAI_BASE_URL and/or OPENAI_API_KEY (a local server may need no key),
GRACE_LLM_MODEL (a tenant's `llm_model` wins). GRACE_LLM_TIMEOUT_S (8). After
GRACE_LLM_BREAKER_FAILURES failures in a row (3) the endpoint (and key) is left alone for
GRACE_LLM_BREAKER_COOLDOWN_S (60): the canned library answers at once meanwhile.
Called from actions' worker threads, so the blocking client is the right one.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from functools import lru_cache

import openai

from grace.tenancy.credentials import model_for

log = logging.getLogger("grace.llm")


class ModelUnavailable(Exception):
    """No answer from the model (not configured, breaker open, timeout, error, empty answer)."""


class CircuitBreaker:
    def __init__(self, failures: int, cooldown_s: float) -> None:
        self.failures_allowed, self.cooldown_s = failures, cooldown_s
        self._failures, self._opened_at = 0, 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        with self._lock:
            if self._failures < self.failures_allowed:
                return True
            return time.monotonic() - self._opened_at >= self.cooldown_s  # half-open: one more try

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures = 0
            else:
                self._failures += 1
                if self._failures >= self.failures_allowed:
                    self._opened_at = time.monotonic()


def configured(tenant_id: str | None = None) -> bool:
    """Whether a model answers for the business: its own endpoint, else the platform's."""
    return model_for(tenant_id) is not None


@lru_cache(maxsize=64)
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)


@lru_cache(maxsize=64)
def breaker_for(base_url: str | None, key_id: str = "") -> CircuitBreaker:
    """One breaker per endpoint and key: a business's broken endpoint (or revoked key) leaves the others'
    calls alone."""
    return CircuitBreaker(int(os.environ.get("GRACE_LLM_BREAKER_FAILURES", "3")),
                          float(os.environ.get("GRACE_LLM_BREAKER_COOLDOWN_S", "60")))


def _key_id(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""


def complete(messages: list[dict], model: str | None = None, tenant_id: str | None = None) -> str:
    """The model's answer, or ModelUnavailable. The business's own endpoint, key and model when it entered
    them (grace.tenancy.credentials), else the platform's; `model` (the tenant's `llm_model`) names the model
    unless the business's own endpoint names one."""
    endpoint = model_for(tenant_id)
    if endpoint is None:
        raise ModelUnavailable("no model configured")
    base_url = endpoint.base_url or None
    breaker = breaker_for(base_url, _key_id(endpoint.api_key))
    if not breaker.allows():
        raise ModelUnavailable("circuit open after repeated failures")
    client = _client(base_url, endpoint.api_key or "not-needed", float(os.environ.get("GRACE_LLM_TIMEOUT_S", "8")))
    chosen = (endpoint.model if endpoint.own else "") or model or os.environ.get("GRACE_LLM_MODEL", "gpt-4o-mini")
    try:
        answer = client.chat.completions.create(
            model=chosen,
            messages=messages,  # type: ignore[arg-type]  # plain dicts, not openai's message TypedDicts
            temperature=0.4, max_tokens=220)
        text = (answer.choices[0].message.content or "").strip() if answer.choices else ""
    except openai.OpenAIError as exc:
        breaker.record(False)
        log.warning("model call failed%s: %s", f" ({tenant_id}'s own endpoint)" if endpoint.own else "",
                    type(exc).__name__)
        raise ModelUnavailable(type(exc).__name__) from exc
    if not text:
        breaker.record(False)
        raise ModelUnavailable("empty answer")
    breaker.record(True)
    return text
