"""`python -m tests.nlu.disjoint`: the held-out and dev messages are not training examples in disguise.

A held-out message within two words (insertions, deletions or substitutions of whole words, after
lower-casing and dropping punctuation) of any training example in data/nlu fails the check, whatever
the intents: such a message measures memory, not understanding. Short messages are held to a share of
their words instead (any two 2-word messages are two words apart): up to 5 words, one word apart is
too close; up to 2 words, only the same words are. A dev message is held to the same distance from every
held-out message (thresholds are tuned on dev). Exit 1 listing the offenders.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parents[2]
MAX_WORDS_APART = 2  # "within two words": too close


def allowed_distance(length: int) -> int:
    """The largest distance that still counts as too close for a message of `length` words."""
    return min(MAX_WORDS_APART, length // 3)
_WORD = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)  # words, and each emoji or symbol on its own


def words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(text.lower()) if w.isalnum() or not w.isascii())


def texts(path: Path) -> list[str]:
    return [example.get("text") for example in load_data(str(path)).intent_examples]


def folder_texts(folder: Path) -> list[str]:
    return [text for path in sorted(folder.glob("*.yml")) for text in texts(path)]


def story_texts(folder: Path) -> list[str]:
    """What customers say in the end-to-end test stories (annotations removed): test data too."""
    import yaml

    said = []
    for path in sorted(folder.glob("*/test_*.yml")):
        for story in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories") or []:
            for step in story.get("steps") or []:
                if isinstance(step, dict) and isinstance(step.get("user"), str):
                    said.append(re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", step["user"]).strip())
    return said


def too_close(held_out: list[str], training: list[str]) -> list[tuple[str, str, int]]:
    """(held-out message, nearest training example, words apart) for each message too close to one."""
    by_length: dict[int, list[tuple[str, ...]]] = {}
    originals: dict[tuple[str, ...], str] = {}
    for text in training:
        tokens = words(text)
        by_length.setdefault(len(tokens), []).append(tokens)
        originals.setdefault(tokens, text)
    found = []
    for text in held_out:
        tokens = words(text)
        limit = allowed_distance(len(tokens))
        best: tuple[int, tuple[str, ...]] | None = None
        for length in range(len(tokens) - limit, len(tokens) + limit + 1):
            for candidate in by_length.get(length, []):
                distance = Levenshtein.distance(tokens, candidate, score_cutoff=limit + 1)
                if distance <= limit and (best is None or distance < best[0]):
                    best = (distance, candidate)
        if best is not None:
            found.append((text, originals[best[1]], best[0]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--stories", type=Path, default=None,
                        help="also the customers' lines of end-to-end test stories (tests/stories): for whoever "
                             "writes training data from misread story lines, so none is copied")
    parser.add_argument("--hide-training", action="store_true",
                        help="name the held-out messages only (for whoever writes them, who must not see data/)")
    parser.add_argument("--hide-held-out", action="store_true",
                        help="name the training examples only (for whoever writes those, who must not see the "
                             "held-out, dev or story messages they come close to)")
    parser.add_argument("sets", nargs="*", type=Path, default=[ROOT / "tests" / "nlu" / "holdout",
                                                                   ROOT / "tests" / "nlu" / "dev"])
    args = parser.parse_args(argv)
    args.sets = [folder.resolve() for folder in args.sets]
    training = texts(args.training)
    held_out = [text for folder in args.sets for text in folder_texts(folder)]
    if args.stories:
        held_out += story_texts(args.stories)
    offenders = too_close(held_out, training)
    for text, nearest, distance in offenders:
        if args.hide_held_out:
            print(f"✗ training example {nearest!r} is {distance} word(s) from a held-out, dev or story message")
        else:
            print(f"✗ {text!r} is {distance} word(s) from a training example"
                  + ("" if args.hide_training else f": {nearest!r}"))
    print(f"{len(held_out)} held-out, dev and story messages, {len(training)} training examples: "
          f"{len(offenders)} too close (within {MAX_WORDS_APART} words; fewer for short messages)")
    # Thresholds are tuned on dev: a dev message that is a held-out one in disguise tunes on the holdout.
    # Neither is shown to the other's writer, so only the dev message is named.
    dev, holdout = ROOT / "tests" / "nlu" / "dev", ROOT / "tests" / "nlu" / "holdout"
    leaks = []
    if dev in args.sets and holdout in args.sets:
        leaks = too_close(folder_texts(dev), folder_texts(holdout))
        for text, _, distance in leaks:
            print("✗ a dev message is within two words of a held-out message" if args.hide_held_out
                  else f"✗ dev {text!r} is {distance} word(s) from a held-out message")
        print(f"dev against held-out: {len(leaks)} too close")
    return 1 if offenders or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
