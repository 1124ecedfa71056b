"""`python -m tests.nlu.gate`: the trained model on the held-out messages of three businesses, as customers
of each (the message's tenant is in its metadata, so fabrics, codes and references are that business's).

Prints every intent's precision, recall and F1, the weighted F1, each gated entity's F1, the share of
messages that would reach the model fallback, and the confusions; writes results/nlu/gate.json. Exit 1
when a floor is not met. An entity counts as found when a predicted entity of the same type overlaps
the annotated words (the value is not compared: a fabric's sku is, see tests/test_understanding.py).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATED_ENTITIES = ("fabric", "quantity", "promo_code", "order_ref")
FALLBACK = "nlu_fallback"


@dataclass
class Floors:
    weighted_f1: float = 0.95
    intent_f1: float = 0.85
    entity_f1: float = 0.90


@dataclass
class Tally:
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (expected intent, predicted intent)
    entities: Counter = field(default_factory=Counter)  # (entity, "tp" | "fp" | "fn") -> count
    fallback: int = 0
    misses: list[str] = field(default_factory=list)


def overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def score(tally: Tally, expected: dict, parsed: dict, tenant: str) -> None:
    intent = parsed["intent"]["name"]
    ranking = parsed.get("intent_ranking") or []
    if intent == FALLBACK:  # judge the intent it would have been; count the fallback apart
        tally.fallback += 1
        intent = next((r["name"] for r in ranking if r["name"] != FALLBACK), FALLBACK)
    tally.pairs.append((expected["intent"], intent))
    if expected["intent"] != intent:
        tally.misses.append(f"[{tenant}] {expected['text']!r}: {expected['intent']} read as {intent}")
    wanted = [e for e in expected.get("entities") or [] if e["entity"] in GATED_ENTITIES]
    found = [e for e in parsed.get("entities") or [] if e["entity"] in GATED_ENTITIES]
    for entity in GATED_ENTITIES:
        want = [e for e in wanted if e["entity"] == entity]
        got = [e for e in found if e["entity"] == entity]
        hits = sum(1 for w in want if any(overlap(w, g) for g in got))
        tally.entities[(entity, "tp")] += hits
        tally.entities[(entity, "fn")] += len(want) - hits
        tally.entities[(entity, "fp")] += sum(1 for g in got if not any(overlap(w, g) for w in want))
        for w in want:
            if not any(overlap(w, g) for g in got):
                words = expected["text"][w["start"]:w["end"]]
                tally.misses.append(f"[{tenant}] {expected['text']!r}: {entity} {words!r} not found")
        for g in got:
            if not any(overlap(w, g) for w in want):
                tally.misses.append(f"[{tenant}] {expected['text']!r}: {entity} {g.get('value')!r} found, not there")


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def report(tally: Tally, floors: Floors) -> tuple[dict, list[str]]:
    intents = sorted({e for e, _ in tally.pairs})
    per_intent, problems = {}, []
    total = len(tally.pairs)
    for intent in intents:
        tp = sum(1 for e, p in tally.pairs if e == p == intent)
        fp = sum(1 for e, p in tally.pairs if p == intent and e != intent)
        fn = sum(1 for e, p in tally.pairs if e == intent and p != intent)
        precision, recall, f = f1(tp, fp, fn)
        per_intent[intent] = {"precision": precision, "recall": recall, "f1": f, "support": tp + fn}
        if f < floors.intent_f1:
            problems.append(f"intent {intent}: F1 {f:.2f} < {floors.intent_f1}")
    weighted = sum(v["f1"] * v["support"] for v in per_intent.values()) / total if total else 0.0
    if weighted < floors.weighted_f1:
        problems.append(f"weighted intent F1 {weighted:.3f} < {floors.weighted_f1}")
    per_entity = {}
    for entity in GATED_ENTITIES:
        tp, fp, fn = (tally.entities[(entity, k)] for k in ("tp", "fp", "fn"))
        precision, recall, f = f1(tp, fp, fn)
        per_entity[entity] = {"precision": precision, "recall": recall, "f1": f, "support": tp + fn}
        if f < floors.entity_f1:
            problems.append(f"entity {entity}: F1 {f:.2f} < {floors.entity_f1}")
    result = {"messages": total, "weighted_f1": weighted, "intents": per_intent, "entities": per_entity,
              "fallback_share": tally.fallback / total if total else 0.0,
              "confusions": Counter(f"{e} -> {p}" for e, p in tally.pairs if e != p).most_common(15)}
    return result, problems


def quiet_rasa() -> None:
    """Rasa logs every parse through structlog at debug level: keep the report readable."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.WARNING)


async def parse_all(model: Path, files: dict[str, Path]) -> Tally:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    quiet_rasa()
    tally = Tally()
    for tenant, path in files.items():
        for example in load_data(str(path)).intent_examples:
            expected = {"text": example.get("text"), "intent": example.get("intent"),
                        "entities": example.get("entities") or []}
            message = UserMessage(expected["text"], sender_id=f"{tenant}:gate", metadata={"tenant": tenant})
            score(tally, expected, await agent.processor.parse_message(message), tenant)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grace.tar.gz")
    parser.add_argument("--set", default="holdout", choices=["holdout", "dev"])
    parser.add_argument("--weighted-f1", type=float, default=Floors.weighted_f1)
    parser.add_argument("--intent-f1", type=float, default=Floors.intent_f1)
    parser.add_argument("--entity-f1", type=float, default=Floors.entity_f1)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu" / "gate.json")
    args = parser.parse_args(argv)
    from tests.helpers import make_tenants

    floors = Floors(args.weighted_f1, args.intent_f1, args.entity_f1)
    files = {p.stem: p for p in sorted((ROOT / "tests" / "nlu" / args.set).glob("*.yml"))}
    with tempfile.TemporaryDirectory(prefix="grace-nlu-gate-") as tmp:
        os.environ["GRACE_TENANTS_DIR"] = str(make_tenants(Path(tmp)))
        tally = asyncio.run(parse_all(args.model, files))
    result, problems = report(tally, floors)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**result, "misses": tally.misses, "floors": floors.__dict__}, indent=2))
    print(f"{args.set}: {result['messages']} messages of {', '.join(files)}")
    for intent, v in sorted(result["intents"].items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {intent:22} P {v['precision']:.2f}  R {v['recall']:.2f}  F1 {v['f1']:.2f}  ({v['support']})")
    print(f"  weighted intent F1 {result['weighted_f1']:.3f} (floor {floors.weighted_f1}, every intent "
          f">= {floors.intent_f1})")
    for entity, v in result["entities"].items():
        print(f"  entity {entity:12} P {v['precision']:.2f}  R {v['recall']:.2f}  F1 {v['f1']:.2f}  ({v['support']})")
    print(f"  to the model fallback: {result['fallback_share']:.1%} of messages")
    print("  most confused: " + "; ".join(f"{k} ×{n}" for k, n in result["confusions"][:8]))
    for problem in problems:
        print(f"✗ {problem}")
    print(f"details: {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
