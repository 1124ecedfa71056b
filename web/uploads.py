"""Catalog files between "check" and "apply": kept on disk under var/web_uploads/<tenant>/ by a random
token, so the owner applies exactly the file they previewed, without uploading it again."""
from __future__ import annotations

import re
import secrets
import time
from pathlib import Path, PurePath

from grace.config import load_settings

KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
SUFFIXES = (".csv", ".txt", ".json", ".xlsx")


def _folder(tenant_id: str) -> Path:
    return Path(load_settings().var_dir) / "web_uploads" / tenant_id


def stash(tenant_id: str, data: bytes, filename: str) -> str:
    folder = _folder(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # previews nobody applied
        if old.stat().st_mtime < time.time() - KEEP_SECONDS:
            old.unlink(missing_ok=True)
    suffix = PurePath(filename or "").suffix.lower()
    token = secrets.token_hex(16)
    (folder / f"{token}{suffix if suffix in SUFFIXES else '.csv'}").write_bytes(data)
    return token


def take(tenant_id: str, token: str) -> tuple[bytes, str] | None:
    """The stashed file's bytes and name, removed from the stash; None if unknown (or another tenant's)."""
    if not _TOKEN.match(token or ""):
        return None
    for suffix in SUFFIXES:
        path = _folder(tenant_id) / f"{token}{suffix}"
        if path.exists():
            data = path.read_bytes()
            path.unlink(missing_ok=True)
            return data, path.name
    return None
