"""Memory as tenants grow (`make bench` runs this last): RSS of Rasa and the action server once 1, 10 and
100 generated tenants of 200 fabrics each have each answered a turn (tenants are read on first use), next
to the naive design of one model per tenant (one Rasa process each, of the size measured with one tenant:
about 1.1 GB). Throughput per core is tests/bench/per_core.py.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

import requests
import yaml

from grace.run import local
from tests.bench import scratch
from tests.bench.latency import rss_mb
from tests.helpers import free_port, make_tenants

FABRICS_PER_TENANT = 200
TENANT_STEPS = (1, 10, 100)
CLEAR = ("GRACE_PROFILE", "DATABASE_URL", "GRACE_DATABASE_URL", "GRACE_TRACKER_DATABASE_URL", "REDIS_URL",
         "GRACE_DEDUPE_DATABASE_URL", "GRACE_RASA_TOKEN")


def fresh_env(root: Path, name: str) -> Path:
    os.environ.update(GRACE_VAR_DIR=str(root / name / "var"), GRACE_DEFAULT_TENANT="akanraby")
    for variable in CLEAR:
        os.environ.pop(variable, None)
    return root / name / "var"


def generate_tenants(folder: Path, count: int) -> list[str]:
    """`count` businesses like the shipped one, each with FABRICS_PER_TENANT fabrics."""
    source = make_tenants(folder / "source") / "akanraby"
    with (source / "catalog.csv").open(newline="") as f:
        base = list(csv.DictReader(f))
    tenants = folder / "tenants"
    ids = [f"shop{n:03d}" for n in range(1, count + 1)]
    for n, tenant_id in enumerate(ids, start=1):
        shutil.copytree(source, tenants / tenant_id)
        settings = yaml.safe_load((source / "tenant.yml").read_text())
        settings.update(name=f"Shop {n}", whatsapp_numbers=[f"+23490{n:08d}"], order_prefix=f"S{n:03d}")
        settings.pop("meta_phone_number_id", None)
        (tenants / tenant_id / "tenant.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
        with (tenants / tenant_id / "catalog.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(base[0]))
            writer.writeheader()
            for k in range(FABRICS_PER_TENANT):
                row = dict(base[k % len(base)])
                row.update(sku=f"{row['sku']}-{k:03d}", name=f"{row['name']} {k}")
                writer.writerow(row)
    os.environ["GRACE_TENANTS_DIR"] = str(tenants)
    return ids


def bench_memory(root: Path) -> None:
    ids = generate_tenants(root / "many", max(TENANT_STEPS))
    var_dir = fresh_env(root, "memory")
    os.environ["GRACE_DEFAULT_TENANT"] = ids[0]
    rasa_port, actions_port = free_port(), free_port()
    processes = local.start(var_dir, rasa_port, actions_port, webhook_port=free_port(), web_port=free_port())
    actions, rasa = processes[:2]
    print(f"\nmemory as tenants grow ({FABRICS_PER_TENANT} fabrics each; each tenant answered one turn):", flush=True)
    try:
        touched, first = 0, None
        for step in TENANT_STEPS:
            for tenant_id in ids[touched:step]:
                answer = requests.post(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", timeout=120, json={
                    "sender": "+2348000000001", "message": "show me red ankara with flowers",
                    "metadata": {"tenant": tenant_id}})
                answer.raise_for_status()
            touched = step
            sizes = rss_mb(rasa.pid), rss_mb(actions.pid)
            first = first or sizes
            growth = (sum(sizes) - sum(first)) / sum(first) * 100
            print(f"  {step:>3} tenants: rasa {sizes[0]:6.0f} MB, action server {sizes[1]:5.0f} MB, "
                  f"together {sum(sizes):6.0f} MB ({growth:+5.1f}% from 1 tenant; target < 10%)  "
                  f"naive, one Rasa per tenant: {step * first[0] / 1024:6.1f} GB", flush=True)
    finally:
        local.stop(processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    if not local.MODEL.exists():
        print("No trained model: run 'make train' first.", file=sys.stderr)
        return 1
    with scratch("grace-bench-scale-") as root:
        bench_memory(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
