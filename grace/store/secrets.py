"""Secrets kept in the database (a business's provider tokens), sealed with the platform's key.

GRACE_SECRET_KEY holds one or more keys, comma-separated, newest first: the first seals, any of them
opens (the `cryptography` library's MultiFernet: AES-128-CBC with HMAC-SHA256, authenticated, timestamped).
To rotate: put a new key first, run `grace admin rotate-key` (everything is sealed again with it), then
drop the old key. A key is a Fernet key (`grace admin new-key` prints one) or a passphrase of at least 32
characters, stretched to one.

Without GRACE_SECRET_KEY, local development (the embedded profile, every server on this machine) makes one
key in var/secret_key, readable by its owner only; anywhere else sealing is refused until it is set, so a
production database never holds secrets under a key nobody chose.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from grace.config import load_settings, local_development
from grace.errors import GraceError

MIN_PASSPHRASE = 32


class SecretKeyMissing(GraceError):
    """No GRACE_SECRET_KEY outside local development: secrets cannot be sealed or opened."""


class SecretUnreadable(GraceError):
    """A sealed value none of the keys opens (a key was dropped before `grace admin rotate-key` ran)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def _fernet_key(text: str) -> bytes:
    text = text.strip()
    try:
        if len(base64.urlsafe_b64decode(text.encode())) == 32:
            return text.encode()
    except (binascii.Error, ValueError):
        pass
    if len(text) < MIN_PASSPHRASE:
        raise SecretKeyMissing(f"GRACE_SECRET_KEY: each key is a Fernet key (grace admin new-key) or a passphrase "
                               f"of at least {MIN_PASSPHRASE} characters")
    # A long passphrase, stretched once: its strength is its length (checked above), not the stretching.
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())


def configured_keys() -> list[str]:
    """The keys, newest first: GRACE_SECRET_KEY, else (local development only) var/secret_key, made once."""
    value = os.environ.get("GRACE_SECRET_KEY", "")
    keys = [part for part in (p.strip() for p in value.split(",")) if part]
    if keys:
        return keys
    if not local_development():
        raise SecretKeyMissing("GRACE_SECRET_KEY is not set: a business's own provider credentials cannot be "
                               "kept until it is (grace admin new-key prints one)")
    path = load_settings().var_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(new_key())
        except FileExistsError:  # another process made it first: use theirs
            pass
    return [path.read_text().strip()]


def _sealer(keys: Iterable[str] | None = None) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in (list(keys) if keys is not None else configured_keys())])


def seal(values: dict[str, str], keys: Iterable[str] | None = None) -> str:
    """`values` as one sealed text, under the newest key."""
    return _sealer(keys).encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(sealed: str, keys: Iterable[str] | None = None) -> dict[str, str]:
    try:
        return json.loads(_sealer(keys).decrypt(sealed.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable("a stored secret opens with none of GRACE_SECRET_KEY's keys") from exc


def reseal(sealed: str, keys: Iterable[str] | None = None) -> str:
    """The same values sealed under the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return _sealer(keys).rotate(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a stored secret opens with none of GRACE_SECRET_KEY's keys") from exc
