"""What a provider's fake does when it calls Grace's webhook: POST the signed bytes, read the answer."""
from __future__ import annotations

import urllib.error
import urllib.request


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST `body` as given (the signature is over these bytes); Grace's (status, body text), errors included."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
