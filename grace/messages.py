"""Customer-facing words: defaults from messages.yml, overridden per tenant."""
from __future__ import annotations

import logging
import random
import string
from functools import lru_cache
from pathlib import Path

import yaml

from grace.tenants import Tenant

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def default_messages() -> dict[str, object]:
    return yaml.safe_load((Path(__file__).with_name("messages.yml")).read_text(encoding="utf-8"))


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        log.warning("message placeholder {%s} has no value", key)
        return ""


def render(template: str, params: dict) -> str:
    """Fill placeholders; a missing one becomes empty rather than failing a customer's turn."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format_map(_Lenient({k: v for k, v in params.items() if k in names}))


class Messages:
    def __init__(self, tenant: Tenant, rng: random.Random | None = None) -> None:
        self.tenant = tenant
        self.rng = rng or random.Random()

    def template(self, key: str) -> str:
        value = self.tenant.messages.get(key) or default_messages().get(key)
        if value is None:
            raise KeyError(f"no message named {key!r}")
        if isinstance(value, list):
            value = self.rng.choice(value)
        return str(value)

    def __call__(self, key: str, **params) -> str:
        return render(self.template(key), {"business": self.tenant.name, **params})
