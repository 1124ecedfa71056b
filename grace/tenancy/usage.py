"""What each business uses per month, metered in the store, against its plan (grace.tenancy.plans)."""
from __future__ import annotations


def meter_message(tenant_id: str, conversation_id: str) -> None:
    """Count one customer message (and the month's conversation, on its first message of the month)."""


def month_usage(session, tenant_id: str, month: str | None = None) -> dict[str, int]:
    """The business's counts by metric for `month` ("2026-11"; None: this month, UTC)."""
    return {}
