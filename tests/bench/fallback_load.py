"""The model fallback under load (`make bench` runs this): Grace with a local model server that answers in
300 ms, scripted conversations of 10 turns of which one goes to the model (off-topic chat), many at once.

Prints turns/s and p99 of all turns, and the p50/p99 of the turns that do not use the model, in rounds that
alternate the slow model with one that answers at once: a conversation waiting for the model must not slow
the others (target: their p50 within 1.15x of the fast-model rounds', median over the rounds).

    .venv/bin/python -m tests.bench.fallback_load [--rounds 5] [--conversations 40] [--concurrency 16]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys

from grace.run import local
from tests.bench import scratch
from tests.bench.latency import spread
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import free_port, make_tenants
from tests.scale.load import FUNNEL, Load, percentile
from tests.scale.services import plenty_of_stock

MODEL_DELAY_S = 0.3
OFF_TOPIC = ("who do you think will win the champions league this year", None)
# Ten turns: the funnel up to the order, one off-topic question (to the model), then the chat after it.
SCRIPT = [*FUNNEL[:6], OFF_TOPIC, *FUNNEL[7:10]]
MODEL_TURN = SCRIPT.index(OFF_TOPIC)
TARGET = 1.15


async def one_round(base: str, conversations: int, concurrency: int, label: str) -> dict[str, float]:
    load = Load(base, concurrency=concurrency)
    elapsed = await load.run([f"+2347{label}{i:05d}" for i in range(conversations)], script=SCRIPT)
    every = load.latencies()
    others = [t.latency for turns in load.results.values() for n, t in enumerate(turns) if n != MODEL_TURN]
    unanswered = sum(1 for turns in load.results.values() for t in turns if t.status != 200 or not t.replies)
    return {"rate": len(every) / elapsed, "p99": percentile(every, 0.99) * 1000,
            "others_p50": percentile(others, 0.5) * 1000, "others_p99": percentile(others, 0.99) * 1000,
            "unanswered": unanswered}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("GRACE_BENCH_ROUNDS", "5")))
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    with scratch("grace-bench-model-") as root:
        with FakeOpenAI() as model:
            tenants = make_tenants(root)
            plenty_of_stock(tenants)
            for variable in ("GRACE_PROFILE", "DATABASE_URL", "GRACE_DATABASE_URL", "REDIS_URL"):
                os.environ.pop(variable, None)
            os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(root / "var"),
                              OPENAI_BASE_URL=f"{model.base_url}/v1", OPENAI_API_KEY=model.api_key)
            rasa_port = free_port()
            processes = local.start(root / "var", rasa_port, free_port(), webhook_port=free_port(),
                                    web_port=free_port())
            base = f"http://127.0.0.1:{rasa_port}"
            try:
                asyncio.run(one_round(base, 2, 2, "00"))  # warm-up
                print(f"model fallback under load: {args.conversations} conversations of {len(SCRIPT)} turns, "
                      f"{args.concurrency} at once, turn {MODEL_TURN + 1} off-topic (to the model)", flush=True)
                rounds: dict[float, list[dict[str, float]]] = {MODEL_DELAY_S: [], 0.0: []}
                for n in range(1, args.rounds + 1):
                    for delay in ((MODEL_DELAY_S, 0.0) if n % 2 else (0.0, MODEL_DELAY_S)):
                        model.default_delay = delay
                        calls = len(model.requests)
                        label = f"{n}{int(delay * 10)}"
                        result = asyncio.run(one_round(base, args.conversations, args.concurrency, label))
                        result["calls"] = len(model.requests) - calls
                        rounds[delay].append(result)
                        print(f"  round {n} model {delay * 1000:3.0f} ms: {result['rate']:6.1f} turns/s  "
                              f"p99 {result['p99']:6.0f} ms   turns without the model p50 {result['others_p50']:5.0f} "
                              f"ms p99 {result['others_p99']:6.0f} ms   model calls {result['calls']:.0f} of "
                              f"{args.conversations * len(SCRIPT)} turns  ({result['unanswered']:.0f} unanswered)",
                              flush=True)
            finally:
                local.stop(processes)
        slow, fast = rounds[MODEL_DELAY_S], rounds[0.0]
        print(f"  with the {MODEL_DELAY_S * 1000:.0f} ms model: {spread([r['rate'] for r in slow])} turns/s, "
              f"p99 {spread([r['p99'] for r in slow])} ms")
        ratios = [s["others_p50"] / f["others_p50"] for s, f in zip(slow, fast, strict=True)]
        median = statistics.median(ratios)
        print(f"  {'MET' if median <= TARGET else 'MISSED'}: turns without the model, p50 with the slow model / "
              f"with the fast one {spread(ratios)}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
