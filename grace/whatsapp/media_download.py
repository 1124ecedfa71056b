"""A customer's media downloaded from a provider, streamed and capped (Meta's and Twilio's alike).

A file is refused as soon as it is known to be over the limit (messaging/media.py MAX_BYTES): when
its Content-Length says so, before any of the body is read; else (chunked, or more once inflated
than its length said) as soon as the pieces read pass it, the rest never read. Either way the
connection is closed and MediaRejected("media_too_large") says why. The timeout bounds a slow drip.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from grace.messaging.media import MAX_BYTES, MediaRejected
from grace.whatsapp.http import RETRY_STATUSES, ProviderError, _backoff_base, _retry_after

log = logging.getLogger("grace.whatsapp.media")

PIECE = 64 * 1024
# The whole download (16 MB come in seconds from a provider's CDN), and a pause in it: past them the
# download failed. Not retried: a drip would only drip again while the customer waits.
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5, sock_read=10)
DETAIL_BYTES = 300  # of a refusal's body, for the log


async def download(session: aiohttp.ClientSession, url: str, *, limit: int = MAX_BYTES, attempts: int = 4,
                   **kwargs: Any) -> tuple[bytes, str]:
    """(bytes, content type) of the file at `url` (redirects followed; `kwargs` go to the request: headers,
    auth). MediaRejected("media_too_large") past `limit`; ProviderError when refused, broken or too slow.
    Like request_with_retry, a 429, a 5xx or a lost connection is tried again."""
    delay = _backoff_base()
    for attempt in range(1, attempts + 1):
        try:
            async with session.get(url, timeout=TIMEOUT, **kwargs) as answer:
                if answer.status < 300:
                    return await read_capped(answer, limit), answer.headers.get("Content-Type", "")
                detail = await answer.content.read(DETAIL_BYTES)  # never more of a refusal than this
                failure = ProviderError(answer.status, detail.decode("utf-8", "replace"))
                if answer.status not in RETRY_STATUSES:
                    raise failure
                wait = _retry_after(answer.headers.get("Retry-After"), delay)
        except asyncio.TimeoutError as exc:  # before the connection errors: a read timeout is both
            raise ProviderError(0, f"no file within the timeout ({TIMEOUT.total} s)") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:  # lost on the way
            failure, wait = ProviderError(0, f"{type(exc).__name__}: {exc}"), delay
        except aiohttp.ClientError as exc:  # a malformed answer: asking again gets the same
            raise ProviderError(0, f"{type(exc).__name__}: {exc}") from exc
        if attempt < attempts:
            log.warning("GET %s failed (%s); retry %d in %.1fs", url.split("?")[0], failure, attempt, wait)
            await asyncio.sleep(wait)
            delay *= 2
    raise failure


async def read_capped(answer: aiohttp.ClientResponse, limit: int = MAX_BYTES) -> bytes:
    """The body of `answer`, or MediaRejected("media_too_large") once it is announced or read past `limit`
    bytes (counted as decoded: a gzip body is refused by what it inflates to)."""
    announced = answer.content_length
    if announced is not None and announced > limit:
        raise MediaRejected("media_too_large", f"{announced} bytes announced, over the {limit} byte limit")
    body = bytearray()
    async for piece in answer.content.iter_chunked(PIECE):
        body += piece
        if len(body) > limit:
            raise MediaRejected("media_too_large", f"over the {limit} byte limit after {len(body)} bytes read")
    return bytes(body)
