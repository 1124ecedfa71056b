"""How long reading one message's entities takes against a 500-fabric catalog (target p50 < 5 ms).

Builds a tenant with a generated 500-fabric catalog in a temporary folder, then times
grace.understanding.extract() on a few hundred realistic messages (full and partial names,
misspellings, skus, budgets, quantities, option numbers, codes, order references, chit-chat,
long messages) over several rounds that alternate the messages' order (forwards, backwards),
after one warm-up round. Prints each round and the median of the rounds' p50 and p95.

    .venv/bin/python -m tests.bench.understanding [--rounds 6] [--messages 300]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tests.helpers import ROOT

CATALOG_SIZE = 500
TARGET_P50_MS = 5.0

FIRST = ("Marigold Lagos Sunday Royal Golden Coral Peacock Hibiscus Jacaranda Ashanti Volta Eko Abeokuta Kano Ibadan "
         "Owambe Midnight Emerald Sapphire Ruby Ivory Champagne Harmattan Savanna Baobab Kilimanjaro Zuri Amani "
         "Bahati Pendo Simba Tembo Twiga Ndovu Kente Sankofa Adinkra Oyoko Nkrumah Akwaaba Sahara Niger Benue Osun "
         "Yemoja Oshun Ogun Shango Orisha Queen Mother Chief Oba Ada Nneka Chioma Aba Onitsha Calabar Jos Enugu "
         "Makeni Kumasi Tamale Bolga Kisumu Malindi Lamu Mombasa Tsavo Diani").split()
SECOND = ("Bloom Sunset Best Parade Grid Feathers Day Ready Reef Fields River Moon Ripple Batik Gold Weave Whisper "
          "Sequin Party Crown Wedding Dignity Court Heritage Dream Breeze Jubilee Glory Pride Rally Nights Dawn Rain "
          "Market Garden Palace Spirit Story Song Dance Drum Festival Harvest Blossom Lagoon Star Waves Sands "
          "Stripes Splash").split()
CATEGORIES = ("ankara", "lace", "kente", "adire", "aso-oke", "george", "voile", "brocade", "kitenge", "kanga")
COLOURS = ("red", "blue", "green", "yellow", "gold", "silver", "purple", "pink", "orange", "black", "white", "wine",
           "royal blue", "sky blue", "emerald green", "cream", "coral", "teal", "brown", "indigo")
PATTERNS = ("floral", "geometric", "abstract", "stripes", "polka dots", "chevron", "tie-dye", "beaded",
            "embroidered", "plain", "paisley", "animal print")
CHAT = [
    "good morning", "hello, are you open on sunday?", "how much is delivery to lagos?", "thank you so much",
    "I have sent the money, here is my proof", "what is your account number?", "do you deliver to Abuja?",
    "can I pick up from your shop tomorrow?", "ok", "abeg wetin be the price", "is the price negotiable?",
    "my sister recommended you, she said your fabrics are the best", "I want something classy for church",
    "what's your return policy?", "are you a robot?", "🙏🏾🙏🏾", "yes please", "no thanks, maybe later",
    "I need fabric for my traditional wedding in December, about 200 guests, the family wants something royal "
    "and bright, my mother prefers lace but my fiance's family likes aso oke, what would you suggest for us?",
]


def write_catalog(path: Path, rng: random.Random) -> list[tuple[str, str]]:
    """A 500-fabric catalog of unique two-word names; returns (sku, name) for each."""
    pairs = [(a, b) for a in FIRST for b in SECOND]
    rng.shuffle(pairs)
    fabrics = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "colors", "pattern", "price", "unit", "min_qty", "stock",
                         "image_url", "description"])
        for i, (a, b) in enumerate(pairs[:CATALOG_SIZE], start=1):
            category = CATEGORIES[i % len(CATEGORIES)]
            sku = f"{category[:2].upper()}-{i:03d}"
            name = f"{a} {b}"
            writer.writerow([sku, name, category, ";".join(rng.sample(COLOURS, 3)), rng.choice(PATTERNS),
                             3000 + 500 * rng.randint(0, 40), "yard", 6, rng.choice([0, 12, 40, 200]),
                             f"{sku.lower()}.jpg", f"{name} {category}"])
            fabrics.append((sku, name))
    return fabrics


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(2, len(word) - 1)
    return word[:i] + word[i + 1:]  # one letter dropped


def messages(fabrics: list[tuple[str, str]], count: int, rng: random.Random) -> list[str]:
    def fabric() -> tuple[str, str]:
        return rng.choice(fabrics)

    templates = [
        lambda: f"do you have {fabric()[1]}?",
        lambda: f"{fabric()[1].lower()} {rng.randint(2, 20)} yards please",
        lambda: f"I want the {fabric()[1].split()[0].lower()} one",
        lambda: f"how much is {' '.join(typo(w, rng) for w in fabric()[1].lower().split())}",
        lambda: f"{fabric()[0]} and {fabric()[0].lower().replace('-', '')}, {rng.randint(6, 12)}yds each",
        lambda: f"{rng.choice(COLOURS)} {rng.choice(CATEGORIES)} under {rng.randint(3, 50)}k",
        lambda: f"any {rng.choice(PATTERNS)} {rng.choice(CATEGORIES)} below ₦{rng.randint(2, 9)},500 a yard?",
        lambda: f"number {rng.randint(1, 5)} and {rng.randint(1, 5)}, {rng.randint(6, 20)} yards each",
        lambda: f"give me {rng.randint(2, 30)} of the {rng.choice(['first', 'second', 'third', 'last'])} one",
        lambda: f"where is my order AKA-{''.join(rng.choices('ABCDEFGHJKMNPQRSTUVWXYZ23456789', k=5))}",
        lambda: f"can I use code {rng.choice(['OWAMBE10', 'detty2025', 'SALE20', 'owambe 10'])}?",
        lambda: rng.choice(CHAT),
        lambda: rng.choice(CHAT),
        lambda: f"hi, {rng.choice(CHAT)} also do you have {fabric()[1]} in {rng.choice(COLOURS)}? my budget is "
                f"{rng.randint(10, 90)}k and I need {rng.randint(6, 24)} yards for aso ebi",
    ]
    return [rng.choice(templates)() for _ in range(count)]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()

    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        tenants = Path(tmp) / "tenants"
        shutil.copytree(ROOT / "tenants" / "akanraby", tenants / "bigshop")
        fabrics = write_catalog(tenants / "bigshop" / "catalog.csv", rng)
        os.environ["GRACE_TENANTS_DIR"] = str(tenants)
        os.environ["GRACE_DEFAULT_TENANT"] = "bigshop"

        from grace.tenancy.registry import get_registry
        from grace.understanding import extract, index_for

        tenant = get_registry().get("bigshop")
        assert len(tenant.catalog.fabrics) == CATALOG_SIZE, len(tenant.catalog.fabrics)
        started = time.perf_counter()
        index_for(tenant)
        print(f"catalog: {CATALOG_SIZE} fabrics; index built in {(time.perf_counter() - started) * 1000:.1f} ms "
              f"(once per version of the tenant's files)")

        texts = messages(fabrics, args.messages, rng)
        found = [extract(tenant, text) for text in texts]  # warm-up round, also a sanity check
        fabrics_found = sum(1 for entities in found for e in entities if e.entity == "fabric")
        print(f"messages: {len(texts)} ({sum(map(len, texts)) / len(texts):.0f} characters on average); "
              f"{sum(map(len, found))} entities, {fabrics_found} of them fabrics")

        p50s, p95s = [], []
        for round_no in range(1, args.rounds + 1):
            order = texts if round_no % 2 else texts[::-1]
            times = []
            for text in order:
                started_ns = time.perf_counter_ns()
                extract(tenant, text)
                times.append((time.perf_counter_ns() - started_ns) / 1e6)
            p50, p95 = statistics.median(times), percentile(times, 95)
            p50s.append(p50)
            p95s.append(p95)
            print(f"round {round_no} ({'forwards' if round_no % 2 else 'backwards'}): p50 {p50:.3f} ms  "
                  f"p95 {p95:.3f} ms  max {max(times):.3f} ms  mean {statistics.fmean(times):.3f} ms")
        p50, p95 = statistics.median(p50s), statistics.median(p95s)
        verdict = "meets" if p50 < TARGET_P50_MS else "MISSES"
        print(f"median of {args.rounds} rounds: p50 {p50:.3f} ms  p95 {p95:.3f} ms per message "
              f"({verdict} the target p50 < {TARGET_P50_MS:g} ms)")


if __name__ == "__main__":
    main()
