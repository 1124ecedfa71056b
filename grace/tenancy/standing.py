"""A business's standing with the platform: its plan, and whether the platform operator suspended it."""
from __future__ import annotations


def suspended(tenant_id: str) -> bool:
    """Whether the business is suspended (its customers get a polite message and no turn runs)."""
    return False


def account_of(session, tenant_id: str):
    """The business's TenantAccount row (plan, suspension), or None when the platform set nothing."""
    return None
