"""The model fallback's three numbers, printed beside their targets (measured, never asserted).

1. Share of customer turns in the end-to-end stories (tests/stories/<business>/) that reach the model: each
   story is replayed through the trained model (NLU parses the customer's words, the policies predict
   the next action; the story's own actions and slots are then applied, as the action server would).
   A turn reaches the model when the predicted action is action_grace_fallback or
   action_redirect_offtopic (off-topic chat is answered by the model when one is configured). Target < 10%.
2. Prompt tokens per fallback turn for a tenant with a generated 500-fabric catalog, with a full recent
   history. No tokenizer is installed, so two estimates: words x 4/3 and characters / 4 (plus 4
   tokens per message for the chat format); the larger is held against the target of 2,000.
3. Time action_grace_fallback adds beyond the model's own latency: the real action (tenant, retrieval
   over 500 fabrics, prompt, HTTP call, grounding check, log row in a SQLite store) against the local
   OpenAI fake answering after a fixed delay, against the model's own round trip: the same prompt posted
   to the same server by a bare HTTP client (the fake's own HTTP handling and delay, which a real model's
   latency includes too). Target < 20 ms. The fake runs in a process of its own, as a model server
   would: in this one, its reading of each request would be counted as Grace's time and hold the
   action's threads back. ROUNDS rounds, alternating the action and the bare client (A B, then B A),
   every round printed, the median round judged (a shared machine drifts within minutes).

    .venv/bin/python -m tests.bench.fallback [--model models/grace.tar.gz] [--skip-model]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from tests.bench.latency import percentile, spread
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import ROOT, make_tenants
from tests.nlu.gate import quiet_rasa

MODEL_ACTIONS = ("action_grace_fallback", "action_redirect_offtopic")
CATALOG_SIZE = 500
MODEL_DELAY_S = 0.2
RUNS = 40
ROUNDS = int(os.environ.get("GRACE_BENCH_ROUNDS", "5"))
API_KEY = "sk-bench-grace"
ANSWER = "Lovely choice! Shall I show you some of our lace? 😊"
FALLBACK_MESSAGES = [
    "which beaded lace would suit my mum's 60th birthday party?",
    "abeg wetin I fit wear for my sister wedding, e go dey for Ibadan next month",
    "I want something red and gold for my traditional wedding, what do you recommend",
    "my tailor said I need more yards for a mermaid gown with long sleeves, is that true?",
    "which account I go pay the deposit into",
    "do you have anything similar to the blue one my friend bought last Christmas",
    "is george better than aso-oke for a chieftaincy title ceremony?",
    "hmm",
]
HISTORY = [
    ("customer", "good evening, I need lace for my wedding"),
    ("grace", "Congratulations on your wedding! 💍 Here are some laces: 1. Royal Ivory beaded lace, ₦45,000 per "
              "piece (5 yards). 2. Champagne Cord lace, ₦38,000 per piece. 3. Wine Sequin lace, ₦52,000 per piece. "
              "4. Emerald French lace, ₦41,000 per piece. 5. Rose Gold Net lace, ₦36,000 per piece. Reply with a "
              "number and how many pieces, or tell me a colour."),
    ("customer", "the ivory one is fine but I want to see more colours"),
    ("grace", "Of course! Here are more: 1. Peach Dream lace, ₦39,000. 2. Silver Stone lace, ₦47,000. 3. Coral "
              "Bloom lace, ₦35,000. Which one catches your eye? 😊"),
    ("customer", "ok let me think about it"),
    ("grace", "Take your time 🤗 I'm here when you're ready. Shall I hold the Royal Ivory for you?"),
]
COLOURS = ["red", "gold", "royal blue", "emerald", "wine", "peach", "ivory", "black", "white", "orange", "purple",
           "coral", "silver", "teal", "lilac", "mustard", "brown", "pink", "green", "navy"]
KINDS = [("ankara", "yard", 6, 4500), ("lace", "piece", 1, 38000), ("adire", "yard", 6, 6000),
         ("aso-oke", "bundle", 1, 60000), ("george", "piece", 1, 52000), ("kente", "yard", 2, 15000)]
PATTERNS = ["floral", "geometric", "abstract", "striped", "beaded", "sequined", "tie-dye", "plain", "embroidered"]
WORDS = ["Bloom", "Sunset", "Royal", "Dream", "Heritage", "Harmattan", "Owambe", "Palace", "River", "Market",
         "Crown", "Festival", "Lagoon", "Savannah", "Jewel", "Grace", "Velvet", "Amber", "Indigo", "Pearl"]


def write_catalog(path: Path, size: int = CATALOG_SIZE) -> None:
    """A deterministic catalog of `size` fabrics in the tenant catalog format."""
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "colors", "pattern", "price", "unit", "min_qty", "stock",
                         "image_url", "description"])
        for i in range(1, size + 1):
            kind, unit, min_qty, price = KINDS[i % len(KINDS)]
            colours = rng.sample(COLOURS, 3)
            pattern = rng.choice(PATTERNS)
            occasion = rng.choice(["weddings", "church", "owambe", "office", "birthdays"])
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
            writer.writerow([f"GN-{i:04d}", name, kind, ";".join(colours), pattern, price + 500 * rng.randint(0, 20),
                             unit, min_qty, rng.choice([0, 12, 40, 200]), f"gn-{i:04d}.jpg",
                             f"{pattern.capitalize()} {kind} in {colours[0]} and {colours[1]} with {colours[2]} "
                             f"accents, lovely for {occasion}"])


# --- 1. turns that reach the model -------------------------------------------------------------------

@dataclass
class Replay:
    turns: int = 0
    as_in_story: int = 0  # turns whose predicted action is the story's: the replay follows the tests
    reached: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODEL_ACTIONS, 0))
    texts: list[str] = field(default_factory=list)


def replay_in_child(model: Path) -> Replay:
    """Loading the Rasa model makes this process slower for everything after it (TensorFlow's threads,
    a far bigger heap for the garbage collector): it runs in a process of its own, like Rasa does."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(replay_sync, model).result()


def replay_sync(model: Path) -> Replay:
    return asyncio.run(replay_stories(model))


async def replay_stories(model: Path) -> Replay:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    agent = Agent.load(str(model))
    quiet_rasa()
    processor, domain = agent.processor, agent.domain
    replay = Replay()
    for path in sorted((ROOT / "tests" / "stories").glob("*/test_*.yml")):
        business = path.parent.name  # each folder's stories are that business's customers
        for story in YAMLStoryReader(domain).read_from_file(str(path)):
            sender = f"{business}:bench:{story.block_name}"
            tracker = DialogueStateTracker.from_events(
                sender, [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(),
                         ActionExecuted(ACTION_LISTEN_NAME)], slots=domain.slots)
            predicted = None
            for event in story.events:
                if not isinstance(event, UserUttered) or not event.text:
                    if predicted and isinstance(event, ActionExecuted):
                        replay.as_in_story += event.action_name == predicted
                        predicted = None
                    # the story's actions and slots (as the action server sets them), and ops' external events
                    tracker.update(event, domain)
                    continue
                if tracker.latest_action_name != ACTION_LISTEN_NAME:
                    tracker.update(ActionExecuted(ACTION_LISTEN_NAME), domain)
                parsed = await processor.parse_message(
                    UserMessage(event.text, sender_id=sender, metadata={"tenant": business}), tracker)
                tracker.update(UserUttered(event.text, parsed["intent"], parsed["entities"], parse_data=parsed),
                               domain)
                scores = processor.predict_next_with_tracker(tracker)["scores"]
                predicted = max(scores, key=lambda s: s["score"])["action"]
                replay.turns += 1
                if predicted in replay.reached:
                    replay.reached[predicted] += 1
                    replay.texts.append(f"{predicted}: {event.text.strip()}")
    return replay


# --- 2. prompt tokens --------------------------------------------------------------------------------

def estimates(messages: list[dict]) -> tuple[int, int]:
    """(words x 4/3, characters / 4), each plus 4 tokens per message for the chat format."""
    contents = [str(m["content"]) for m in messages]
    overhead = 4 * len(messages)
    return (round(sum(len(c.split()) for c in contents) * 4 / 3) + overhead,
            round(sum(len(c) for c in contents) / 4) + overhead)


def prompt_tokens() -> list[tuple[str, int, int]]:
    from grace.llm.prompt import Context, build_messages
    from grace.tenancy.registry import get_registry

    tenant = get_registry().get("akanraby")
    if len(tenant.catalog.fabrics) != CATALOG_SIZE:
        raise RuntimeError(f"the generated catalog has {len(tenant.catalog.fabrics)} fabrics")
    context = Context(stage="browsing", selection=[{"sku": "GN-0001", "qty": 6}], history=HISTORY)
    return [(text, *estimates(build_messages(tenant, text, context))) for text in FALLBACK_MESSAGES]


# --- 3. time added beyond the model ------------------------------------------------------------------

async def fallback_times(runs: int) -> list[float]:
    """The action's wall time per turn (ms), model included."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.support import ActionGraceFallback

    history = [{"event": "user" if who == "customer" else "bot", "text": said} for who, said in HISTORY]
    overheads = []
    for i in range(runs + 3):  # the first calls open connections and fill caches
        text = FALLBACK_MESSAGES[i % len(FALLBACK_MESSAGES)]
        latest = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": [],
                  "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3}]}
        events = history + [{"event": "user", "text": text, "metadata": {}, "parse_data": latest}]
        # A customer each: one conversation gets at most GRACE_MAX_MODEL_ANSWERS_PER_DAY model answers
        tracker = Tracker(f"akanraby:+23480000{i:05d}", {"funnel_stage": "browsing"}, latest, events, False, None,
                          {}, "action_listen")
        dispatcher = CollectingDispatcher()
        started = time.perf_counter()
        await ActionGraceFallback().run(dispatcher, tracker, {})
        elapsed = time.perf_counter() - started
        if ANSWER not in (dispatcher.messages[0].get("text") or ""):
            raise RuntimeError(f"the model did not answer: {dispatcher.messages}")  # measured the wrong path
        if i >= 3:
            overheads.append(elapsed * 1000)
    return overheads


def round_trips(base_url: str, runs: int) -> list[float]:
    """The model's own round trip (ms): the prompt Grace sends, posted by a bare HTTP client on a kept-alive
    connection, as the model's latency is seen from outside it."""
    import httpx

    from grace.llm.prompt import Context, build_messages
    from grace.tenancy.registry import get_registry

    tenant = get_registry().get("akanraby")
    times = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5) as client:
        for i in range(runs + 3):
            text = FALLBACK_MESSAGES[i % len(FALLBACK_MESSAGES)]
            messages = build_messages(tenant, text, Context(stage="browsing", selection=[], history=HISTORY))
            started = time.perf_counter()
            client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": messages}).raise_for_status()
            if i >= 3:
                times.append((time.perf_counter() - started) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grace.tar.gz")
    parser.add_argument("--skip-model", action="store_true", help="leave out number 1 (needs the trained model)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    quiet_rasa()
    print("Model fallback")
    if args.skip_model or not args.model.exists():
        print("  turns reaching the model: skipped (no trained model)")
    else:
        with tempfile.TemporaryDirectory() as folder:  # the stories' businesses, for their entities
            os.environ["GRACE_TENANTS_DIR"] = str(make_tenants(Path(folder)))
            replay = replay_in_child(args.model)
        reached = sum(replay.reached.values())
        print(f"  turns reaching the model in the end-to-end stories: {reached} of {replay.turns} = "
              f"{reached / max(1, replay.turns):.1%} (target < 10%; "
              + ", ".join(f"{a} {n}" for a, n in replay.reached.items())
              + f"; next action as in the stories for {replay.as_in_story} of {replay.turns})")
        for line in replay.texts:
            print(f"    {line}")
    with tempfile.TemporaryDirectory() as folder, model_in_child() as base_url:
        tenants = make_tenants(Path(folder))
        write_catalog(tenants / "akanraby" / "catalog.csv")
        os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(Path(folder) / "var"),
                          GRACE_DATABASE_URL=f"sqlite:///{Path(folder) / 'var' / 'grace.db'}",
                          OPENAI_BASE_URL=f"{base_url}/v1", OPENAI_API_KEY=API_KEY, GRACE_LLM_TIMEOUT_S="5")
        tokens = prompt_tokens()
        worst = max(max(w, c) for _, w, c in tokens)
        print(f"  prompt tokens per fallback turn, {CATALOG_SIZE}-fabric catalog, 6 turns of history: max {worst}, "
              f"mean {statistics.mean(max(w, c) for _, w, c in tokens):.0f} (target < 2,000; larger of words x 4/3 "
              f"and characters / 4, no tokenizer installed)")
        for text, by_words, by_chars in tokens:
            print(f"    {by_words:>5} / {by_chars:>5}  {text}")
        print(f"  time the fallback adds beyond the model's own round trip ({MODEL_DELAY_S * 1000:.0f} ms model in its "
              f"own process, {ROUNDS} rounds of {RUNS} turns each, alternating):")
        sides = {"action": lambda: asyncio.run(fallback_times(RUNS)), "bare": lambda: round_trips(base_url, RUNS)}
        added, p95s = [], []
        for run in range(1, ROUNDS + 1):
            order = ("action", "bare") if run % 2 else ("bare", "action")
            times = {side: sides[side]() for side in order}
            action, bare = statistics.median(times["action"]), statistics.median(times["bare"])
            added.append(action - bare)
            p95s.append(percentile(times["action"], 95) - bare)
            print(f"    round {run}: the action p50 {action:.1f} ms, the model's round trip p50 {bare:.1f} ms: "
                  f"added p50 {added[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms", flush=True)
        verdict = "MET" if statistics.median(added) < 20 else "MISSED"
        print(f"  {verdict}: added p50 {spread(added)} ms, p95 median {statistics.median(p95s):.1f} ms "
              f"(target p50 < 20 ms)")
    return 0


def _serve_model(ready: Connection, stop: Connection) -> None:
    with FakeOpenAI(API_KEY) as fake:
        fake.default_answer, fake.default_delay = ANSWER, MODEL_DELAY_S
        ready.send(fake.base_url)
        stop.recv()


@contextmanager
def model_in_child() -> Iterator[str]:
    """The local model, answering every request with ANSWER after MODEL_DELAY_S, in a process of its own."""
    context = multiprocessing.get_context("spawn")
    ready_in, ready_out = context.Pipe(duplex=False)
    stop_in, stop_out = context.Pipe(duplex=False)
    child = context.Process(target=_serve_model, args=(ready_out, stop_in), daemon=True)
    child.start()
    try:
        if not ready_in.poll(60):
            raise RuntimeError("the model server did not start")
        yield ready_in.recv()
    finally:
        stop_out.send(None)
        child.join(10)
        if child.is_alive():
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
