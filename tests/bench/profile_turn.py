"""Where a turn's time goes (`make profile`): py-spy samples Rasa and the action server while one customer
at a time chats over REST, and each sample is put in the part of the turn it belongs to.

Prints the CPU milliseconds per turn of each part (NLU, the policies, the custom action's round trip and
Rasa's check of its answer, reading and saving the conversation, the rest) and the action server's own.
Sampling shares, not timings: they say where to look, `make bench` says whether it got faster.

    .venv/bin/python -m tests.bench.profile_turn [--seconds 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from grace.run import local
from tests.bench.latency import conversation
from tests.helpers import free_port, make_tenants

RATE = 200  # samples per second
PY_SPY = str(Path(sys.executable).parent / "py-spy")
# The first (function, file) found in a stack, from the innermost frame out, names its part of the turn.
PARTS = [
    ("check of the action's answer", "_validate_action_result", "rasa"),
    ("custom action (HTTP round trip)", "run", "rasa/core/actions/action.py"),
    ("NLU", "parse_message", "rasa/core/processor.py"),
    ("policies", "_predict_next_with_tracker", "rasa/core/processor.py"),
    ("read the conversation", "get_or_create_tracker", "rasa/core/tracker_store.py"),
    ("read the conversation", "_stored_events", "grace/rasa_plugins/tracker_store.py"),
    ("save the conversation", "save_tracker", "rasa/core/processor.py"),
    ("save the conversation", "_save_new_events", "grace/rasa_plugins/tracker_store.py"),
    ("REST channel and Sanic", "handle_request", ""),
]


def part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        function, _, where = frame.partition(" (")
        for name, marker, file in PARTS:
            if function == marker and file in where:
                return name
    return "other"


# Innermost frames of a thread that waits: py-spy cannot always tell (an executor's worker waiting for work,
# the event loop in epoll), so they are left out here.
WAITING = ("_worker (concurrent/futures/thread.py", "serve (sanic/server/runners.py", "wait (threading.py")


def parts_of(raw: Path) -> Counter[str]:
    """Samples per part, from py-spy's raw (collapsed stacks) output."""
    samples: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any(frames[-1].startswith(waiting.split(" (")[0] + " (") and waiting.split(" (")[1] in frames[-1]
                   for waiting in WAITING):
            samples[part_of(frames)] += int(count)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args(argv)
    if not Path(PY_SPY).exists():
        print("py-spy is not installed: make install (requirements-dev.txt)", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="grace-profile-"))
    os.environ.update(GRACE_TENANTS_DIR=str(make_tenants(root)), GRACE_VAR_DIR=str(root / "var"))
    rasa_port = free_port()
    processes = local.start(root / "var", rasa_port, free_port(), webhook_port=free_port(), web_port=free_port())
    base = f"http://127.0.0.1:{rasa_port}"
    try:
        conversation(base, "warm-up")
        actions, rasa = processes[:2]
        spies = {name: subprocess.Popen([PY_SPY, "record", "--pid", str(process.pid), "--rate", str(RATE),
                                         "--duration", str(args.seconds + 2), "--format", "raw",
                                         "--output", str(root / f"{name}.txt")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, process in (("rasa", rasa), ("actions", actions))}
        time.sleep(1)  # py-spy attaches
        turns, started, n = 0, time.monotonic(), 0
        while time.monotonic() - started < args.seconds:
            turns += len(conversation(base, f"customer-{n}"))
            n += 1
        for spy in spies.values():
            spy.wait(timeout=60)
        per_turn = 1000 / RATE / turns
        print(f"where a turn's time goes: {turns} turns, one conversation at a time, CPU ms per turn (sampled)")
        rasa_parts = parts_of(root / "rasa.txt")
        for part, samples in rasa_parts.most_common():
            print(f"  rasa     {part:<34} {samples * per_turn:6.1f} ms")
        print(f"  rasa     {'all':<34} {sum(rasa_parts.values()) * per_turn:6.1f} ms")
        action_server = sum(parts_of(root / "actions.txt").values())
        print(f"  actions  {'all (the action server)':<34} {action_server * per_turn:6.1f} ms")
    finally:
        local.stop(processes)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
