"""`make run-scaled`: the scaled profile on one machine, same ports outward as `make run`.

Two Rasa replicas (each with its own action server) share conversations through PostgreSQL (tracker
store, app store) and Redis (conversation locks); the balancer (grace/run/balancer.py) listens on the
Rasa port and spreads webhooks over them. The outbox worker, the WhatsApp gateway and the dashboard
run once and reach Rasa through the balancer. Needs DATABASE_URL and REDIS_URL (GRACE_PROFILE=scaled
is set here, so a missing one is named). GRACE_REPLICAS changes the number of replicas; the replicas'
own ports are free ones picked at start (listed in the "Grace is up" text).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grace.config import load_settings
from grace.rasa_plugins import profile
from grace.run import local
from grace.run.processes import free_port


@dataclass
class Replica:
    rasa_port: int
    actions_port: int
    rasa: subprocess.Popen
    actions: subprocess.Popen


@dataclass
class Cluster:
    replicas: list[Replica]
    balancer: subprocess.Popen | None = None
    companions: list[subprocess.Popen] = field(default_factory=list)

    @property
    def processes(self) -> list[subprocess.Popen]:
        servers = [p for r in self.replicas for p in (r.actions, r.rasa)]
        return [p for p in (*servers, self.balancer, *self.companions) if p is not None]


def create_shared_tables(endpoints: Path) -> None:
    """Rasa's tracker store and event broker tables, made once: replicas starting together on a new database
    would each create them and one would fail (PostgreSQL's CREATE TABLE is not safe to race)."""
    import asyncio  # here, not at the top: Rasa takes seconds to import and only this child process needs it

    from rasa.core.brokers.broker import EventBroker
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"))
    broker = read_endpoint_config(str(endpoints), "event_broker")
    if broker:
        asyncio.run(EventBroker.create(broker))


def prepare_shared_tables(endpoints: Path, env: dict[str, str], log_dir: Path) -> None:
    with open(log_dir / "migrate.log", "ab") as log:
        done = subprocess.run([sys.executable, "-m", "grace.run.scaled", "--create-tables", str(endpoints)],
                              cwd=local.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"Rasa's tables could not be made; see {log_dir}/migrate.log")


def start(var_dir: Path, rasa_port: int, replicas: int = 2, host: str = "127.0.0.1", log_dir: Path | None = None,
          webhook_port: int | None = None, web_port: int | None = None) -> Cluster:
    """Start the replicas, the balancer on `rasa_port` and the companions; wait until they answer.
    Raises profile.ProfileError without PostgreSQL and Redis, RuntimeError when something did not start."""
    os.environ["GRACE_PROFILE"] = "scaled"
    profile.load_profile()  # names what is missing before anything starts
    log_dir = log_dir or var_dir / "logs"
    env = local.prepare(var_dir, log_dir, rasa_port, webhook_port, web_port)
    env["GRACE_PROFILE"] = "scaled"
    env["GRACE_RASA_HOST"] = host  # the replicas are reached through the balancer: its host is theirs outward
    started: list[Replica] = []
    cluster = Cluster(started)
    spawned: list[subprocess.Popen] = []  # each process the moment it starts (signals_held), for a stop meanwhile
    try:
        for n in range(1, replicas + 1):
            actions_port, own_port = free_port(), free_port()
            endpoints = local.write_endpoints(var_dir, actions_port, name=f"endpoints-{n}")
            if n == 1:
                prepare_shared_tables(endpoints, env, log_dir)
            with local.signals_held():
                spawned.append(actions := local.spawn_actions(f"actions-{n}", actions_port, env, log_dir))
            with local.signals_held():
                spawned.append(rasa := local.spawn_rasa(f"rasa-{n}", own_port, "127.0.0.1", endpoints, env, log_dir))
            started.append(Replica(own_port, actions_port, rasa, actions))
        upstreams = [arg for r in started for arg in ("--upstream", f"http://127.0.0.1:{r.rasa_port}")]
        with local.signals_held():
            spawned.append(balancer := local.spawn("balancer", [
                sys.executable, "-m", "grace.run.balancer", "--host", host, "--port", str(rasa_port), *upstreams],
                env, log_dir))
        cluster.balancer = balancer
        cluster.companions = local.spawn_companions(env, log_dir, spawned)
    except BaseException:  # a spawn failed, or Ctrl-C or SIGTERM: what started so far stops
        local.stop_for_good(spawned)
        raise
    local.await_or_stop(cluster.processes, lambda: (
        all(local.wait_until_up(f"http://127.0.0.1:{r.actions_port}/health", r.actions, 60) for r in started)
        and local.companions_up(cluster.companions, env)
        and local.wait_until_up(f"http://127.0.0.1:{rasa_port}/balancer/health", balancer, 30)
        and all(local.wait_until_up(f"http://127.0.0.1:{r.rasa_port}/webhooks/rest/", r.rasa,
                                     local.RASA_LOAD_S * replicas) for r in started)), "Grace (scaled)", log_dir)
    return cluster


def stop(cluster: Cluster) -> None:
    local.stop(cluster.processes)


def run(shell_tenant: str | None = None) -> int:
    if not local.MODEL.exists():
        print("No trained model: run 'make train' first.", file=sys.stderr)
        return 1
    rasa_port = int(os.environ.get("GRACE_RASA_PORT", local.DEFAULT_RASA_PORT))
    host = os.environ.get("GRACE_RASA_HOST", "127.0.0.1")
    replicas = int(os.environ.get("GRACE_REPLICAS", "2"))
    cluster = local.launch(host, "Grace (scaled)",
                           f"Starting Grace, scaled: {replicas} Rasa replicas behind a balancer (about a minute)...",
                           lambda: start(load_settings().var_dir, rasa_port, replicas, host))
    if cluster is None:
        return 1
    settings = load_settings()
    actions = ", ".join(f"http://127.0.0.1:{r.actions_port}/webhook" for r in cluster.replicas)
    rasa = ", ".join(f"http://127.0.0.1:{r.rasa_port}" for r in cluster.replicas)
    print(local.describe(host, rasa_port, actions, settings.var_dir, settings.database_url,
                          extra=f"\n  Replicas (balanced)   {rasa}"))
    local.serve(cluster.processes, rasa_port, shell_tenant)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m grace.run.scaled`: the scaled profile on this machine. `--create-tables ENDPOINTS`: only make
    Rasa's shared tables, once, before any replica starts (the deployments' migrate step)."""
    assert main.__doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m grace.run.scaled", description=main.__doc__.split("\n")[0])
    parser.add_argument("--create-tables", type=Path, metavar="ENDPOINTS",
                        help="Rasa's endpoints file (python -m grace.rasa_plugins.profile writes it)")
    args = parser.parse_args(argv)
    if args.create_tables is None:
        return run()
    if not args.create_tables.is_file():
        print(f"{args.create_tables}: no such endpoints file (python -m grace.rasa_plugins.profile writes it)",
              file=sys.stderr)
        return 2
    create_shared_tables(args.create_tables)
    print(f"Rasa's tables are ready ({args.create_tables})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
