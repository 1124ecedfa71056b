"""A local server that speaks enough of S3 (path-style PutObject / GetObject) for Grace's media store.

Every request must carry AWS Signature Version 4 in its Authorization header, and the fake checks it
the way S3 does: the access key must be the one it knows (else 403 InvalidAccessKeyId); the request
time must be within 15 minutes (403 RequestTimeTooSkewed); every x-amz-* header and Host must be
signed (403 AccessDenied); the signature, recomputed from the canonical request with the secret key,
must match (403 SignatureDoesNotMatch); and a body whose SHA-256 was signed must have that hash
(400 XAmzContentSHA256Mismatch; UNSIGNED-PAYLOAD is accepted). Errors are S3's XML documents.
Objects are kept in memory. Only the standard library is used, so the fake shares no code with the
botocore signer it checks.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.message import Message
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.fakes.twilio_api import HTTPFake, Reply

__all__ = ["DEFAULT_SECRET_KEY", "FakeS3", "canonical_request", "sigv4_signature"]

# What tests/helpers.py `use_bucket` puts in AWS_SECRET_ACCESS_KEY.
DEFAULT_SECRET_KEY = "not-a-real-secret"
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------- SigV4, by the book


def _uri_encode(text: str, safe: str = "") -> str:
    """AWS UriEncode: every byte except A-Z a-z 0-9 - _ . ~ as %XY (upper-case hex)."""
    return quote(text, safe="-_.~" + safe)


def _canonical_uri(raw_path: str) -> str:
    """S3 encodes each path segment once (no double encoding, no dot-segment normalisation)."""
    return _uri_encode(unquote(raw_path or "/"), safe="/")


def _canonical_query(raw_query: str) -> str:
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        pairs.append((_uri_encode(unquote(name)), _uri_encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _header_value(headers: Message, name: str) -> str:
    values = headers.get_all(name) or []
    return ",".join(" ".join(str(value).split()) for value in values)


def canonical_request(
    method: str, target: str, headers: Message, signed_headers: Iterable[str], payload_hash: str
) -> str:
    """The SigV4 canonical request for a raw request target (path?query, as sent)."""
    parts = urlsplit(target)
    names = list(signed_headers)
    return "\n".join(
        [
            method,
            _canonical_uri(parts.path),
            _canonical_query(parts.query),
            "".join(f"{name}:{_header_value(headers, name)}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])


def sigv4_signature(secret_key: str, scope: str, to_sign: str) -> str:
    """Hex signature: the signing key is derived from the secret through date, region, service."""
    date, region, service, terminal = scope.split("/")
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, terminal):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_authorization(header: str) -> dict[str, str] | None:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name] = value.strip()
    return fields if {"Credential", "SignedHeaders", "Signature"} <= fields.keys() else None


# --------------------------------------------------------------------------- the server


def _s3_error(status: int, code: str, message: str, **details: str) -> Reply:
    request_id = secrets.token_hex(8).upper()
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in details.items())
    body = (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{base64.b64encode(secrets.token_bytes(24)).decode()}</HostId>"
        "</Error>"
    )
    return Reply(status, body.encode(), "application/xml", {"x-amz-request-id": request_id})


class FakeS3(HTTPFake):
    """One bucket, path-style, behind one access key pair (both may be changed while it runs).

    ``region`` None accepts whichever region the client signs for; a name makes any other region in
    the credential scope a 400 AuthorizationHeaderMalformed, as S3 answers for a bucket elsewhere.
    """

    def __init__(
        self,
        access_key: str = "AKIAGRACETEST",
        bucket: str = "grace-media",
        secret_key: str = DEFAULT_SECRET_KEY,
        region: str | None = None,
    ) -> None:
        super().__init__()
        self.access_key, self.secret_key, self.bucket, self.region = access_key, secret_key, bucket, region
        self.objects: dict[str, tuple[bytes, str]] = {}

    def _handle(self, method: str, target: str, headers: Message, body: bytes) -> Reply:
        refusal = self._authenticate(method, target, headers, body)
        reply = refusal or self._operate(method, unquote(urlsplit(target).path), headers, body)
        self._record({"method": method, "target": target, "status": reply.status})
        return reply

    # authentication ----------------------------------------------------------------------------
    def _authenticate(self, method: str, target: str, headers: Message, body: bytes) -> Reply | None:
        header = headers.get("Authorization")
        if header is None:
            return _s3_error(403, "AccessDenied", "Access Denied")  # anonymous: the bucket is private
        fields = _parse_authorization(header)
        if fields is None:
            if not header.startswith(ALGORITHM):
                return _s3_error(400, "InvalidArgument", "Unsupported Authorization Type",
                                 ArgumentName="Authorization", ArgumentValue=header)
            return _s3_error(400, "AuthorizationHeaderMalformed",
                             "The authorization header is malformed; it must hold Credential, SignedHeaders "
                             "and Signature.")
        credential = fields["Credential"].split("/")
        if len(credential) != 5:
            return _s3_error(400, "AuthorizationHeaderMalformed",
                             "The authorization header is malformed; the Credential is mal-formed; expecting "
                             "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        access_key, date, region, service, terminal = credential
        if not hmac.compare_digest(access_key.encode(), self.access_key.encode()):
            return _s3_error(403, "InvalidAccessKeyId",
                             "The AWS Access Key Id you provided does not exist in our records.",
                             AWSAccessKeyId=access_key)
        amz_date = headers.get("x-amz-date") or ""
        try:
            when = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
        except ValueError:
            return _s3_error(403, "AccessDenied",
                             "AWS authentication requires a valid Date or x-amz-date header")
        now = datetime.now(timezone.utc)
        if abs(now - when) > MAX_SKEW:
            return _s3_error(403, "RequestTimeTooSkewed",
                             "The difference between the request time and the current time is too large.",
                             RequestTime=amz_date, ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             MaxAllowedSkewMilliseconds="900000")
        if date != amz_date[:8] or service != "s3" or terminal != "aws4_request":
            return _s3_error(400, "AuthorizationHeaderMalformed",
                             f"The authorization header is malformed; the credential scope "
                             f"{'/'.join(credential[1:])!r} does not fit {amz_date[:8]}/<region>/s3/aws4_request.")
        if self.region is not None and region != self.region:
            return _s3_error(400, "AuthorizationHeaderMalformed",
                             f"The authorization header is malformed; the region '{region}' is wrong; "
                             f"expecting '{self.region}'", Region=self.region)
        signed = fields["SignedHeaders"].split(";")
        present = {name.lower() for name in headers.keys()}
        unsigned = sorted(n for n in present if n.startswith("x-amz-") and n not in signed)
        if "host" not in signed:
            unsigned.insert(0, "host")
        if unsigned:
            return _s3_error(403, "AccessDenied", "There were headers present in the request which were not signed",
                             HeadersNotSigned=", ".join(unsigned))
        claimed = headers.get("x-amz-content-sha256")
        if claimed is None:
            return _s3_error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if claimed.startswith("STREAMING-"):
            return _s3_error(501, "NotImplemented",
                             f"The fake does not decode aws-chunked uploads ({claimed}); S3 would.")
        if claimed != UNSIGNED_PAYLOAD and not _HEX64.match(claimed):
            return _s3_error(400, "InvalidArgument",
                             "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or a valid sha256 "
                             "value.", ArgumentName="x-amz-content-sha256", ArgumentValue=claimed)
        canonical = canonical_request(method, target, headers, signed, claimed)
        scope = f"{date}/{region}/{service}/{terminal}"
        to_sign = string_to_sign(amz_date, scope, canonical)
        expected = sigv4_signature(self.secret_key, scope, to_sign)
        if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
            return _s3_error(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided. "
                             "Check your key and signing method.",
                             AWSAccessKeyId=access_key, StringToSign=to_sign,
                             SignatureProvided=fields["Signature"], CanonicalRequest=canonical)
        if claimed != UNSIGNED_PAYLOAD and claimed != hashlib.sha256(body).hexdigest():
            return _s3_error(400, "XAmzContentSHA256Mismatch",
                             "The provided 'x-amz-content-sha256' header does not match what was computed.",
                             ClientComputedContentSHA256=claimed,
                             S3ComputedContentSHA256=hashlib.sha256(body).hexdigest())
        md5 = headers.get("Content-MD5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            return _s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        return None

    # the bucket --------------------------------------------------------------------------------
    def _operate(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        bucket, _, key = path.lstrip("/").partition("/")
        if bucket != self.bucket:
            return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)
        if method == "PUT" and key:
            with self._cond:
                self.objects[key] = (body, headers.get("Content-Type", "binary/octet-stream"))
            return Reply(200, b"", "application/xml", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
        if method in ("GET", "HEAD") and key:
            with self._cond:
                stored = self.objects.get(key)
            if stored is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            data, content_type = stored
            return Reply(200, data, content_type, {"ETag": f'"{hashlib.md5(data).hexdigest()}"'})
        return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                         Method=method, ResourceType="OBJECT" if key else "BUCKET")
