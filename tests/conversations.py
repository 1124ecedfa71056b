"""`python -m tests.conversations`: the end-to-end test stories (tests/stories/<business>/test_*.yml) through
Rasa's end-to-end evaluation, each folder as customers of that business (its catalog, codes and order
references are what the entities are read against). The target is every story passing; until the training
data gets there, --min-share sets the floor per business (the Makefile's: what the model reaches today),
and every failed story is printed with its misread line.

For each customer line Rasa checks the intent NLU reads from the text and the annotated entities, then
the action the dialogue predicts next. Entities are judged as the held-out gate judges them: the kinds
a story annotates (fabric, quantity, promo_code, order_ref) by their type and words; the other kinds
the extractor adds (category, colour, budget...) are not annotated in stories and not compared, and a
quantity's value is structured ({"amount", "unit"}), so values are not compared either.
Reports in results/conversations/<business>/ (failed_test_stories.yml names the misread lines). Under a
failed story, each misread line is printed with the training examples nearest to it of the intent the story
says and of the one NLU read: what a trainer needs to tell the two apart in data/nlu (with new examples of the
pattern, never the story's own line).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from grace.learn.suggest import training_examples
from tests.helpers import ROOT, make_tenants

STORIES = ROOT / "tests" / "stories"
TRAINING = ROOT / "data" / "nlu"
JUDGED = frozenset({"fabric", "quantity", "promo_code", "order_ref"})
# A misread line as Rasa writes it in failed_test_stories.yml: "- intent: ask_summary  # predicted: browse: abeg ..."
_MISREAD = re.compile(r"-\s+intent:\s+(?P<said>\w+)\s+# predicted:\s+(?P<read>\w+):\s+(?P<text>.+)")
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")  # "[Adwini Asa](fabric)" -> "Adwini Asa"


def judge_entities_by_words() -> None:
    """Rasa's story evaluation compares every entity with its value; compare the judged kinds by their
    type and span only (see the module's docstring)."""
    import rasa.core.test as rasa_test

    clean = rasa_test._clean_entity_results

    def judged(text: str, entity_results: list[dict]) -> list:
        kept = [dict(e) for e in entity_results or [] if e.get("entity") in JUDGED]
        return [{k: v for k, v in e.items() if k != "value"} for e in clean(text, kept)]

    rasa_test._clean_entity_results = judged


def evaluate(business: str, model: Path, out: Path) -> None:
    """In this process (started by main with the business's environment): Rasa's evaluation."""
    from rasa.model_testing import test_core

    judge_entities_by_words()
    asyncio.run(test_core(str(model), str(STORIES / business), str(out), use_conversation_test_files=True))


def run_business(business: str, model: Path, tenants: Path, out: Path) -> tuple[int, int, str]:
    """(stories passed, stories run, the failed stories as Rasa wrote them)."""
    env = {**os.environ, "GRACE_DEFAULT_TENANT": business, "GRACE_TENANTS_DIR": str(tenants),
           "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rasa.log", "w") as log:
        done = subprocess.run([sys.executable, "-m", "tests.conversations", "--evaluate", business,
                               "--model", str(model), "--out", str(out)], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    report = out / "story_report.json"
    if done.returncode != 0 or not report.exists():
        return 0, -1, (out / "rasa.log").read_text()[-4000:]
    accuracy = json.loads(report.read_text()).get("conversation_accuracy", {})
    failed = out / "failed_test_stories.yml"
    return accuracy.get("correct", 0), accuracy.get("total", 0), failed.read_text() if failed.exists() else ""


def misreads(failed: str) -> list[tuple[str, str, str]]:
    """(the customer's words, the story's intent, the intent NLU read) for each misread line."""
    return [(_ANNOTATION.sub(r"\1", m["text"]).strip(), m["said"], m["read"]) for m in _MISREAD.finditer(failed)]


def examples_by_intent(folder: Path = TRAINING) -> dict[str, list[str]]:
    """intent -> its training examples' texts."""
    examples: dict[str, list[str]] = {}
    for text, intent in training_examples(folder):
        examples.setdefault(intent, []).append(text)
    return examples


def nearest_examples(failed: str, examples: dict[str, list[str]], per_intent: int = 3) -> str:
    """Each misread line with the nearest training examples (shared words, in any order) of both intents."""
    from rapidfuzz import fuzz, process

    lines = []
    for text, said, read in misreads(failed):
        lines.append(f'  "{text}": the story says {said}, NLU read {read}')
        for intent in dict.fromkeys((said, read)):
            near = process.extract(text, examples.get(intent, []), scorer=fuzz.token_set_ratio, limit=per_intent)
            if near:
                lines.append(f"    nearest {intent}: " + " | ".join(example for example, _, _ in near))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grace.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "conversations")
    parser.add_argument("--min-share", type=float, default=1.0, help="share of stories that must pass, per business")
    parser.add_argument("--evaluate", help=argparse.SUPPRESS)  # the child process for one business
    parser.add_argument("businesses", nargs="*")
    args = parser.parse_args(argv)
    if args.evaluate:
        evaluate(args.evaluate, args.model, args.out)
        return 0
    businesses = args.businesses or sorted(p.name for p in STORIES.iterdir() if p.is_dir())
    bad = 0
    examples: dict[str, list[str]] | None = None  # data/nlu, read at the first misread line
    with tempfile.TemporaryDirectory(prefix="grace-conversations-") as tmp:
        tenants = make_tenants(Path(tmp))
        for business in businesses:
            passed, total, failed = run_business(business, args.model, tenants, args.out / business)
            if total <= 0:
                print(f"✗ {business}: the stories did not run\n{failed}")
                bad += 1
                continue
            enough = passed >= args.min_share * total
            print(f"{'✓' if enough else '✗'} {business}: {passed}/{total} conversations passed "
                  f"(floor {args.min_share:.0%}, target 100%)")
            if passed != total:
                print(failed[:12000])
                if misreads(failed):
                    examples = examples if examples is not None else examples_by_intent()
                    print("Nearest training examples (tell the two intents apart with new examples of the pattern, "
                          "never the story's own line):\n" + nearest_examples(failed, examples))
            bad += not enough
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
