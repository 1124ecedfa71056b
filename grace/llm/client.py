"""The model call: any OpenAI-compatible endpoint, a time limit, one retry, and a circuit breaker.

Configured by OPENAI_BASE_URL and/or OPENAI_API_KEY (a local server may need no key),
GRACE_LLM_MODEL (a tenant's `llm_model` wins), GRACE_LLM_TIMEOUT_S (8). After
GRACE_LLM_BREAKER_FAILURES failures in a row (3) the endpoint is left alone for
GRACE_LLM_BREAKER_COOLDOWN_S (60): the canned library answers at once meanwhile.
Called from actions' worker threads, so the blocking client is the right one.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from functools import lru_cache

import openai

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


def configured() -> bool:
    return bool(os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))


@lru_cache(maxsize=8)
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)


@lru_cache(maxsize=8)
def breaker_for(base_url: str | None) -> CircuitBreaker:
    return CircuitBreaker(int(os.environ.get("GRACE_LLM_BREAKER_FAILURES", "3")),
                          float(os.environ.get("GRACE_LLM_BREAKER_COOLDOWN_S", "60")))


def complete(messages: list[dict], model: str | None = None) -> str:
    """The model's answer, or ModelUnavailable."""
    if not configured():
        raise ModelUnavailable("no model configured")
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    breaker = breaker_for(base_url)
    if not breaker.allows():
        raise ModelUnavailable("circuit open after repeated failures")
    client = _client(base_url, os.environ.get("OPENAI_API_KEY") or "not-needed",
                     float(os.environ.get("GRACE_LLM_TIMEOUT_S", "8")))
    try:
        answer = client.chat.completions.create(
            model=model or os.environ.get("GRACE_LLM_MODEL", "gpt-4o-mini"),
            messages=messages,  # type: ignore[arg-type]  # plain dicts, not openai's message TypedDicts
            temperature=0.4, max_tokens=220)
        text = (answer.choices[0].message.content or "").strip() if answer.choices else ""
    except openai.OpenAIError as exc:
        breaker.record(False)
        log.warning("model call failed: %s", type(exc).__name__)
        raise ModelUnavailable(type(exc).__name__) from exc
    if not text:
        breaker.record(False)
        raise ModelUnavailable("empty answer")
    breaker.record(True)
    return text
