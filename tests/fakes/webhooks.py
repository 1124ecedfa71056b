"""What a provider's fake does when it calls Grace's webhook: POST the signed bytes, read the answer; and
the callbacks a fake sends of its own accord (status callbacks), in order, from background threads."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST `body` as given (the signature is over these bytes); Grace's (status, body text), errors included."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# --------------------------------------------------------------------------- callbacks a fake sends on its own

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Post:
    """One webhook a fake provider sends: `url` is the address it was given (what Twilio signs over); the
    body and headers are final."""

    url: str
    body: bytes
    headers: dict[str, str]
    about: dict[str, Any]  # what it reports (message id, status), kept in the records


class CallbackSender:
    """Webhooks a provider sends of its own accord, as status callbacks: each message's in order (sent, then
    delivered, then read), from background threads, a little after the API call that caused them answered.

    The fake calls this machine only: a URL on another host is sent to the local address a test routes it to
    (`route`: the proxy or tunnel in front of Grace), and one with no route is recorded as not sent (this
    machine has no network). Tests wait on `wait_for` (a condition, never a sleep); `hold` keeps callbacks
    back until `release` lets them go one by one, so a test can look at each step."""

    def __init__(self, interval: float = 0.1, workers: int = 4) -> None:
        self.interval = interval  # before each callback: Grace records the message id once the API answered
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fake-callbacks")
        self._cond = threading.Condition()
        self._records: list[dict[str, Any]] = []
        self._routes: list[tuple[str, str]] = []
        self._permits: int | None = None  # None: not held
        self._stopping = False

    def route(self, public_prefix: str, local_prefix: str) -> None:
        """Send what is addressed under `public_prefix` to `local_prefix` instead, unchanged otherwise."""
        with self._cond:
            self._routes.append((public_prefix.rstrip("/"), local_prefix.rstrip("/")))

    def local_url(self, url: str) -> str | None:
        """Where a callback to `url` really goes, None when nowhere on this machine."""
        with self._cond:
            routes = list(self._routes)
        for public, local in routes:
            if url == public or url.startswith(public + "/"):
                return local + url[len(public):]
        return url if urlsplit(url).hostname in LOCAL_HOSTS else None

    def send_in_order(self, posts: list[Post]) -> None:
        """Send these callbacks, in this order, from a background thread."""
        if posts:
            self._pool.submit(self._send_all, posts)

    def post_now(self, post: Post) -> tuple[int, str]:
        """Send one callback at once, from this thread (a test's own: forged, out of order); recorded too."""
        return self._post(post)

    def hold(self) -> None:
        """Keep the background callbacks back until `release`."""
        with self._cond:
            self._permits = 0

    def release(self, count: int = 1) -> None:
        """Let `count` more held callbacks go."""
        with self._cond:
            self._permits = (self._permits or 0) + count
            self._cond.notify_all()

    @property
    def records(self) -> list[dict[str, Any]]:
        """Each callback sent (or not): url, where it went, what it reported, Grace's status and answer."""
        with self._cond:
            return list(self._records)

    def wait_for(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """Block until `count` callbacks were answered (or given up); on timeout fail with what was."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._records) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} callback(s) within {timeout}s, got {self._records!r}")
            return list(self._records)

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _send_all(self, posts: list[Post]) -> None:
        for post in posts:
            with self._cond:
                if self._cond.wait_for(lambda: self._stopping, timeout=self.interval):
                    return
                self._cond.wait_for(lambda: self._stopping or self._permits is None or self._permits > 0)
                if self._stopping:
                    return
                if self._permits is not None:
                    self._permits -= 1
            self._post(post)

    def _post(self, post: Post) -> tuple[int, str]:
        target = self.local_url(post.url)
        if target is None:
            status, answer = 0, "not sent: no route to this host from the fake"
        else:
            try:
                status, answer = post_webhook(target, post.body, post.headers)
            except OSError as exc:  # Grace not listening: the provider logs it and moves on
                status, answer = 0, f"{type(exc).__name__}: {exc}"
        with self._cond:
            self._records.append({"url": post.url, "sent_to": target, **post.about, "status": status,
                                  "answer": answer})
            self._cond.notify_all()
        return status, answer
