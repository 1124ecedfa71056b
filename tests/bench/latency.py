"""`make bench`: REST turn latency (Rasa + action server + store) and server memory.

Prints p50/p99 at 1 and 16 concurrent conversations and the RSS of each server,
WhatsApp (Twilio) webhook ack latency and inbound-to-reply latency with 50
concurrent conversations against a local Twilio API,
beside the same measurement of a bare `rasa init` bot trained in a temporary
folder in this run, and the ratio of Grace's p50 to the bare bot's (target <= 1.5).
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import aiohttp
import requests

from grace.run import local
from tests.fakes.twilio_api import FakeTwilio, Reply, twilio_form, twilio_signature
from tests.helpers import free_port, make_tenants

TURNS = ["hello", "show me red ankara", "how much", "are you open on saturday?", "number 1, 12 yards", "no"]
CONCURRENCY = (1, 16)
WHATSAPP_CONVERSATIONS = 50
WHATSAPP_TURNS = ["hello", "are you open on saturday?", "what is your return policy", "how much is lace",
                  "do you deliver to Abuja?"]
PUBLIC_URL = "https://grace.bench.test"
BUSINESS_NUMBER = "+2349010000001"
RASA = str(Path(sys.executable).parent / "rasa")


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

    def line(self, label: str) -> str:
        return (f"{label:<6} concurrency {self.concurrency:>2}: turns {len(self.turns):>4}  p50 {self.p50:7.1f} ms  "
                f"p99 {self.p99:7.1f} ms  throughput {len(self.turns) / self.elapsed:6.1f} turns/s")


def conversation(base: str, sender: str) -> list[float]:
    timings = []
    for text in TURNS:
        start = time.perf_counter()
        answer = requests.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                               timeout=120)
        answer.raise_for_status()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def measure(base: str, label: str) -> list[Result]:
    conversation(base, f"{label}-warmup")
    results = []
    for concurrency in CONCURRENCY:
        senders = [f"{label}-{concurrency}-{i}" for i in range(max(4, concurrency * 2))]
        with ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            timings = list(pool.map(lambda sender: conversation(base, sender), senders))
            elapsed = time.perf_counter() - started
        results.append(Result(concurrency, [t for r in timings for t in r], elapsed))
        print(results[-1].line(label), flush=True)
    return results


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class WaitingTwilio(FakeTwilio):
    """The local Twilio API, plus GET /_wait/<to>/<n>: answers once <to> has n messages (long poll)."""

    def _dispatch(self, method, path, headers, body):  # noqa: ANN001, ANN201
        if method == "GET" and path.startswith("/_wait/"):
            to, count = unquote(path[len("/_wait/"):]).rsplit("/", 1)
            ok = self.wait_for_count(to, int(count), timeout=120)
            return Reply.json(200 if ok else 504, {"count": self.count_to(to)})
        return super()._dispatch(method, path, headers, body)


def serve_twilio(ready: multiprocessing.Queue) -> None:
    """The fake runs in a process of its own, so its threads never delay the client's measurements."""
    fake = WaitingTwilio().start()
    ready.put((fake.base_url, fake.account_sid, fake.auth_token))
    signal.pause()


async def whatsapp_conversation(http: aiohttp.ClientSession, base: str, twilio: str, customer: str,
                                account: tuple[str, str]) -> list[tuple[float, float]]:
    """(ack ms, inbound-to-first-reply ms) for each turn of one WhatsApp conversation."""
    # Conversations start spread over the first second, as customers do (a burst of 50 first
    # messages in the same millisecond measures queueing of the burst, not the ack).
    await asyncio.sleep(random.random())
    timings = []
    url = f"{base}/webhooks/whatsapp/webhook"
    to = quote(f"whatsapp:{customer}")
    for turn, text in enumerate(WHATSAPP_TURNS):
        form = twilio_form(to=BUSINESS_NUMBER, from_=customer, body=text, account_sid=account[0])
        signature = twilio_signature(f"{PUBLIC_URL}/webhooks/whatsapp/webhook", form, account[1])
        before = 0 if turn == 0 else (await (await http.get(f"{twilio}/_wait/{to}/0")).json())["count"]
        start = time.perf_counter()
        async with http.post(url, data=form, headers={"X-Twilio-Signature": signature}) as answer:
            answer.raise_for_status()
            await answer.read()
        acked = time.perf_counter()
        async with http.get(f"{twilio}/_wait/{to}/{before + 1}") as replied:
            replied.raise_for_status()
        timings.append(((acked - start) * 1000, (time.perf_counter() - start) * 1000))
    return timings


async def whatsapp_load(base: str, twilio: str, account: tuple[str, str]) -> list[list[tuple[float, float]]]:
    """50 customers at once from one thread (threads would queue on this process's GIL and
    inflate the very latency measured)."""
    customers = [f"+23481{i:08d}" for i in range(WHATSAPP_CONVERSATIONS)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=180), connector=connector) as http:
        return await asyncio.gather(*(whatsapp_conversation(http, base, twilio, c, account) for c in customers))


def measure_whatsapp(base: str, twilio: str, account: tuple[str, str]) -> None:
    results = asyncio.run(whatsapp_load(base, twilio, account))
    acks = [a for r in results for a, _ in r]
    ends = [e for r in results for _, e in r]
    print(f"whatsapp through the webhook gateway, {WHATSAPP_CONVERSATIONS} concurrent conversations:")
    print(f"  webhook ack             p50 {statistics.median(acks):7.1f} ms  p99 {percentile(acks, 99):7.1f} ms"
          "  (target p99 < 50 ms)")
    print(f"  inbound → first reply   p50 {statistics.median(ends):7.1f} ms  p99 {percentile(ends, 99):7.1f} ms")


def bench_grace(root: Path) -> list[Result]:
    ready: multiprocessing.Queue = multiprocessing.Queue()
    twilio = multiprocessing.Process(target=serve_twilio, args=(ready,), daemon=True)
    twilio.start()
    twilio_url, sid, token = ready.get(timeout=30)
    os.environ.update(GRACE_TENANTS_DIR=str(make_tenants(root)), GRACE_VAR_DIR=str(root / "var"),
                      TWILIO_ACCOUNT_SID=sid, TWILIO_AUTH_TOKEN=token,
                      TWILIO_API_BASE_URL=twilio_url, GRACE_PUBLIC_URL=PUBLIC_URL)
    rasa_port, actions_port, webhook_port = free_port(), free_port(), free_port()
    processes = local.start(root / "var", rasa_port, actions_port, webhook_port=webhook_port, web_port=free_port())
    try:
        results = measure(f"http://127.0.0.1:{rasa_port}", "grace")
        measure_whatsapp(f"http://127.0.0.1:{webhook_port}", twilio_url, (sid, token))
        actions, rasa = processes[:2]
        print(f"grace  RSS: rasa {rss_mb(rasa.pid):.0f} MB, action server {rss_mb(actions.pid):.0f} MB")
    finally:
        local.stop(processes)
        twilio.terminate()
    return results


def bench_bare_bot(root: Path) -> list[Result]:
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
    try:
        if not local.wait_until_up(f"http://127.0.0.1:{port}/webhooks/rest/", process, 240):
            raise RuntimeError(f"the bare bot did not start; see {root / 'bare-rasa.log'}")
        results = measure(f"http://127.0.0.1:{port}", "bare")
        print(f"bare   RSS: rasa {rss_mb(process.pid):.0f} MB")
    finally:
        local.stop([process])
    return results


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="grace-bench-"))
    grace = bench_grace(root)
    bare = bench_bare_bot(root)
    print("\np50 ratio grace / bare bot (target <= 1.5):")
    for mine, theirs in zip(grace, bare, strict=True):
        print(f"  concurrency {mine.concurrency:>2}: {mine.p50 / theirs.p50:5.2f}x  "
              f"(grace {mine.p50:.0f} ms, bare {theirs.p50:.0f} ms)")
    print()
    # The fallback's numbers in a process of their own (it loads the trained model).
    subprocess.run([sys.executable, "-m", "tests.bench.fallback"], check=True)
    print()
    # Understanding: the time the catalog-aware entities add per message (500 fabrics), and the share of
    # the held-out messages of three businesses that would reach the model (the gate's report).
    subprocess.run([sys.executable, "-m", "tests.bench.understanding"], check=True)
    subprocess.run([sys.executable, "-m", "tests.nlu.gate", "--weighted-f1", "0", "--intent-f1", "0",
                    "--entity-f1", "0", "--out", str(root / "gate.json")], check=True)
    print("  (target: under 10% of held-out messages to the model fallback)")
    print()
    # One process vs two replicas behind the balancer, and memory as tenants grow (PostgreSQL, Redis).
    subprocess.run([sys.executable, "-m", "tests.bench.scaling"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
