"""`make bench`: REST turn latency of Grace against a bare `rasa init` bot, and the WhatsApp webhook.

Both bots run at once (the bare one trained in a temporary folder in this run) and are measured in
turns, A B then B A, for ROUNDS rounds: a shared machine's speed drifts over minutes, and both see the
same drift. Every round is printed; the targets are judged on the median round:
- Grace's p50 at most 1.3x the bare bot's, at 1 and at 16 concurrent conversations (the ratio of the
  same round, then its median over the rounds);
- the WhatsApp webhook's ack p99 under 50 ms with 50 concurrent conversations through the gateway,
  against a local Twilio API, with the time from each inbound message to its own first reply.
Each percentile comes from at least 200 turns.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import aiohttp
import requests

from grace.messaging.inbox import pending_since
from grace.run import local
from tests.bench import process_seconds
from tests.fakes import twilio_api
from tests.fakes.twilio_api import FakeTwilio, Reply, twilio_form, twilio_signature
from tests.fakes.webhooks import CallbackSender
from tests.helpers import free_port, make_tenants

ROUNDS = int(os.environ.get("GRACE_BENCH_ROUNDS", "5"))
TURNS = ["hello", "show me red ankara", "how much", "are you open on saturday?", "number 1, 12 yards", "no"]
# (concurrent conversations, conversations): at least 200 turns each, so a p99 means something.
LOADS = ((1, 34), (16, 48))
TURN_RATIO_TARGET = 1.3
WHATSAPP_CONVERSATIONS = 50
WHATSAPP_TURNS = ["hello", "are you open on saturday?", "what is your return policy", "how much is lace",
                  "do you deliver to Abuja?"]
ACK_P99_TARGET_MS = 50
PUBLIC_URL = "https://grace.bench.test"
BUSINESS_NUMBER = "+2349010000001"
RASA = str(Path(sys.executable).parent / "rasa")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


@dataclass
class Result:
    concurrency: int
    turns: list[float]
    elapsed: float

    @property
    def p50(self) -> float:
        return statistics.median(self.turns)

    @property
    def p99(self) -> float:
        return percentile(self.turns, 99)

    @property
    def throughput(self) -> float:
        return len(self.turns) / self.elapsed

    def line(self, label: str) -> str:
        return (f"{label:<6} {self.concurrency:>2} at once: {len(self.turns):>4} turns  p50 {self.p50:7.1f} ms  "
                f"p99 {self.p99:7.1f} ms  {self.throughput:6.1f} turns/s")


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


# ---- REST turns -----------------------------------------------------------------------------------

def conversation(base: str, sender: str) -> list[float]:
    timings = []
    for text in TURNS:
        start = time.perf_counter()
        answer = requests.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                               timeout=120)
        answer.raise_for_status()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def measure(base: str, label: str, concurrency: int, conversations: int, run: int) -> Result:
    senders = [f"{label}-{run}-{concurrency}-{i}" for i in range(conversations)]
    with ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        timings = list(pool.map(lambda sender: conversation(base, sender), senders))
        elapsed = time.perf_counter() - started
    return Result(concurrency, [t for r in timings for t in r], elapsed)


def alternate(bots: dict[str, str]) -> dict[tuple[str, int], list[Result]]:
    """ROUNDS rounds of every load on every bot, the bots' order flipped each round."""
    results: dict[tuple[str, int], list[Result]] = {}
    for label, base in bots.items():
        conversation(base, f"{label}-warmup")
    for run in range(1, ROUNDS + 1):
        order = list(bots) if run % 2 else list(reversed(bots))
        print(f"round {run} of {ROUNDS}:", flush=True)
        for concurrency, conversations in LOADS:
            for label in order:
                result = measure(bots[label], label, concurrency, conversations, run)
                results.setdefault((label, concurrency), []).append(result)
                print("  " + result.line(label), flush=True)
    return results


def judge_turns(results: dict[tuple[str, int], list[Result]]) -> bool:
    print(f"\nREST turn p50, Grace / bare bot, per round and over {ROUNDS} rounds (target <= {TURN_RATIO_TARGET}x):")
    met = True
    for concurrency, _ in LOADS:
        mine, theirs = results[("grace", concurrency)], results[("bare", concurrency)]
        ratios = [m.p50 / t.p50 for m, t in zip(mine, theirs, strict=True)]
        median = statistics.median(ratios)
        met &= median <= TURN_RATIO_TARGET
        print(f"  {concurrency:>2} at once: ratio {spread(ratios)}   rounds: "
              + " ".join(f"{r:.2f}" for r in ratios))
        print(f"      grace p50 {spread([m.p50 for m in mine])} ms, p99 {spread([m.p99 for m in mine])} ms, "
              f"{spread([m.throughput for m in mine])} turns/s")
        print(f"      bare  p50 {spread([t.p50 for t in theirs])} ms, p99 {spread([t.p99 for t in theirs])} ms, "
              f"{spread([t.throughput for t in theirs])} turns/s")
        print(f"      {'MET' if median <= TURN_RATIO_TARGET else 'MISSED'}: median ratio {median:.2f}x")
    return met


# ---- WhatsApp through the gateway ------------------------------------------------------------------

class WaitingTwilio(FakeTwilio):
    """The local Twilio API, plus GET /_wait/<to>/<n>: answers once <to> has n messages (long poll)."""

    def _dispatch(self, method, path, headers, body):  # noqa: ANN001, ANN201
        if method == "GET" and path.startswith("/_wait/"):
            to, count = unquote(path[len("/_wait/"):]).rsplit("/", 1)
            ok = self.wait_for_count(to, int(count), timeout=120)
            return Reply.json(200 if ok else 504, {"count": self.count_to(to)})
        return super()._dispatch(method, path, headers, body)


def serve_twilio(ready: multiprocessing.Queue, gateway: str) -> None:
    """The fake runs in a process of its own, so its threads never delay the client's measurements. Its status
    callbacks (sent, delivered, read of every reply) reach the gateway, as Twilio's would."""
    # Keep-alive, as Twilio's API has: the fake's HTTP/1.0 (so a test's stop() leaves no sockets) would make
    # the gateway open a connection for every reply it sends, which production never does.
    twilio_api._Handler.protocol_version = "HTTP/1.1"
    fake = WaitingTwilio()
    fake.callbacks.close()
    fake.callbacks = CallbackSender(workers=64)  # enough to keep up with 50 conversations' replies
    fake.callbacks.route(PUBLIC_URL, gateway)
    fake.start()
    ready.put((fake.base_url, fake.account_sid, fake.auth_token))
    signal.pause()


@dataclass
class WhatsApp:
    base: str  # the webhook gateway
    twilio: str
    account: tuple[str, str]

    def inbound(self, customer: str, text: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
        form = twilio_form(to=BUSINESS_NUMBER, from_=customer, body=text, sid=sid, account_sid=self.account[0])
        signature = twilio_signature(f"{PUBLIC_URL}/webhooks/whatsapp/webhook", form, self.account[1])
        return form, {"X-Twilio-Signature": signature}

    async def count(self, http: aiohttp.ClientSession, customer: str, at_least: int) -> int:
        async with http.get(f"{self.twilio}/_wait/{quote(f'whatsapp:{customer}')}/{at_least}") as answer:
            answer.raise_for_status()
            return int((await answer.json())["count"])


async def replies_per_turn(whatsapp: WhatsApp) -> list[int]:
    """How many messages each turn of the script answers with, learnt from one conversation whose every turn
    is waited for until its replies are all out (its pending turn is crossed off the inbox). The load then
    waits for exactly that many before the next turn, so each reply is matched to its own inbound message."""
    customer = "+2348199999999"
    counts, total = [], 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=180)) as http:
        for turn, text in enumerate(WHATSAPP_TURNS):
            sid = f"SM9999{turn:028d}"
            form, headers = whatsapp.inbound(customer, text, sid)
            async with http.post(f"{whatsapp.base}/webhooks/whatsapp/webhook", data=form, headers=headers) as r:
                r.raise_for_status()
            await whatsapp.count(http, customer, total + 1)
            deadline = time.monotonic() + 60
            while await asyncio.to_thread(pending_since, "whatsapp", sid) is not None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the turn {text!r} did not finish within 60 s")
                await asyncio.sleep(0.02)
            now = await whatsapp.count(http, customer, 0)
            counts.append(now - total)
            total = now
    return counts


async def whatsapp_conversation(http: aiohttp.ClientSession, whatsapp: WhatsApp, customer: str, run: int,
                                expected: list[int]) -> list[tuple[float, float]]:
    """(ack ms, inbound-to-its-first-reply ms) for each turn of one WhatsApp conversation."""
    # Conversations start spread over the first second, as customers do (a burst of 50 first
    # messages in the same millisecond measures queueing of the burst, not the ack).
    await asyncio.sleep(random.random())
    timings, before = [], 0
    for turn, text in enumerate(WHATSAPP_TURNS):
        form, headers = whatsapp.inbound(customer, text, f"SM{run:04d}{customer[-8:]}{turn:020d}")
        start = time.perf_counter()
        async with http.post(f"{whatsapp.base}/webhooks/whatsapp/webhook", data=form, headers=headers) as answer:
            answer.raise_for_status()
            await answer.read()
        acked = time.perf_counter()
        await whatsapp.count(http, customer, before + 1)
        replied = time.perf_counter()
        before += expected[turn]
        await whatsapp.count(http, customer, before)  # the rest of this turn's replies, before the next turn
        timings.append(((acked - start) * 1000, (replied - start) * 1000))
    return timings


async def whatsapp_round(whatsapp: WhatsApp, run: int, expected: list[int]) -> tuple[list[float], list[float]]:
    """50 customers at once from one thread (threads would queue on this process's GIL and
    inflate the very latency measured)."""
    customers = [f"+2348{run:02d}{i:07d}" for i in range(WHATSAPP_CONVERSATIONS)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300), connector=connector) as http:
        results = await asyncio.gather(*(whatsapp_conversation(http, whatsapp, c, run, expected) for c in customers))
    return [a for r in results for a, _ in r], [e for r in results for _, e in r]


def bench_whatsapp(whatsapp: WhatsApp, servers: dict[str, int]) -> bool:
    """The ack rounds; `servers`: Grace's processes by name, whose CPU time per turn each round prints (steadier
    than a percentile on a shared machine: it says what a change saved even when the host is slow)."""
    expected = asyncio.run(replies_per_turn(whatsapp))
    print(f"\nWhatsApp through the webhook gateway, {WHATSAPP_CONVERSATIONS} concurrent conversations of "
          f"{len(WHATSAPP_TURNS)} turns (replies per turn: {expected}):", flush=True)
    acks_p99, acks_p50, replies_p50, replies_p99 = [], [], [], []
    cpu: dict[str, list[float]] = {name: [] for name in servers}
    for run in range(1, ROUNDS + 1):
        before = {name: process_seconds([pid]) for name, pid in servers.items()}
        acks, replies = asyncio.run(whatsapp_round(whatsapp, run, expected))
        for name, pid in servers.items():
            cpu[name].append((process_seconds([pid]) - before[name]) * 1000 / len(acks))
        acks_p50.append(statistics.median(acks))
        acks_p99.append(percentile(acks, 99))
        replies_p50.append(statistics.median(replies))
        replies_p99.append(percentile(replies, 99))
        print(f"  round {run}: {len(acks)} messages  ack p50 {acks_p50[-1]:6.1f} ms  p99 {acks_p99[-1]:6.1f} ms   "
              f"inbound → its first reply p50 {replies_p50[-1]:7.1f} ms  p99 {replies_p99[-1]:7.1f} ms", flush=True)
        print("           CPU per turn: " + ", ".join(f"{name} {cpu[name][-1]:.1f} ms" for name in servers), flush=True)
    median = statistics.median(acks_p99)
    print(f"  ack p50 {spread(acks_p50)} ms; ack p99 {spread(acks_p99)} ms; "
          f"inbound → first reply p50 {spread(replies_p50)} ms, p99 {spread(replies_p99)} ms")
    print("  CPU per turn (ms): " + "; ".join(f"{name} {spread(values)}" for name, values in cpu.items()))
    print(f"  {'MET' if median < ACK_P99_TARGET_MS else 'MISSED'}: median ack p99 {median:.1f} ms "
          f"(target < {ACK_P99_TARGET_MS} ms)")
    return median < ACK_P99_TARGET_MS


# ---- the two bots ----------------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_bare_bot(root: Path) -> subprocess.Popen:
    """The baseline: `rasa init` (trained here, now) behind the same REST channel."""
    bot = root / "bare"
    print("training a bare `rasa init` bot for comparison (about 2 minutes)...", flush=True)
    bot.mkdir()
    subprocess.run([RASA, "init", "--no-prompt", "--init-dir", str(bot)], check=True, cwd=root,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    log = open(root / "bare-rasa.log", "ab")
    process = subprocess.Popen([RASA, "run", "-i", "127.0.0.1", "--port", str(port), "--model", "models"],
                               cwd=bot, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.port = port  # type: ignore[attr-defined]
    if not local.wait_until_up(f"http://127.0.0.1:{port}/webhooks/rest/", process, 240):
        local.stop([process])
        raise RuntimeError(f"the bare bot did not start; see {root / 'bare-rasa.log'}")
    return process


def with_grace(root: Path, work: Callable[[str, WhatsApp, list], bool]) -> bool:
    rasa_port, actions_port, webhook_port = free_port(), free_port(), free_port()
    ready: multiprocessing.Queue = multiprocessing.Queue()
    twilio = multiprocessing.Process(target=serve_twilio, args=(ready, f"http://127.0.0.1:{webhook_port}"), daemon=True)
    twilio.start()
    twilio_url, sid, token = ready.get(timeout=30)
    os.environ.update(GRACE_TENANTS_DIR=str(make_tenants(root)), GRACE_VAR_DIR=str(root / "var"),
                      TWILIO_ACCOUNT_SID=sid, TWILIO_AUTH_TOKEN=token,
                      TWILIO_API_BASE_URL=twilio_url, GRACE_PUBLIC_URL=PUBLIC_URL)
    processes = local.start(root / "var", rasa_port, actions_port, webhook_port=webhook_port, web_port=free_port())
    try:
        return work(f"http://127.0.0.1:{rasa_port}",
                    WhatsApp(f"http://127.0.0.1:{webhook_port}", twilio_url, (sid, token)), processes)
    finally:
        local.stop(processes)
        twilio.terminate()


def servers_of(processes: list) -> dict[str, int]:
    """Grace's processes as local.start returns them (actions, rasa, outbox, gateway, ...), by name."""
    actions, rasa, _, gateway = processes[:4]
    return {"gateway": gateway.pid, "rasa": rasa.pid, "action server": actions.pid}


def whatsapp_only() -> int:
    """`python -m tests.bench.latency --whatsapp`: the gateway's rounds alone (a few minutes), to try a change."""
    root = Path(tempfile.mkdtemp(prefix="grace-bench-"))
    met = with_grace(root, lambda _, whatsapp, processes: bench_whatsapp(whatsapp, servers_of(processes)))
    return 0 if met else 1


def main() -> int:
    if sys.argv[1:] == ["--whatsapp"]:
        return whatsapp_only()
    root = Path(tempfile.mkdtemp(prefix="grace-bench-"))
    bare = start_bare_bot(root)

    def work(grace: str, whatsapp: WhatsApp, processes: list) -> bool:
        met = judge_turns(alternate({"grace": grace, "bare": f"http://127.0.0.1:{bare.port}"}))  # type: ignore[attr-defined]
        actions, rasa = processes[:2]
        print(f"\nmemory: grace rasa {rss_mb(rasa.pid):.0f} MB, action server {rss_mb(actions.pid):.0f} MB; "
              f"bare rasa {rss_mb(bare.pid):.0f} MB")
        return bench_whatsapp(whatsapp, servers_of(processes)) and met

    try:
        met = with_grace(root, work)
    finally:
        local.stop([bare])
    print()
    # Scaling per core, the fallback under load, understanding, the gate, memory as tenants grow: each in
    # a process of its own (each starts its own servers).
    for module in ("tests.bench.per_core", "tests.bench.fallback_load", "tests.bench.fallback",
                   "tests.bench.understanding"):
        subprocess.run([sys.executable, "-m", module], check=True)
        print()
    subprocess.run([sys.executable, "-m", "tests.nlu.gate", "--weighted-f1", "0", "--intent-f1", "0",
                    "--entity-f1", "0", "--out", str(root / "gate.json")], check=True)
    print("  (target: under 10% of held-out messages to the model fallback)\n")
    subprocess.run([sys.executable, "-m", "tests.bench.scaling"], check=True)
    print(f"\n{'all latency targets met' if met else 'a latency target was missed'} (judged on medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
