"""A real HTTP server impersonating Twilio's Messages API, plus helpers to sign and build webhooks.

Tests talk to it over a socket so the production HTTP client, auth headers, form encoding and retry
logic are exercised exactly as against api.twilio.com. Only the standard library is used, so the
fake cannot silently share a bug with the ``twilio`` package it is meant to check.

A message created with a StatusCallback gets its status callbacks, signed as Twilio signs them, from a
background thread: sent, delivered, read, in that order; or, to a number that is not on WhatsApp
(``add_not_on_whatsapp``), one "failed" with ErrorCode 63003. ``refuse_numbers`` makes the create call
itself refuse a number (400 with 21211, 21614 or 63003), as Twilio does for a number WhatsApp cannot have.

Media too large to hold (``LargeFile``) are generated as they are sent, framed as a test asks: an honest
Content-Length, chunked with none, a Content-Length that lies low, gzip that inflates past its length, or
a slow drip; the fake records how much it sent before the client went away (``wait_for_downloads``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from typing_extensions import Self

from tests.fakes.webhooks import CallbackSender, Post

__all__ = ["FakeTwilio", "HTTPFake", "LargeFile", "Reply", "twilio_form", "twilio_signature"]

TWILIO_API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
_NO_ADDRESS = "A 'To' and a 'From' (or MessagingServiceSid) must be specified."
_TOO_LONG = "The concatenated message body exceeds the 1600 character limit"
_CONTENT_SID_REQUIRED = "A ContentSid must be specified if ContentVariables are provided in the request."
_CONTENT_SID_INVALID = "The ContentSid is Invalid"
_CONTENT_VARIABLES_INVALID = "The ContentVariables Parameter is invalid"
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
_BAD_CALLBACK = "The StatusCallback URL {} is not a valid URL."
MAX_CALLBACK_URL = 4000
# What the create call answers for a number it refuses outright (Twilio's messages for these codes).
_REFUSALS = {
    21211: "Invalid 'To' Phone Number: {}",
    21614: "'To' number {} is not a valid mobile number",
    63003: "Channel could not find To address",
}
NOT_ON_WHATSAPP_CODE = "63003"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


# --------------------------------------------------------------------------- shared server plumbing


@dataclass
class Reply:
    """What a fake answers; kept separate from the socket handler so routing code stays plain."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # why a fake refused, for its records only (never sent)
    stream: Stream | None = None  # a large body sent piece by piece instead of ``body``

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


@dataclass(frozen=True)
class Stream:
    """A body sent piece by piece and never held whole (a large file, made as it goes out)."""

    pieces: Callable[[], Iterator[bytes]]
    total: int  # the bytes ``pieces`` yields in all
    length: int | None  # the Content-Length announced; None: chunked transfer coding (HTTP/1.1)
    interval: float = 0.0  # a pause before each piece: a slow drip, or a pace that shows where a client stopped


PIECE = 64 * 1024
MIB = 1024 * 1024
SHORT_LENGTH = 1024  # what a "short" file announces, whatever follows
DRIP_PIECE, DRIP_INTERVAL = 1024, 0.2
GZIP_INTERVAL = 0.005  # per compressed piece (a MiB inflated): a client that stops is seen to stop
SIGNATURES = {"image/jpeg": b"\xff\xd8\xff\xe0", "image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-1.4\n",
              "audio/ogg": b"OggS", "image/webp": b"RIFF\x00\x00\x00\x00WEBP"}
SERVED_AS = ("length", "chunked", "short", "gzip", "drip")
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no time, unknown OS


@functools.cache
def _deflated_mib() -> bytes:
    """A MiB of zeros as raw deflate ending in a full flush: the same bytes every time, so a stream of them
    (then a final empty block) inflates to as many MiB as it has copies."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)


@dataclass(frozen=True)
class LargeFile:
    """``size`` bytes of a file of this type (its signature, then zeros), made as they are sent.

    ``served_as`` says how the body goes out: "length" with an honest Content-Length; "chunked" with
    none (chunked transfer coding); "short" with a Content-Length of 1 KiB that lies low, then all of it;
    "gzip" gzip-encoded (zeros only, ``size`` in whole MiB): the Content-Length is the
    compressed size, about a thousandth of what the client inflates, sent a MiB's worth every 5 ms;
    "drip" with an honest length, 1 KiB every 0.2 s (never in time).
    """

    size: int
    content_type: str
    served_as: str = "length"

    def __post_init__(self) -> None:
        if self.served_as not in SERVED_AS:
            raise ValueError(f"served_as must be one of {SERVED_AS}, not {self.served_as!r}")
        if self.size < 1:
            raise ValueError("a large file has at least one byte")
        if self.served_as == "gzip" and self.size % MIB:
            raise ValueError("a gzip-served file is whole MiB of zeros")

    @property
    def content(self) -> Iterator[bytes]:
        """The file itself, piece by piece (what a client that read it all would hold)."""
        if self.served_as == "gzip":
            for _ in range(self._mibs):
                yield bytes(MIB)
            return
        head = SIGNATURES.get(self.content_type, b"")[: self.size]
        step = DRIP_PIECE if self.served_as == "drip" else PIECE
        zeros = bytes(step)
        yield head + zeros[: min(step, self.size) - len(head)]
        for start in range(step, self.size, step):
            yield zeros[: min(step, self.size - start)]

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.content:
            digest.update(piece)
        return digest.hexdigest()

    @property
    def _mibs(self) -> int:
        return self.size // MIB

    def reply(self) -> Reply:
        headers: dict[str, str] = {}
        if self.served_as == "gzip":
            headers["Content-Encoding"] = "gzip"
            total = len(_GZIP_HEADER) + self._mibs * len(_deflated_mib()) + 2 + 8
            stream = Stream(self._gzip, total, total, GZIP_INTERVAL)
        elif self.served_as == "chunked":
            stream = Stream(lambda: self.content, self.size, None)
        elif self.served_as == "short":
            stream = Stream(lambda: self.content, self.size, SHORT_LENGTH)
        elif self.served_as == "drip":
            stream = Stream(lambda: self.content, self.size, self.size, DRIP_INTERVAL)
        else:
            stream = Stream(lambda: self.content, self.size, self.size)
        return Reply(200, b"", self.content_type, headers, stream=stream)

    def _gzip(self) -> Iterator[bytes]:
        block, crc = _deflated_mib(), 0
        for index in range(self._mibs):
            crc = zlib.crc32(bytes(MIB), crc)
            yield _GZIP_HEADER + block if index == 0 else block
        size = (self._mibs * MIB) & 0xFFFFFFFF
        yield b"\x03\x00" + crc.to_bytes(4, "little") + size.to_bytes(4, "little")  # final empty block, trailer


class _Server(ThreadingHTTPServer):
    """Carries a reference to the fake so the handler can dispatch to it."""

    daemon_threads = True
    # The standard library's backlog of 5 made the sixth concurrent client wait for a retry of its SYN (about
    # a second): a broadcast's parallel sends, a benchmark's 50 conversations. Real APIs accept far more.
    request_queue_size = 128

    def __init__(self, fake: HTTPFake) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the fake, writes the reply; HTTP/1.0 so stop() leaves no sockets."""

    server: _Server

    def _serve(self) -> None:
        try:
            if self.headers.get("Expect", "").lower() == "100-continue":
                # What real servers answer (botocore waits a second for it before sending a PUT body).
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self._read_body()
            reply = self.server.fake._handle(self.command, self.path, self.headers, body)
        except Exception:  # a bug in the fake must surface in the test, not as a hung client
            reply = Reply.json(500, {"fake_error": traceback.format_exc()})
        if reply.stream is not None:
            self._send_stream(reply, reply.stream)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _send_stream(self, reply: Reply, stream: Stream) -> None:
        """Headers, then the pieces until all are sent or the client goes away; the fake records how far it got."""
        chunked = stream.length is None
        if chunked:
            self.protocol_version = "HTTP/1.1"  # chunked transfer coding is HTTP/1.1's
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(stream.length))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        fake = self.server.fake
        record: dict[str, Any] = {"path": urlsplit(self.path).path, "announced": stream.length,
                                  "total": stream.total, "sent": 0, "complete": False}
        started = time.monotonic()
        try:
            if self.command != "HEAD":
                for piece in stream.pieces():
                    if stream.interval and fake._stopping.wait(stream.interval):
                        break
                    if chunked:
                        self.wfile.write(b"%x\r\n" % len(piece))
                    self.wfile.write(piece)
                    if chunked:
                        self.wfile.write(b"\r\n")
                    record["sent"] += len(piece)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            record["complete"] = record["sent"] == stream.total
        except OSError:  # the client went away (reset, broken pipe): `sent` says how far it let us get
            pass
        record["seconds"] = round(time.monotonic() - started, 3)
        fake._record_download(record)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; failures are visible through ``requests`` instead."""


class HTTPFake:
    """Lifecycle, thread-safe recording and failure injection shared by the Twilio and Meta fakes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._messages: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}  # messages per recipient, for cheap waiting
        self._requests: list[dict[str, Any]] = []
        self._failures: deque[tuple[int, int | None]] = deque()
        self._downloads: list[dict[str, Any]] = []  # large files sent, as far as they went
        self._stopping = threading.Event()  # ends drips and paced files when the fake stops
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind an OS-chosen port on loopback and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{type(self).__name__}-{self._server.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._stopping.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # recording ---------------------------------------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        """A snapshot (copy) of accepted messages, oldest first."""
        with self._cond:
            return list(self._messages)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot (copy) of every request to the send endpoint, whatever its outcome."""
        with self._cond:
            return list(self._requests)

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Make the next ``count`` sends fail with ``status`` (queued after any earlier injections)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._cond:
            self._failures.extend([(status, retry_after)] * count)

    def clear(self) -> None:
        """Forget messages, requests, downloads and pending injected failures (stored media is kept)."""
        with self._cond:
            self._downloads.clear()
            self._messages.clear()
            self._requests.clear()
            self._failures.clear()
            self._counts.clear()

    def wait_for_messages(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """Block until ``count`` messages were accepted; on timeout fail with what did arrive."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise AssertionError(
                    f"{type(self).__name__}: expected at least {count} message(s) within {timeout}s, "
                    f"got {len(self._messages)}: {self._messages!r}; all requests: {self._requests!r}"
                )
            return list(self._messages)

    def count_to(self, recipient: str) -> int:
        """How many accepted messages went to `recipient` (a To value)."""
        with self._cond:
            return self._counts.get(recipient, 0)

    def wait_for_count(self, recipient: str, count: int, timeout: float = 15) -> bool:
        """Block (without polling) until `recipient` has at least `count` messages; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._counts.get(recipient, 0) >= count, timeout=timeout)

    @property
    def downloads(self) -> list[dict[str, Any]]:
        """A snapshot of the large files sent so far, each once its sending ended (see ``wait_for_downloads``)."""
        with self._cond:
            return list(self._downloads)

    def wait_for_downloads(self, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """Block until the sending of ``count`` large files ended, all sent or the client gone. Each record:
        path, announced (the Content-Length; None when chunked), total (the bytes the body takes on the wire),
        sent (handed to the socket before it failed: the client read at most that much), complete, seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._downloads) >= count, timeout=timeout):
                raise AssertionError(f"{type(self).__name__}: {count} download(s) did not end within {timeout}s; "
                                     f"ended: {self._downloads!r}")
            return list(self._downloads)

    def _record_download(self, record: dict[str, Any]) -> None:
        with self._cond:
            self._downloads.append(record)
            self._cond.notify_all()

    def _take_failure(self) -> tuple[int, int | None] | None:
        with self._cond:
            return self._failures.popleft() if self._failures else None

    def _record(self, request: dict[str, Any], message: dict[str, Any] | None = None) -> None:
        with self._cond:
            self._requests.append(request)
            if message is not None:
                self._messages.append(message)
                recipient = str(message.get("To") or message.get("to") or "")
                self._counts[recipient] = self._counts.get(recipient, 0) + 1
            self._cond.notify_all()

    def _handle(self, method: str, target: str, headers: Message, body: bytes) -> Reply:
        """Route one request; ``target`` is the raw request target (path and query, still encoded).

        Most fakes only need the path (``_dispatch``); one that signs over the query string (S3)
        overrides this instead.
        """
        return self._dispatch(method, urlsplit(target).path, headers, body)

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        raise NotImplementedError


# --------------------------------------------------------------------------- Twilio specifics


def twilio_signature(url: str, params: Mapping[str, str] | Iterable[tuple[str, str]], auth_token: str) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + name+value for each POST param sorted by name)).

    Repeated names contribute every distinct value in sorted order, which is what Twilio's own
    ``RequestValidator`` does; for ordinary webhooks (no repeated names) this is the documented algorithm.
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    by_name: dict[str, set[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _bare(address: str) -> str:
    return address.removeprefix("whatsapp:").strip()


def _valid_callback(url: str) -> bool:
    """What Twilio takes as a StatusCallback (else 21609): a fully qualified http(s) URL of at most 4,000
    characters whose host name has no underscore."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme in ("http", "https") and bool(host) and "_" not in host and " " not in url
            and len(url) <= MAX_CALLBACK_URL)


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _whatsapp(address: str) -> str:
    return address if address.startswith("whatsapp:") else f"whatsapp:{address}"


def _message_type(media: Iterable[tuple[str, str]], button_payload: str | None) -> str:
    if button_payload is not None:
        return "button"
    for _, content_type in media:
        major = content_type.split("/", 1)[0]
        return major if major in ("image", "audio", "video") else "document"
    return "text"


def twilio_form(
    *,
    to: str,
    from_: str,
    body: str = "",
    sid: str | None = None,
    profile_name: str | None = None,
    media: Iterable[tuple[str, str]] = (),
    account_sid: str = "ACtest",
    button_payload: str | None = None,
    button_text: str | None = None,
) -> dict[str, str]:
    """An inbound WhatsApp webhook form as Twilio posts it; ``media`` is (url, content_type) pairs."""
    media = list(media)
    sid = sid or _new_sid("SM")
    sender = _whatsapp(from_)
    form = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ProfileName": profile_name,
        "MessageType": _message_type(media, button_payload),
        "SmsSid": sid,
        "WaId": sender.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": _whatsapp(to),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": TWILIO_API_VERSION,
        "ButtonPayload": button_payload,
        "ButtonText": button_text,
    }
    for index, (url, content_type) in enumerate(media):
        form[f"MediaContentType{index}"] = content_type
        form[f"MediaUrl{index}"] = url
    return {name: value for name, value in form.items() if value is not None}


def _twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply.json(status, payload, headers)


def _content_refusal(code: int, message: str, reason: str) -> Reply:
    reply = _twilio_error(400, code, message)
    reply.reason = reason
    return reply


def _basic_credentials(headers: Message) -> tuple[str, str] | None:
    scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


_MESSAGES_PATH = re.compile(rf"^/{TWILIO_API_VERSION}/Accounts/([^/]+)/Messages\.json$")
_MEDIA_PATH = re.compile(
    rf"^/{TWILIO_API_VERSION}/Accounts/[^/]+/Messages/MM[0-9a-f]{{32}}/Media/ME[0-9a-f]{{32}}$"
)
_CDN_PATH = re.compile(r"^/media-cdn/[0-9a-f]{48}$")  # stands for the signed, short-lived URL Twilio redirects to


class FakeTwilio(HTTPFake):
    """Twilio's ``Messages.json`` create endpoint and authenticated media downloads.

    A media URL answers with the file, or (``redirect=True``, as Twilio does) with a 307 to a signed
    URL of its CDN that needs no credentials; an unknown signed URL is refused (403).

    Content API sends are judged as Twilio does (``_check_content``). One deliberate difference: for a
    registered template, ContentVariables must name exactly its variables. Twilio fills a missing one
    with the template's sample value, so the customer reads the sample; the fake refuses with 21656
    so that the test fails instead.
    """

    def __init__(
        self,
        account_sid: str = "ACtest",
        auth_token: str = "twilio-test-token",
        content_templates: Mapping[str, Iterable[str] | Mapping[str, str] | str] | None = None,
        refuse_unknown_content: bool = False,
        not_on_whatsapp: Iterable[str] = (),
    ) -> None:
        """``content_templates`` maps a ContentSid to its variables (keys, a {key: sample} mapping, or
        the template text with ``{{1}}``-style placeholders). Twilio knows every template on the
        account; the fake only knows those it is given, so an unregistered (well-formed) ContentSid is
        accepted with only the shape of ContentVariables checked, unless ``refuse_unknown_content``.
        ``not_on_whatsapp``: numbers (E.164) whose messages are accepted, then fail with 63003."""
        super().__init__()
        self.callbacks = CallbackSender()  # status callbacks: route, hold / release, records, wait_for
        self._not_on_whatsapp = {_bare(number) for number in not_on_whatsapp}
        self._refused: dict[str, int] = {}  # number -> the code its create call is refused with
        self._sent: dict[str, dict[str, Any]] = {}  # sid -> the message, for its callbacks
        self._channel_install_sid = _new_sid("XE")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.refuse_unknown_content = refuse_unknown_content
        self._media: dict[str, tuple[bytes, str] | LargeFile] = {}  # by the path that serves it
        self._redirects: dict[str, str] = {}  # media path -> the CDN path it redirects to
        self._content: dict[str, frozenset[str]] = {}
        for sid, variables in (content_templates or {}).items():
            self.add_content_template(sid, variables)

    def stop(self) -> None:
        self.callbacks.close()
        super().stop()

    def add_not_on_whatsapp(self, *numbers: str) -> None:
        """Numbers that are not on WhatsApp: their messages are accepted (201), then one status callback
        says "failed" with ErrorCode 63003, as Twilio reports a To address WhatsApp does not know."""
        with self._cond:
            self._not_on_whatsapp.update(_bare(number) for number in numbers)

    def refuse_numbers(self, code: int, *numbers: str) -> None:
        """Make the create call refuse messages to these numbers: 400 with ``code`` (21211, 21614, 63003)."""
        if code not in _REFUSALS:
            raise ValueError(f"code must be one of {sorted(_REFUSALS)}")
        with self._cond:
            self._refused.update({_bare(number): code for number in numbers})

    def status_form(self, sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
        """The form of a status callback for message ``sid``, as Twilio posts it for WhatsApp."""
        with self._cond:
            message = self._sent[sid]
        form = {
            "ChannelPrefix": "whatsapp",
            "ApiVersion": TWILIO_API_VERSION,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "ChannelInstallSid": self._channel_install_sid,
            "To": message["To"],
            "From": message["From"],
            "MessageSid": sid,
            "StructuredMessage": "false",
            "AccountSid": self.account_sid,
            "ChannelToAddress": _bare(message["To"]),
        }
        if error_code:
            form["ErrorCode"] = error_code
        return form

    def status_post(self, url: str, sid: str, status: str, error_code: str | None = None,
                    auth_token: str | None = None) -> Post:
        """A status callback to ``url``, signed over it with the auth token (or the one given, to forge)."""
        form = self.status_form(sid, status, error_code)
        body = urlencode(form).encode()
        signature = twilio_signature(url, form, auth_token or self.auth_token)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
                   "User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        return Post(url, body, headers, {"sid": sid, "message_status": status, "error_code": error_code})

    def post_status(self, url: str, sid: str, status: str, error_code: str | None = None,
                    auth_token: str | None = None) -> tuple[int, str]:
        """Post one status callback now (out of order, repeated or forged, as a test needs); Grace's answer."""
        return self.callbacks.post_now(self.status_post(url, sid, status, error_code, auth_token))

    def _schedule_callbacks(self, sid: str, url: str) -> None:
        with self._cond:
            unreachable = _bare(self._sent[sid]["To"]) in self._not_on_whatsapp
        delivered: list[tuple[str, str | None]] = [("sent", None), ("delivered", None), ("read", None)]
        steps = [("failed", NOT_ON_WHATSAPP_CODE)] if unreachable else delivered
        self.callbacks.send_in_order([self.status_post(url, sid, status, code) for status, code in steps])

    def add_content_template(self, sid: str, variables: Iterable[str] | Mapping[str, str] | str = ()) -> None:
        """Register a Content API template: its sid and its variables (see ``__init__``)."""
        if not _CONTENT_SID.match(sid):
            raise ValueError(f"{sid!r} is not a ContentSid (HX + 32 hex digits)")
        if isinstance(variables, str):
            keys = frozenset(_PLACEHOLDER.findall(variables))
        else:
            keys = frozenset(str(key) for key in variables)  # a mapping iterates over its keys
        with self._cond:
            self._content[sid] = keys

    def add_media(self, content: bytes, content_type: str, redirect: bool = False) -> str:
        """Store bytes and return the full URL Twilio would put in an inbound ``MediaUrl0``."""
        return self._add(f"/media-cdn/{secrets.token_hex(24)}" if redirect else None, (bytes(content), content_type))

    def add_large_media(self, size: int, content_type: str, served_as: str = "length", redirect: bool = False) -> str:
        """A media URL whose file is ``size`` bytes, made as it is sent and framed as ``served_as`` says
        (``LargeFile``); how far each download went is in ``wait_for_downloads``."""
        large = LargeFile(size, content_type, served_as)
        return self._add(f"/media-cdn/{secrets.token_hex(24)}" if redirect else None, large)

    def _add(self, cdn_path: str | None, media: tuple[bytes, str] | LargeFile) -> str:
        message_sid, media_sid = _new_sid("MM"), _new_sid("ME")
        path = f"/{TWILIO_API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        with self._cond:
            if cdn_path is not None:
                self._redirects[path] = cdn_path
            self._media[cdn_path or path] = media
        return self.base_url + path

    def _authorised(self, headers: Message) -> bool:
        credentials = _basic_credentials(headers)
        return credentials is not None and all(
            hmac.compare_digest(given.encode(), expected.encode())
            for given, expected in zip(credentials, (self.account_sid, self.auth_token), strict=True)
        )

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        if match := _MESSAGES_PATH.match(path):
            if method != "POST":
                return _twilio_error(405, 20004, "Method not allowed")
            return self._create_message(match.group(1), headers, body)
        if _MEDIA_PATH.match(path) and method in ("GET", "HEAD"):
            if not self._authorised(headers):
                return self._unauthorised()
            with self._cond:
                stored, cdn_path = self._media.get(path), self._redirects.get(path)
            if cdn_path is not None:
                return Reply(307, b"", "text/plain", {"Location": self.base_url + cdn_path})
            if stored is None:
                return _twilio_error(404, 20404, f"The requested resource {path} was not found")
            return self._file(stored)
        if _CDN_PATH.match(path) and method in ("GET", "HEAD"):
            with self._cond:
                stored = self._media.get(path)
            if stored is None:  # as S3 answers a URL whose signature it does not know
                return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
                             "application/xml")
            return self._file(stored)
        return _twilio_error(404, 20404, f"The requested resource {path} was not found")

    @staticmethod
    def _file(stored: tuple[bytes, str] | LargeFile) -> Reply:
        return stored.reply() if isinstance(stored, LargeFile) else Reply(200, stored[0], stored[1])

    @staticmethod
    def _unauthorised() -> Reply:
        return _twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})

    def _check_content(self, form: dict[str, str]) -> Reply | None:
        """A Content API send as Twilio judges it: 21654 (variables without a template), 21655 (a
        ContentSid that is malformed, or unknown to this account), 21656 (ContentVariables that are
        not a JSON object of non-empty values, or whose keys are not the template's variables)."""
        sid, raw = form.get("ContentSid"), form.get("ContentVariables")
        if not sid:
            if raw is not None:
                return _twilio_error(400, 21654, _CONTENT_SID_REQUIRED)
            return None
        with self._cond:
            expected = self._content.get(sid)
        if not _CONTENT_SID.match(sid):
            return _content_refusal(21655, _CONTENT_SID_INVALID, f"{sid!r} is not HX + 32 hex digits")
        if expected is None and self.refuse_unknown_content:
            return _content_refusal(21655, _CONTENT_SID_INVALID, f"no template {sid} on this account")
        if raw is None:
            if expected:  # Twilio would fill in the samples; a customer would read them
                return _content_refusal(
                    21656, _CONTENT_VARIABLES_INVALID, f"no ContentVariables; {sid} needs {sorted(expected)}"
                )
            return None
        try:
            variables = json.loads(raw)
        except ValueError:
            return _content_refusal(21656, _CONTENT_VARIABLES_INVALID, f"not JSON: {raw[:80]!r}")
        if not isinstance(variables, dict):
            return _content_refusal(21656, _CONTENT_VARIABLES_INVALID, "not a JSON object")
        for key, value in variables.items():
            if value is None or value == "" or isinstance(value, (dict, list)):
                return _content_refusal(21656, _CONTENT_VARIABLES_INVALID, f"variable {key!r} is {value!r}")
        if expected is not None and set(variables) != expected:
            missing, extra = sorted(expected - set(variables)), sorted(set(variables) - expected)
            return _content_refusal(
                21656, _CONTENT_VARIABLES_INVALID, f"keys differ from {sid}'s: missing {missing}, unknown {extra}"
            )
        return None

    def _create_message(self, account_sid: str, headers: Message, body: bytes) -> Reply:
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        grouped: dict[str, list[str]] = {}
        for name, value in pairs:
            grouped.setdefault(name, []).append(value)
        # Single-valued fields read naturally (form["Body"]); repeated ones (MediaUrl) keep every value.
        form = {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}
        reply, message = self._judge(account_sid, headers, pairs)
        record = {"status": reply.status, "form": form, "response": json.loads(reply.body)}
        if reply.reason:
            record["reason"] = reply.reason  # the fake's own explanation; Twilio's answer does not carry it
        if message is not None:
            with self._cond:
                self._sent[message["sid"]] = message
        self._record(record, message)
        callback = dict(pairs).get("StatusCallback")
        if message is not None and callback:  # the callbacks leave once this answer has (CallbackSender.interval)
            self._schedule_callbacks(message["sid"], callback)
        return reply

    def _judge(
        self, account_sid: str, headers: Message, pairs: list[tuple[str, str]]
    ) -> tuple[Reply, dict[str, Any] | None]:
        """Decide the outcome in Twilio's order: outage, auth, account, validation, success."""
        if failure := self._take_failure():
            status, retry_after = failure
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return _twilio_error(status, 20000 + status, HTTPStatus(status).phrase, extra), None
        if not self._authorised(headers):
            return self._unauthorised(), None
        if account_sid != self.account_sid:
            path = f"/{TWILIO_API_VERSION}/Accounts/{account_sid}/Messages.json"
            return _twilio_error(404, 20404, f"The requested resource {path} was not found"), None
        single = dict(pairs)
        media_urls = [value for name, value in pairs if name == "MediaUrl"]
        to, sender = single.get("To"), single.get("From") or single.get("MessagingServiceSid")
        text = single.get("Body", "")
        if not to or not sender:
            return _twilio_error(400, 21619, _NO_ADDRESS), None
        if not text and not media_urls and not single.get("ContentSid"):
            return _twilio_error(400, 21619, "A text message body or media urls must be specified."), None
        if len(text) > MAX_BODY_CHARS:
            return _twilio_error(400, 21617, _TOO_LONG), None
        if refusal := self._check_content(single):
            return refusal, None
        callback = single.get("StatusCallback")
        if callback is not None and not _valid_callback(callback):
            return _twilio_error(400, 21609, _BAD_CALLBACK.format(callback)), None
        with self._cond:
            refused = self._refused.get(_bare(to))
        if refused is not None:
            return _twilio_error(400, refused, _REFUSALS[refused].format(_bare(to))), None
        sid = _new_sid("SM")
        now = formatdate(usegmt=True)
        uri = f"/{TWILIO_API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        payload = {
            "account_sid": self.account_sid,
            "api_version": TWILIO_API_VERSION,
            "body": text,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": single.get("From"),
            "messaging_service_sid": single.get("MessagingServiceSid"),
            "num_media": str(len(media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        message = {
            "sid": sid,
            "From": single.get("From"),
            "To": to,
            "Body": text,
            "MediaUrl": media_urls,
            "ContentSid": single.get("ContentSid"),
            "ContentVariables": single.get("ContentVariables"),
        }
        return Reply.json(201, payload), message
