"""Every word a customer reads: defaults in wording.yml beside this file, overridden per tenant
(`messages:` in tenant.yml). Actions, channels and the outbox say things through Wording."""
from __future__ import annotations

import logging
import random
import string
from functools import lru_cache
from pathlib import Path

import yaml

from grace.tenancy.registry import Tenant

log = logging.getLogger(__name__)
# What the customer gets when even the tenant's own wording cannot be read (its files are broken).
LAST_RESORT = "Sorry, something went wrong on my side 🙏 Please try again in a moment."


# Topic files beside wording.yml (payments, delivery...): one message name is defined in one file only.
TOPICS = Path(__file__).with_name("messages")


@lru_cache(maxsize=1)
def default_messages() -> dict[str, object]:
    files = [Path(__file__).with_name("wording.yml"), *sorted(TOPICS.glob("*.yml"))]
    messages: dict[str, object] = {}
    for path in files:
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in messages:
                raise ValueError(f"message {key!r} is defined twice (again in {path.name})")
            messages[key] = value
    return messages


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        log.warning("message placeholder {%s} has no value", key)
        return ""


def render(template: str, params: dict) -> str:
    """Fill placeholders; a missing one becomes empty rather than failing a customer's turn."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format_map(_Lenient({k: v for k, v in params.items() if k in names}))


class Wording:
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
