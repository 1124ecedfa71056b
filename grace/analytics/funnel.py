"""The sales funnel as the business sees it, from greeting to verified deposit.

A conversation counts at the furthest stage it was proven to reach in the period, and at every
stage before it: a customer who sends proof for fabrics chosen last week did choose fabrics, and
a funnel whose later stages outnumber earlier ones would show negative drop-offs.
"""
from __future__ import annotations

from dataclasses import dataclass

STAGES: tuple[tuple[str, str], ...] = (
    ("greeting", "Greeting"),
    ("options_sent", "Options sent"),
    ("selection", "Selection"),
    ("summary", "Order summary"),
    ("payment_requested", "Payment requested"),
    ("proof", "Proof of payment"),
    ("verified", "Deposit verified"),
)
STAGE_KEYS = tuple(key for key, _ in STAGES)


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    conversations: int  # conversations that reached this stage
    dropped: int  # of those, how many went no further (0 at the last stage)
    drop_rate: float  # dropped / conversations, 0.0 when none reached the stage

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "conversations": self.conversations,
                "dropped": self.dropped, "drop_rate": self.drop_rate}


def build_funnel(stages_by_conversation: dict[str, set[str]]) -> list[FunnelStage]:
    """One entry per stage, in order; every conversation given has at least reached the greeting."""
    furthest = [max((STAGE_KEYS.index(stage) for stage in stages), default=0)
                for stages in stages_by_conversation.values()]
    reached = [sum(1 for stage in furthest if stage >= index) for index in range(len(STAGES))]
    funnel = []
    for index, (key, label) in enumerate(STAGES):
        dropped = reached[index] - reached[index + 1] if index + 1 < len(STAGES) else 0
        rate = dropped / reached[index] if reached[index] else 0.0
        funnel.append(FunnelStage(key, label, reached[index], dropped, rate))
    return funnel
