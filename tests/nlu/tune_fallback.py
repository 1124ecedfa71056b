"""Tune the FallbackClassifier on the dev NLU set: what each threshold costs and what it catches.

    .venv/bin/python -m tests.nlu.tune_fallback [--model models/grace.tar.gz] [--nlu tests/nlu/dev]

Tuned on the dev split, never on the held-out set the gate judges (a threshold chosen on the test set
would flatter it). Parses every dev message once with the trained model and reads DIET's own ranking (the
FallbackClassifier only puts `nlu_fallback` on top of it, so one pass serves every candidate). A
message goes to the fallback when its top confidence is below `threshold` or the top two are closer
than `ambiguity_threshold`. For each pair the table shows the share of correct predictions lost to
the fallback (customers who get "sorry?" though Grace understood) and the share of wrong predictions
caught (customers saved from a wrong answer). It recommends the pair with the fewest mistakes
(correct lost plus wrong let through; ties: the larger values, the safer side). The chosen values
live in config.yml.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.nlu.gate import quiet_rasa

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
AMBIGUITIES = (0.0, 0.05, 0.08, 0.1, 0.15, 0.2)


@dataclass(frozen=True)
class Parsed:
    gold: str
    top: str
    confidence: float
    margin: float  # top confidence minus the runner-up's

    @property
    def correct(self) -> bool:
        return self.top == self.gold


def falls_back(p: Parsed, threshold: float, ambiguity: float) -> bool:
    return p.confidence < threshold or p.margin < ambiguity


def rates(parsed: list[Parsed], threshold: float, ambiguity: float) -> tuple[float, float]:
    """(share of correct predictions lost, share of wrong predictions caught)."""
    correct = [p for p in parsed if p.correct]
    wrong = [p for p in parsed if not p.correct]
    lost = sum(falls_back(p, threshold, ambiguity) for p in correct) / max(1, len(correct))
    caught = sum(falls_back(p, threshold, ambiguity) for p in wrong) / max(1, len(wrong))
    return lost, caught


async def parse_all(model: Path, nlu: Path) -> list[Parsed]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    quiet_rasa()
    parsed = []
    for example in load_data(str(nlu)).intent_examples:
        result = await agent.parse_message(example.get("text"))
        ranking = [r for r in result.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        first = ranking[0] if ranking else {"name": "", "confidence": 0.0}
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        parsed.append(Parsed(example.get("intent"), first["name"], first["confidence"],
                             first["confidence"] - second))
    return parsed


def mistakes(parsed: list[Parsed], threshold: float, ambiguity: float) -> int:
    """Customers who get the wrong thing: understood but sent to the fallback, or misunderstood and not."""
    return sum(falls_back(p, threshold, ambiguity) == p.correct for p in parsed)


def recommend(parsed: list[Parsed]) -> tuple[float, float]:
    pairs = [(t, a) for t in THRESHOLDS for a in AMBIGUITIES]
    return min(pairs, key=lambda pair: (mistakes(parsed, *pair), -pair[0], -pair[1]))


def table(parsed: list[Parsed]) -> str:
    wrong = sum(not p.correct for p in parsed)
    lines = [f"{len(parsed)} dev messages, {len(parsed) - wrong} predicted right, {wrong} wrong before fallback",
             "cells: correct lost / wrong caught (percent)",
             "threshold " + "".join(f"  amb {a:<9.2f}" for a in AMBIGUITIES)]
    for t in THRESHOLDS:
        cells = []
        for a in AMBIGUITIES:
            lost, caught = rates(parsed, t, a)
            cells.append(f"  {lost * 100:4.1f} / {caught * 100:5.1f}")
        lines.append(f"{t:<9.2f} " + "".join(cells))
    threshold, ambiguity = recommend(parsed)
    lost, caught = rates(parsed, threshold, ambiguity)
    lines.append(f"fewest mistakes: threshold {threshold} ambiguity_threshold {ambiguity} "
                 f"({mistakes(parsed, threshold, ambiguity)} of {len(parsed)}; correct lost {lost * 100:.1f}%, "
                 f"wrong caught {caught * 100:.1f}%)")
    lines.append("wrong predictions (gold -> predicted, confidence, margin):")
    lines += [f"  {p.gold} -> {p.top}  {p.confidence:.2f}  {p.margin:.2f}" for p in parsed if not p.correct]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grace.tar.gz")
    parser.add_argument("--nlu", type=Path, default=ROOT / "tests" / "nlu" / "dev")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"no trained model at {args.model}: run `make train` first", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_rasa()
    print(table(asyncio.run(parse_all(args.model, args.nlu))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
