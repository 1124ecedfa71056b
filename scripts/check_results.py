"""Gates on `rasa test` output: every test conversation passes; held-out NLU F1 high enough.

  check_results.py conversations results/conversations
  check_results.py nlu results/nlu --min-f1 0.93
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def conversations(folder: Path) -> int:
    report = json.loads((folder / "story_report.json").read_text())
    accuracy = report.get("conversation_accuracy", {})
    total, correct = accuracy.get("total", 0), accuracy.get("correct", 0)
    print(f"conversation tests: {correct}/{total} passed")
    if total == 0:
        print("no conversation tests were run")
        return 1
    if correct != total:
        failed = folder / "failed_test_stories.yml"
        if failed.exists():
            print(failed.read_text()[:6000])
        return 1
    return 0


def nlu(folder: Path, min_f1: float) -> int:
    report = json.loads((folder / "intent_report.json").read_text())
    f1 = report["weighted avg"]["f1-score"]
    worst = sorted((v["f1-score"], k) for k, v in report.items()
                   if isinstance(v, dict) and "f1-score" in v and k not in ("weighted avg", "macro avg", "micro avg"))
    print(f"held-out NLU: weighted intent F1 {f1:.3f} (gate {min_f1}); weakest: "
          + ", ".join(f"{k} {v:.2f}" for v, k in worst[:4]))
    return 0 if f1 >= min_f1 else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["conversations", "nlu"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--min-f1", type=float, default=0.93)
    args = parser.parse_args()
    return conversations(args.folder) if args.kind == "conversations" else nlu(args.folder, args.min_f1)


if __name__ == "__main__":
    sys.exit(main())
