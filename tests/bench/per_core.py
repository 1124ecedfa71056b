"""Scaling per core (`make bench` runs this): turns/s of one Grace replica pinned to one core, against two
replicas pinned to a core each, with the same load; and the memory of each replica.

The scaled profile (PostgreSQL, Redis) with two replicas, each a Rasa process and its action server; every
thread of replica n is pinned to core n-1 (`taskset -a`). "One" sends every conversation to replica 1;
"two" sends conversation i to replica 1 + i % 2, straight to the replicas' own ports (the balancer is a
process of its own, and on a 2-core machine its CPU would be taken from the replicas it spreads over).
The load generator, PostgreSQL and Redis are not pinned: with one replica they have the other core to
themselves; with two they share both cores with the replicas, so the ratio is a floor on this machine.
Alternating rounds (one, two, two, one, ...); every round printed, the median judged (target >= 1.8x).

The machine's own two cores are measured beside each round: the same pure-CPU job on core 0 alone, then on
cores 0 and 1 at once. On a shared virtual machine a second busy core does not always double the work done
(measured here: 1.2x to 2.9x from one minute to the next), and no program scales past that; so every round
prints the machine's ratio and the replicas' CPU time per turn next to Grace's, to tell the two apart.

    .venv/bin/python -m tests.bench.per_core [--rounds 5] [--conversations 32] [--concurrency 16]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grace.run import scaled
from tests.bench import process_seconds, scratch
from tests.bench.latency import rss_mb, spread
from tests.helpers import free_port, make_tenants
from tests.scale.load import Load, percentile
from tests.scale.services import empty_redis_db, plenty_of_stock, throwaway_database

TARGET = 1.8
DATABASES = ("postgres", "redis-server")
CLEAR = ("GRACE_PROFILE", "DATABASE_URL", "GRACE_DATABASE_URL", "GRACE_TRACKER_DATABASE_URL", "REDIS_URL",
         "GRACE_DEDUPE_DATABASE_URL", "GRACE_RASA_TOKEN")


def pin(pid: int, core: int) -> None:
    """Every thread of the process (Rasa starts TensorFlow's and its executors' threads) and of its
    children, now and those they start later, to one core."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(core), str(pid)], check=True, stdout=subprocess.DEVNULL)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        pin(int(child), core)


PROBE = "import json\nd = {'fabric': 'ankara', 'yards': [6, 12]}\nfor _ in range(400_000): json.loads(json.dumps(d))"


def probe_rate(cores: tuple[int, ...]) -> float:
    """Pure-CPU jobs a second the machine does with one job pinned to each of `cores`, all at once."""
    started = time.monotonic()
    jobs = [subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", PROBE]) for core in cores]
    for job in jobs:
        job.wait(timeout=300)
    return len(cores) / (time.monotonic() - started)


def machine_ratio(one_first: bool) -> float:
    """The machine's two cores against one, right now: the probe on one core and on two, in that order or not."""
    order = [(0,), (0, 1)] if one_first else [(0, 1), (0,)]
    rates = {len(cores): probe_rate(cores) for cores in order}
    return rates[2] / rates[1]


def busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (every core; /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def seconds_by_command(commands: tuple[str, ...]) -> dict[int, float]:
    """CPU time so far of every process whose command is one of `commands` (PostgreSQL's backends, Redis)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in commands:
                found[int(entry.name)] = process_seconds([int(entry.name)])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # it ended meanwhile
    return found


def used_since(before: dict[int, float], commands: tuple[str, ...]) -> float:
    """CPU time those processes used since `before` (a backend that started meanwhile counts from zero)."""
    return sum(now - before.get(pid, 0.0) for pid, now in seconds_by_command(commands).items())


async def one_round(bases: list[str], conversations: int, concurrency: int, label: str) -> tuple[float, float, int]:
    """(turns/s, p99 s, unanswered turns) of the scripted conversations spread over `bases`."""
    loads = [Load(base, concurrency=max(1, concurrency // len(bases))) for base in bases]
    senders = [f"+2349{label}{i:05d}" for i in range(conversations)]
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(load.run(senders[n::len(bases)]) for n, load in enumerate(loads)))
    elapsed = asyncio.get_running_loop().time() - started
    latencies = [t for load in loads for t in load.latencies()]
    unanswered = sum(1 for load in loads for turns in load.results.values() for t in turns
                     if t.status != 200 or not t.replies)
    return len(latencies) / elapsed, percentile(latencies, 0.99), unanswered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("GRACE_BENCH_ROUNDS", "5")))
    parser.add_argument("--conversations", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        print("scaling per core: needs two cores; this process may use one")
        return 0
    with scratch("grace-bench-cores-") as root:
        tenants = make_tenants(root)
        plenty_of_stock(tenants)
        for variable in CLEAR:
            os.environ.pop(variable, None)
        os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(root / "var"),
                          GRACE_DEFAULT_TENANT="akanraby")
        with throwaway_database("grace_cores") as database_url, empty_redis_db() as redis_url:
            os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
            cluster = scaled.start(root / "var", free_port(), replicas=2, webhook_port=free_port(),
                                   web_port=free_port())
            try:
                for core, replica in enumerate(cluster.replicas):
                    pin(replica.rasa.pid, core)
                    pin(replica.actions.pid, core)
                bases = [f"http://127.0.0.1:{r.rasa_port}" for r in cluster.replicas]
                pids = [p.pid for r in cluster.replicas for p in (r.rasa, r.actions)]
                print(f"scaling per core: {args.conversations} scripted conversations of 11 turns, "
                      f"{args.concurrency} at once; replica n pinned to core n-1", flush=True)
                asyncio.run(one_round(bases, 4, 4, "0"))  # warm-up: each replica's first turns load lazily
                rates: dict[str, list[float]] = {"one": [], "two": []}
                machine: list[float] = []
                for n in range(1, args.rounds + 1):
                    order = ("one", "two") if n % 2 else ("two", "one")
                    machine.append(machine_ratio(order[0] == "one"))
                    print(f"  round {n} the machine: two cores do {machine[-1]:.2f}x the pure-CPU work of one",
                          flush=True)
                    for setup in order:
                        targets = bases[:1] if setup == "one" else bases
                        busy, servers, started = busy_seconds(), process_seconds(pids), time.monotonic()
                        databases, load = seconds_by_command(DATABASES), time.process_time()
                        rate, p99, unanswered = asyncio.run(one_round(
                            targets, args.conversations, args.concurrency, f"{n}{len(targets)}"))
                        wall = time.monotonic() - started
                        replicas = (process_seconds(pids) - servers) / wall
                        stores = used_since(databases, DATABASES) / wall
                        load = (time.process_time() - load) / wall
                        other = (busy_seconds() - busy) / wall - replicas - stores - load
                        rates[setup].append(rate)
                        print(f"  round {n} {setup} replica{'s' if setup == 'two' else ' '}: {rate:6.1f} turns/s  "
                              f"p99 {p99 * 1000:6.0f} ms  ({unanswered} unanswered)   replica CPU "
                              f"{replicas / rate * 1000:3.0f} ms a turn   cores busy: replicas {replicas:4.2f}, "
                              f"PostgreSQL+Redis {stores:4.2f}, load {load:4.2f}, else {other:4.2f}",
                              flush=True)
                ratios = [t / o for t, o in zip(rates["two"], rates["one"], strict=True)]
                print(f"  one replica  {spread(rates['one'])} turns/s")
                print(f"  two replicas {spread(rates['two'])} turns/s")
                median = statistics.median(ratios)
                print(f"  {'MET' if median >= TARGET else 'MISSED'}: two / one {spread(ratios)}x (target >= {TARGET}x)")
                shares = [g / m for g, m in zip(ratios, machine, strict=True)]
                print(f"  the machine's own two cores / one, in the same rounds: {spread(machine)}x; Grace's "
                      f"ratio over the machine's, per round: {spread(shares)}")
                for n, replica in enumerate(cluster.replicas, start=1):
                    print(f"  memory of replica {n}: rasa {rss_mb(replica.rasa.pid):.0f} MB + action server "
                          f"{rss_mb(replica.actions.pid):.0f} MB")
            finally:
                scaled.stop(cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
