"""Pickup or delivery: the zone a customer's words name, and what delivering there costs.

A customer answers "pickup or delivery?" in their own words: "Lekki", "lekki phase 1", "I dey for Ajah",
"12 Admiralty Way, Lekki", "East Legon", "Tema comm 25". Each of the tenant's zones is known by its name and
its areas; a place is found in the message on word boundaries, exactly or with a typo (rapidfuzz's optimal
string alignment distance: one slip in a name of five letters or more, two from eight), the most specific
(longest) name first. Short names (Ajah, Tema, Yaba) must be written right: a slip there reads as another word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from grace.tenancy.registry import Delivery, Zone

PICKUP = "pickup"
DELIVERY = "delivery"
MAX_ADDRESS = 500  # characters of the customer's address kept on the order

# "I'll pick up", "pick it up", "pickup", "I go come carry am", "I'll collect it", "self pickup".
_PICKUP_WORDS = re.compile(
    r"\b(pick\s*-?\s*up|pick\s+(it|am|them)\s+up|collect|come\s+(and\s+)?(get|carry|take|pick)|come\s+carry|"
    r"i\s*go\s+come|self\s*-?\s*pick|in\s+person|showroom|at\s+the\s+shop|from\s+the\s+shop)\b", re.I)
# "delivery", "deliver it", "bring it", "send it": delivery wanted, the area not said yet.
_DELIVERY_WORDS = re.compile(r"\b(deliver|delivery|delivered|bring|send\s+(it|am|them)|dispatch|ship)\b", re.I)
_WORD = re.compile(r"[0-9a-z']+")


@dataclass(frozen=True)
class Place:
    """The zone a message names, and the words that named it."""

    zone: Zone
    words: str  # the area or zone name found ("Lekki")
    exact: bool


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("&", " and "))


def _names(zone: Zone) -> list[str]:
    """What customers may call a zone: its name, the parts of a name like "Lekki / Ajah", and its areas."""
    names = [zone.name, *zone.areas]
    names += [part for part in re.split(r"\s*(?:/|&|,|\band\b|\+)\s*", zone.name) if part]
    return [name for name in dict.fromkeys(n.strip() for n in names) if _words(name)]


def _allowed_slips(name: str) -> int:
    letters = len(name.replace(" ", ""))
    return 2 if letters >= 8 else 1 if letters >= 5 else 0


def find_place(delivery: Delivery, text: str) -> Place | None:
    """The zone the customer's words name, or None. Exact names beat typos; longer names beat shorter
    ones ("Lekki Phase 1" before "Lekki"); then the place written first."""
    said = _words(text)
    best: tuple[tuple[int, int, int], Place] | None = None
    for zone in delivery.zones:
        for name in _names(zone):
            wanted = _words(name)
            size = len(wanted)
            joined = " ".join(wanted)
            for start in range(len(said) - size + 1):
                window = " ".join(said[start:start + size])
                slips = OSA.distance(window, joined, score_cutoff=_allowed_slips(joined))
                if slips > _allowed_slips(joined):
                    continue
                rank = (1 if slips == 0 else 0, len(joined), -start)
                if best is None or rank > best[0]:
                    best = (rank, Place(zone, name, slips == 0))
    return best[1] if best else None


def wants_pickup(text: str) -> bool:
    return bool(_PICKUP_WORDS.search(text))


def wants_delivery(text: str) -> bool:
    return bool(_DELIVERY_WORDS.search(text))


def zone_named(delivery: Delivery | None, name: str | None) -> Zone | None:
    """The tenant's zone of this name (as kept in the conversation), or None when it no longer exists."""
    if delivery is None or not name:
        return None
    return next((zone for zone in delivery.zones if zone.name.lower() == name.lower()), None)


def delivery_fee(zone: Zone, fabric_total_minor: int, free_above_minor: int) -> int:
    """The fee to deliver an order whose fabric costs `fabric_total_minor` (after any discount) to `zone`:
    free from the tenant's free_above, when it has one (0: never free)."""
    if free_above_minor and fabric_total_minor >= free_above_minor:
        return 0
    return zone.fee_minor


def choices(delivery: Delivery) -> list[str]:
    """What the customer may answer, in the order offered: pickup first (when there is one), then the
    zones by name. A bare number picks from this list."""
    return ([PICKUP] if delivery.pickup else []) + [zone.name for zone in delivery.zones]


def address_of(text: str) -> str:
    """The customer's address as they wrote it (one line, capped), kept on the order for ops."""
    return re.sub(r"\s+", " ", text).strip()[:MAX_ADDRESS]
