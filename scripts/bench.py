"""`make bench`: REST turn latency (Rasa + action server + store) and server memory.

Prints p50/p99 at 1 and 16 concurrent conversations and the RSS of each server.
(The side-by-side with a bare `rasa init` bot is still to come: see issue 2.)
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grace import runner  # noqa: E402
from tests.helpers import free_port, make_tenants  # noqa: E402

TURNS = ["hello", "show me red ankara", "how much", "are you open on saturday?", "number 1, 12 yards", "no"]


def conversation(base: str, sender: str) -> list[float]:
    timings = []
    for text in TURNS:
        start = time.perf_counter()
        requests.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="grace-bench-"))
    os.environ.update(GRACE_TENANTS_DIR=str(make_tenants(root)), GRACE_VAR_DIR=str(root / "var"))
    rasa_port, actions_port = free_port(), free_port()
    processes = runner.start(root / "var", rasa_port, actions_port)
    base = f"http://127.0.0.1:{rasa_port}"
    try:
        conversation(base, "warmup")
        for concurrency in (1, 16):
            with ThreadPoolExecutor(concurrency) as pool:
                started = time.perf_counter()
                senders = [f"bench-{concurrency}-{i}" for i in range(max(4, concurrency * 2))]
                results = list(pool.map(lambda sender: conversation(base, sender), senders))
                elapsed = time.perf_counter() - started
            flat = [t for r in results for t in r]
            print(f"concurrency {concurrency:>2}: turns {len(flat):>4}  p50 {statistics.median(flat):7.1f} ms  "
                  f"p99 {percentile(flat, 99):7.1f} ms  throughput {len(flat) / elapsed:6.1f} turns/s")
        actions, rasa = processes
        print(f"RSS: rasa {rss_mb(rasa.pid):.0f} MB, action server {rss_mb(actions.pid):.0f} MB")
    finally:
        runner.stop(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
