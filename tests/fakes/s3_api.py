"""A local server that speaks enough of S3 (path-style PutObject / GetObject) for Grace's media store.

It checks what S3 checks first: a SigV4 Authorization header for the expected access key, and that
the signed payload hash matches the body; objects are kept in memory.
"""
from __future__ import annotations

import hashlib
from email.message import Message

from tests.fakes.twilio_api import HTTPFake, Reply


def _s3_error(status: int, code: str, message: str) -> Reply:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Reply(status, body.encode(), "application/xml")


class FakeS3(HTTPFake):
    def __init__(self, access_key: str = "AKIAGRACETEST", bucket: str = "grace-media") -> None:
        super().__init__()
        self.access_key, self.bucket = access_key, bucket
        self.objects: dict[str, tuple[bytes, str]] = {}

    def start(self) -> FakeS3:
        super().start()
        return self

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        bucket, _, key = path.split("?")[0].lstrip("/").partition("/")
        auth = headers.get("Authorization", "")
        if not auth.startswith(f"AWS4-HMAC-SHA256 Credential={self.access_key}/"):
            return _s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist")
        if bucket != self.bucket:
            return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
        if method == "PUT":
            claimed = headers.get("x-amz-content-sha256", "")
            if claimed not in ("UNSIGNED-PAYLOAD", hashlib.sha256(body).hexdigest()):
                return _s3_error(400, "XAmzContentSHA256Mismatch", "The provided payload hash did not match")
            with self._cond:
                self.objects[key] = (body, headers.get("Content-Type", "binary/octet-stream"))
            return Reply(200, b"", "application/xml", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
        if method == "GET":
            if key not in self.objects:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            data, content_type = self.objects[key]
            return Reply(200, data, content_type)
        return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed")
