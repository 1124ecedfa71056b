"""`python -m tests.conversations`: the end-to-end test stories (tests/stories/<business>/) through Rasa's
end-to-end evaluation, each folder as customers of that business (its catalog, codes and references
are what the entities are read against). Every story must pass: a misread line fails the run.

Rasa's `rasa test core --e2e` reads each customer's text with the trained NLU, checks the intent and the
annotated entities, then the action the dialogue predicts next. Reports in results/conversations/<business>/.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import ROOT, make_tenants

STORIES = ROOT / "tests" / "stories"


def run_business(business: str, model: Path, tenants: Path, out: Path) -> tuple[int, int, str]:
    """(stories passed, stories run, the failed stories as Rasa wrote them)."""
    env = {**os.environ, "GRACE_DEFAULT_TENANT": business, "GRACE_TENANTS_DIR": str(tenants),
           "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    out.mkdir(parents=True, exist_ok=True)
    rasa = str(Path(sys.executable).parent / "rasa")
    with open(out / "rasa.log", "w") as log:
        done = subprocess.run([rasa, "test", "core", "--e2e", "--model", str(model), "--stories",
                               str(STORIES / business), "--out", str(out)], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    report = out / "story_report.json"
    if done.returncode != 0 or not report.exists():
        return 0, -1, (out / "rasa.log").read_text()[-4000:]
    accuracy = json.loads(report.read_text()).get("conversation_accuracy", {})
    failed = out / "failed_test_stories.yml"
    return accuracy.get("correct", 0), accuracy.get("total", 0), failed.read_text() if failed.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grace.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "conversations")
    parser.add_argument("businesses", nargs="*")
    args = parser.parse_args(argv)
    businesses = args.businesses or sorted(p.name for p in STORIES.iterdir() if p.is_dir())
    bad = 0
    with tempfile.TemporaryDirectory(prefix="grace-conversations-") as tmp:
        tenants = make_tenants(Path(tmp))
        for business in businesses:
            passed, total, failed = run_business(business, args.model, tenants, args.out / business)
            if total <= 0:
                print(f"✗ {business}: the stories did not run\n{failed}")
                bad += 1
                continue
            print(f"{'✓' if passed == total else '✗'} {business}: {passed}/{total} conversations passed")
            if passed != total:
                bad += 1
                print(failed[:8000])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
