"""Unhandled utterances grouped, each with the nearest existing intent and a suggested NLU example.

The NLU model is shared by every tenant, so groups span tenants; the suggestion is the group's
most typical wording (long numbers masked), under the intent of the nearest training example.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grace.learn.cluster import IntentIndex, Nearest, Space, cluster, normal, top_logged_intents
from grace.store.models import FallbackLog

WEAK_MATCH = 0.35  # below this the nearest intent is a guess: maybe a new intent


@dataclass
class Group:
    number: int
    wordings: list[str]  # distinct wordings, most typical first
    rows: list[FallbackLog]
    nearest: Nearest | None
    logged: list[tuple[str, float]]  # what NLU thought: (intent, mean confidence)
    suggestion: str | None  # None: the typical wording is already a training example

    @property
    def customers(self) -> int:
        return len({r.conversation_id for r in self.rows})

    @property
    def tenants(self) -> list[str]:
        return sorted({r.tenant_id for r in self.rows})

    @property
    def answered_by(self) -> Counter[str]:
        return Counter(r.answered_by for r in self.rows)

    @property
    def outcomes(self) -> Counter[str]:
        return Counter({True: "continued", False: "dropped", None: "undecided"}[r.continued] for r in self.rows)

    @property
    def weak(self) -> bool:
        return self.nearest is None or self.nearest.similarity < WEAK_MATCH


def training_examples(nlu_dir: Path) -> list[tuple[str, str]]:
    """(text, intent) of the customer intents in data/nlu (not the machine-only EXTERNAL_ ones)."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for message in load_data(str(path)).intent_examples:
            intent = message.get("intent")
            if intent and not intent.startswith("EXTERNAL"):
                examples.append((message.get("text"), intent))
    return examples


def group_unhandled(rows: list[FallbackLog], examples: list[tuple[str, str]]) -> list[Group]:
    by_text: dict[str, list[FallbackLog]] = {}
    for row in rows:
        if row.text.strip():
            by_text.setdefault(normal(row.text), []).append(row)
    texts = sorted(by_text)
    space = Space(texts + [t for t, _ in examples])
    index = IntentIndex(space, examples)
    groups = []
    for number, found in enumerate(cluster(space, texts, [len(by_text[t]) for t in texts]), start=1):
        wordings = [texts[i] for i in found.members]
        said = [row for wording in wordings for row in by_text[wording]]
        typical = wordings[0]
        groups.append(Group(number, wordings, said, index.nearest(found.centroid),
                            top_logged_intents([r.intent_ranking for r in said]),
                            None if typical in index.known else typical))
    return groups
