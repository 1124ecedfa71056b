"""A customer's media is downloaded from Twilio or Meta streamed and capped: a file over the 16 MB limit is
refused as soon as that is known (its Content-Length, or the pieces read so far), the rest never read,
and a slow drip is cut off by the timeout. Against the local Twilio and Graph APIs, which serve files too
large to hold as they go and record how much they sent before the client went away."""
from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import requests

from connectors.whatsapp import keep_media
from grace.messaging.media import MAX_BYTES, MediaRejected
from grace.tenancy.registry import get_registry
from grace.whatsapp import media_download
from grace.whatsapp.http import ProviderError
from grace.whatsapp.meta_client import MetaClient, MetaProvider
from grace.whatsapp.provider import MediaRef
from grace.whatsapp.twilio_client import TwilioClient, TwilioProvider
from tests.fakes.meta_api import FakeMetaGraph
from tests.fakes.twilio_api import MIB, SHORT_LENGTH, FakeTwilio, HTTPFake, LargeFile

HUGE = 256 * MIB  # made as it is sent: a client that stops early never costs the fake more than it took
JPEG = b"\xff\xd8\xff\xe0" + bytes(2000)


@dataclass
class Source:
    """One provider's media download, as Grace's client for it does it."""

    name: str
    fake: Any  # FakeTwilio | FakeMetaGraph
    redirect: bool = False

    def add(self, content: bytes, content_type: str) -> str:
        if isinstance(self.fake, FakeTwilio):
            return self.fake.add_media(content, content_type, redirect=self.redirect)
        return self.fake.add_media(content, content_type)

    def add_large(self, size: int, content_type: str, served_as: str) -> str:
        if isinstance(self.fake, FakeTwilio):
            return self.fake.add_large_media(size, content_type, served_as, redirect=self.redirect)
        return self.fake.add_large_media(size, content_type, served_as)

    def provider(self) -> TwilioProvider | MetaProvider:
        if isinstance(self.fake, FakeTwilio):
            return TwilioProvider(TwilioClient(self.fake.account_sid, self.fake.auth_token, self.fake.base_url))
        return MetaProvider(MetaClient(self.fake.access_token, self.fake.base_url))

    def fetch(self, ref: str) -> tuple[bytes, str]:
        provider = self.provider()

        async def fetch() -> tuple[bytes, str]:
            try:
                return await provider.fetch_media(MediaRef(ref, "image/jpeg"))
            finally:
                await provider.client.close()

        return asyncio.run(fetch())


@pytest.fixture(params=["twilio", "twilio-redirected", "meta"])
def source(request, monkeypatch) -> Iterator[Source]:
    monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
    fake: HTTPFake = FakeMetaGraph() if request.param == "meta" else FakeTwilio()
    with fake:
        yield Source(request.param, fake, redirect=request.param == "twilio-redirected")


def refused_too_large(source: Source, ref: str) -> None:
    with pytest.raises(MediaRejected) as refused:
        source.fetch(ref)
    assert refused.value.reason == "media_too_large"


def test_a_file_up_to_the_limit_still_downloads_whole(source):
    assert source.fetch(source.add(JPEG, "image/jpeg")) == (JPEG, "image/jpeg")
    for served_as in ("length", "chunked"):
        data, content_type = source.fetch(source.add_large(MAX_BYTES, "image/jpeg", served_as))
        assert (len(data), data[:4], content_type) == (MAX_BYTES, JPEG[:4], "image/jpeg")
    assert [d["complete"] for d in source.fake.wait_for_downloads(2)] == [True, True]


def test_a_content_length_over_the_limit_is_refused_before_the_body(source):
    refused_too_large(source, source.add_large(HUGE, "image/jpeg", "length"))
    [download] = source.fake.wait_for_downloads(1)
    assert download["announced"] == HUGE and not download["complete"]
    assert download["sent"] < MAX_BYTES  # what the socket buffers took: Grace read none of it
    refused_too_large(source, source.add_large(MAX_BYTES + 1, "image/jpeg", "length"))


def test_a_body_without_a_length_is_dropped_once_past_the_limit(source):
    refused_too_large(source, source.add_large(HUGE, "image/jpeg", "chunked"))
    [download] = source.fake.wait_for_downloads(1)  # one download: a refusal is not tried again
    assert download["announced"] is None and not download["complete"]
    assert download["sent"] < HUGE // 4  # the limit, and what the socket buffers took
    refused_too_large(source, source.add_large(MAX_BYTES + 1, "image/jpeg", "chunked"))


def test_a_gzip_body_is_refused_by_what_it_inflates_to(source):
    """Its Content-Length is honest about the wire and lies low about the file: a thousandth of it."""
    refused_too_large(source, source.add_large(HUGE, "image/jpeg", "gzip"))
    [download] = source.fake.wait_for_downloads(1)
    assert download["announced"] < MAX_BYTES // 50
    assert not download["complete"] and download["sent"] < download["total"] // 2


def test_a_content_length_that_lies_low_never_lets_more_in(source):
    """The client reads no further than the length announced, whatever follows; aiohttp refuses the excess as
    a malformed answer, unless the declared bytes were complete before it came (then they are all there is)."""
    ref = source.add_large(HUGE, "image/jpeg", "short")
    try:
        data, _ = source.fetch(ref)
    except ProviderError:
        pass
    else:
        assert len(data) <= SHORT_LENGTH
    [download] = source.fake.wait_for_downloads(1)  # a malformed answer is not asked for again
    assert download["announced"] == SHORT_LENGTH and not download["complete"]
    assert download["sent"] < MAX_BYTES


def test_a_slow_drip_is_cut_off_by_the_timeout(source, monkeypatch):
    monkeypatch.setattr(media_download, "TIMEOUT", aiohttp.ClientTimeout(total=1, connect=1, sock_read=1))
    ref = source.add_large(MIB, "image/jpeg", "drip")  # 1 KiB every 0.2 s: over 3 minutes in all
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timeout"):
        source.fetch(ref)
    assert time.monotonic() - started < 5  # once, not again and again
    [download] = source.fake.wait_for_downloads(1)
    assert not download["complete"] and download["sent"] < 20 * 1024


def test_the_customer_is_told_the_file_is_too_large_and_nothing_is_kept(source, grace_env):
    tenant = get_registry().get("akanraby")
    provider = source.provider()

    async def keep() -> tuple[dict | None, str]:
        try:
            return await keep_media(provider, tenant, MediaRef(source.add_large(HUGE, "image/jpeg", "chunked"),
                                                               "image/jpeg"))
        finally:
            await provider.client.close()

    assert asyncio.run(keep()) == (None, "media_too_large")
    media = grace_env / "var" / "media"
    assert not media.exists() or not any(media.rglob("*"))


def test_large_media_need_the_same_credentials_as_any(source):
    """The fakes refuse a large file without credentials as Twilio and Meta do, and a redirect's signed URL
    that Twilio did not give out."""
    ref = source.add_large(HUGE, "image/jpeg", "length")
    url = ref if isinstance(source.fake, FakeTwilio) else f"{source.fake.base_url}/media-download/{ref}"
    assert requests.get(url, timeout=5, allow_redirects=False, stream=True).status_code == 401
    if source.redirect:
        authorised = requests.get(url, timeout=5, allow_redirects=False,
                                  auth=(source.fake.account_sid, source.fake.auth_token))
        assert authorised.status_code == 307 and "/media-cdn/" in authorised.headers["Location"]
        forged = authorised.headers["Location"][:-4] + "0000"
        assert requests.get(forged, timeout=5).status_code == 403
    assert source.fake.downloads == []


def test_the_fakes_large_files_are_what_they_say():
    gzip = LargeFile(3 * MIB, "image/jpeg", "gzip")
    wire = b"".join(gzip.reply().stream.pieces())
    assert len(wire) == gzip.reply().stream.total and zlib.decompress(wire, wbits=31) == bytes(3 * MIB)
    for served_as in ("length", "chunked", "short", "drip"):
        large = LargeFile(100_000, "image/png", served_as)
        content = b"".join(large.content)
        assert len(content) == large.reply().stream.total == 100_000 and content.startswith(b"\x89PNG")
    assert LargeFile(100_000, "image/png", "short").reply().stream.length == SHORT_LENGTH
    with pytest.raises(ValueError):
        LargeFile(MIB + 1, "image/jpeg", "gzip")
