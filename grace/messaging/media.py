"""Media customers send (dress pictures, payment proofs, voice notes), kept by Grace.

Providers' media URLs expire (Meta: 14 days; Twilio's need the account's
credentials), yet ops must see a proof weeks later: every accepted file is
copied to var/media/<tenant>/, or to an S3 bucket when GRACE_MEDIA_S3_BUCKET
is set (several servers then share it), and referred to by Grace's own URL.
Only types WhatsApp carries are accepted, at most 16 MB, and the bytes must
look like what the sender claims.
"""
from __future__ import annotations

import functools
import hashlib
import mimetypes
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from grace.config import load_settings
from grace.errors import GraceError
from grace.store.models import utcnow

MAX_BYTES = 16 * 1024 * 1024
EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf",
    "audio/ogg": ".ogg", "audio/amr": ".amr", "audio/aac": ".aac", "audio/mpeg": ".mp3", "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
}
# What the first bytes of a file must be for the type it claims (where a signature exists).
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "application/pdf": (b"%PDF",),
}


class MediaRejected(GraceError):
    """A file Grace will not keep; `reason` is a messages.yml key the customer is answered with."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class StoredMedia:
    url: str
    content_type: str
    size: int
    path: Path | None  # on this machine; None when kept in S3

    def as_inbound(self, source_url: str | None = None) -> dict:
        entry = {"url": self.url, "content_type": self.content_type, "size": self.size}
        if source_url:
            entry["source_url"] = source_url
        return entry


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_media(data: bytes, content_type: str) -> str:
    """The accepted content type, or MediaRejected with the reason."""
    kind = base_type(content_type)
    if kind not in EXTENSIONS:
        raise MediaRejected("media_unsupported", f"unsupported media type {kind or 'unknown'!r}")
    if len(data) > MAX_BYTES:
        raise MediaRejected("media_too_large", f"{len(data)} bytes is over the {MAX_BYTES} byte limit")
    if not data:
        raise MediaRejected("media_unreadable", "empty file")
    if kind in MAGIC and not data.startswith(MAGIC[kind]):
        raise MediaRejected("media_unreadable", f"the bytes are not a {kind}")
    if kind == "image/webp" and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise MediaRejected("media_unreadable", "the bytes are not a image/webp")
    return kind


# What the team sends a customer from the inbox: WhatsApp fetches it by URL, so it is served to anyone who has
# that URL (its name holds 96 bits of the file's hash), like a catalog picture.
TEAM_PICTURE = "team-"


def media_root() -> Path:
    return Path(os.environ.get("GRACE_MEDIA_DIR") or load_settings().var_dir / "media")


def save_media(tenant_id: str, data: bytes, content_type: str, prefix: str = "") -> StoredMedia:
    """Check and keep one file for the tenant (blocking: call off the event loop). `prefix` names what
    the file is for (`fabric-<sku>-`: a catalog picture, public; TEAM_PICTURE: a picture the team sends a
    customer, public too, so WhatsApp can fetch it; none: a customer's upload, private);
    the hash keeps a changed picture from reusing a cached URL."""
    kind = check_media(data, content_type)
    digest = hashlib.sha256(data).hexdigest()[:24]
    name = f"{prefix}{utcnow():%Y%m%d}-{digest}{EXTENSIONS[kind]}"
    bucket = os.environ.get("GRACE_MEDIA_S3_BUCKET")
    if bucket:
        key = f"{os.environ.get('GRACE_MEDIA_S3_PREFIX', 'media/')}{tenant_id}/{name}"
        _s3_client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=kind)
        base = os.environ.get("GRACE_MEDIA_BASE_URL", "").rstrip("/")
        url = f"{base}/{tenant_id}/{name}" if base else f"s3://{bucket}/{key}"
        return StoredMedia(url=url, content_type=kind, size=len(data), path=None)
    folder = media_root() / tenant_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():  # same bytes, same file: a resent proof is stored once
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(path)
    return StoredMedia(url=media_url(tenant_id, name), content_type=kind, size=len(data), path=path)


def media_url(tenant_id: str, name: str) -> str:
    """Grace's URL for a stored file: under GRACE_MEDIA_BASE_URL when set (the web app serves
    it), else a file:// URL ops can open on this machine."""
    base = os.environ.get("GRACE_MEDIA_BASE_URL", "").rstrip("/")
    if base:
        return f"{base}/{tenant_id}/{name}"
    return (media_root() / tenant_id / name).resolve().as_uri()


class MediaNotFound(GraceError):
    """No such stored file for this tenant."""


class MediaUnavailable(GraceError):
    """The store holding the file did not answer (S3 down, credentials refused)."""


@dataclass(frozen=True)
class MediaObject:
    data: bytes
    content_type: str


def stored_name(url: str) -> str:
    """The file name in one of Grace's media URLs (https, file or s3: media are named by their digest,
    so the name finds the file whatever base URL it was given). MediaNotFound when there is none."""
    name = posixpath.basename(unquote(urlsplit(url or "").path))
    if not name or name in (".", ".."):
        raise MediaNotFound(f"no stored file in {url!r}")
    return name


def read_media(tenant_id: str, url: str) -> MediaObject:
    """The bytes of a file Grace stored for the tenant (blocking: call off the event loop). Only the
    file name is taken from the URL and looked up under the tenant's own folder or S3 prefix, so a
    URL naming another tenant's file is never read. With S3 configured, files kept on this machine
    before the switch are still found. MediaNotFound / MediaUnavailable."""
    name = stored_name(url)
    bucket = os.environ.get("GRACE_MEDIA_S3_BUCKET")
    if bucket:
        found = _read_s3(bucket, f"{os.environ.get('GRACE_MEDIA_S3_PREFIX', 'media/')}{tenant_id}/{name}")
        if found is not None:
            return found
    path = media_root() / tenant_id / name
    if not path.is_file():
        raise MediaNotFound(f"{name} is not among {tenant_id}'s media")
    return MediaObject(path.read_bytes(), mimetypes.guess_type(name)[0] or "application/octet-stream")


def _read_s3(bucket: str, key: str) -> MediaObject | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        reply = _s3_client().get_object(Bucket=bucket, Key=key)
        return MediaObject(reply["Body"].read(), reply.get("ContentType") or "application/octet-stream")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise MediaUnavailable(f"S3 refused {key}: {exc}") from exc
    except BotoCoreError as exc:
        raise MediaUnavailable(f"S3 did not answer for {key}: {exc}") from exc


def delete_media(tenant_id: str, name: str) -> bool:
    """Remove one of the tenant's stored files, from this machine and from S3 when configured (blocking).
    True when it was there somewhere; already gone is not an error, so a removal can be run again.
    MediaUnavailable when S3 did not answer: the file may still be there."""
    from botocore.exceptions import BotoCoreError, ClientError

    found = False
    path = media_root() / tenant_id / posixpath.basename(name)
    if path.is_file():
        path.unlink()
        found = True
    bucket = os.environ.get("GRACE_MEDIA_S3_BUCKET")
    if bucket:
        key = f"{os.environ.get('GRACE_MEDIA_S3_PREFIX', 'media/')}{tenant_id}/{posixpath.basename(name)}"
        try:
            _s3_client().delete_object(Bucket=bucket, Key=key)  # S3 answers 204 whether or not it existed
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"S3 did not remove {key}: {exc}") from exc
        found = True
    return found


def media_names(tenant_id: str) -> list[str]:
    """The names of the tenant's stored files, on this machine and in S3 when configured (retention looks at
    the dates in them). Blocking. MediaUnavailable when S3 did not answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    folder = media_root() / tenant_id
    names = {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    bucket = os.environ.get("GRACE_MEDIA_S3_BUCKET")
    if bucket:
        prefix = f"{os.environ.get('GRACE_MEDIA_S3_PREFIX', 'media/')}{tenant_id}/"
        try:
            for page in _s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                names |= {item["Key"][len(prefix):] for item in page.get("Contents") or []}
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"S3 did not list {prefix}: {exc}") from exc
    return sorted(name for name in names if name and "/" not in name)


@functools.lru_cache(maxsize=4)
def _s3_client_for(endpoint: str | None, region: str):
    import boto3
    from botocore.config import Config

    # Checksums only when S3 requires them: the default streams PutObject as aws-chunked, which
    # S3-compatible stores (MinIO, R2...) do not all accept.
    config = Config(s3={"addressing_style": "path" if endpoint else "auto"},
                    request_checksum_calculation="when_required", retries={"max_attempts": 4, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def _s3_client():
    """Credentials come from the standard AWS variables (AWS_ACCESS_KEY_ID, ...) or the instance role."""
    region = os.environ.get("GRACE_MEDIA_S3_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _s3_client_for(os.environ.get("GRACE_MEDIA_S3_ENDPOINT_URL") or None, region)
