"""What both providers' clients share: the checkout page they hand back, their failures, how long we wait."""
from __future__ import annotations

import os
from dataclasses import dataclass

from grace.errors import GraceError


class ProviderError(GraceError):
    """The provider refused or could not be reached; the message says what it answered."""


@dataclass(frozen=True)
class Checkout:
    reference: str  # the provider's handle for it: our Paystack reference, Stripe's checkout session id
    url: str  # the page the customer pays on


@dataclass(frozen=True)
class Paid:
    """A provider's word that money came in, as the provider itself states it (never the webhook's sender)."""

    reference: str
    amount_minor: int
    currency: str  # upper case ISO 4217


def timeout() -> float:
    """Seconds to wait for a provider: a link is made while the customer waits for the summary, so a slow
    provider costs them the link (they still get the bank details), not the answer."""
    return float(os.environ.get("GRACE_PAYMENT_LINK_TIMEOUT_S", "6"))
