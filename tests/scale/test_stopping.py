"""`make run-scaled` (python -m grace.run.scaled) stopped while it is still starting, as a terminal or a
process manager stops it: one SIGTERM, a Ctrl-C to the whole group, an impatient double Ctrl-C, or SIGTERM
to the group twice; while Rasa's tables are made, while the servers are being started, and while the
replicas load the model with one of them deaf to SIGTERM. Every process it started is gone within 10 s,
and with them their ports. The same for `make run` (python -m grace.run.cli run) stopped while starting
its servers (tests/e2e/test_stopping.py stops it once up).

Needs the trained model (the replicas loading it is the start being interrupted), PostgreSQL and Redis:
`make scale`. A run's processes are found by the GRACE_VAR_DIR they all share, whatever their process
group, so a child the launcher lost track of is found too."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from grace.run import local
from tests.helpers import ROOT, free_port, make_tenants
from tests.scale.services import empty_redis_db, throwaway_database

STOPPED_WITHIN_S = 10
START_S = 300  # to the phase being interrupted, on a busy machine
SIGNALS = {  # how the launcher is asked to stop: (signal, to its whole group, twice)
    "sigterm": (signal.SIGTERM, False, False),
    "ctrl-c": (signal.SIGINT, True, False),
    "double-ctrl-c": (signal.SIGINT, True, True),
    "double-sigterm-to-the-group": (signal.SIGTERM, True, True),
}


def our_processes(var_dir: Path) -> dict[int, str]:
    """pid -> command line of every live process of this run: each has GRACE_VAR_DIR=var_dir."""
    marker = f"GRACE_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # ended, not yet reaped
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):  # gone meanwhile
            continue
    return found


def count(processes: dict[int, str], word: str) -> int:
    return sum(word in command for command in processes.values())


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def replica_logs(var_dir: Path) -> list[str]:
    logs = [var_dir / "logs" / f"rasa-{n}.log" for n in (1, 2)]
    return [log.read_text(errors="replace") if log.exists() else "" for log in logs]


def wait_until(condition: Callable[[], object], seconds: float, what: Callable[[], str], poll: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(poll)


@contextmanager
def launched(tmp_path: Path, launcher: str) -> Iterator[tuple[subprocess.Popen, Path, dict[str, int], Path]]:
    """The launcher started in a session of its own (its process group, as a terminal's foreground job),
    on free ports, a throwaway database and an empty Redis db; whatever of it still runs is killed after."""
    var_dir = tmp_path / "var"
    ports = {"GRACE_RASA_PORT": free_port(), "GRACE_WEBHOOK_PORT": free_port(), "GRACE_WEB_PORT": free_port()}
    env = {**os.environ, "GRACE_VAR_DIR": str(var_dir), "GRACE_TENANTS_DIR": str(make_tenants(tmp_path)),
           "GRACE_DEFAULT_TENANT": "akanraby"}
    for name in ("GRACE_RASA_TOKEN", "GRACE_ACTIONS_TOKEN", "GRACE_REST_TOKEN", "GRACE_DATABASE_URL", "DATABASE_URL",
                 "REDIS_URL", "GRACE_TRACKER_DATABASE_URL", "GRACE_DEDUPE_DATABASE_URL", "GRACE_RASA_HOST",
                 "GRACE_PROFILE"):
        env.pop(name, None)
    output = tmp_path / "launcher.out"
    with throwaway_database() as database_url, empty_redis_db() as redis_url:
        if launcher == "scaled":
            command = ["-m", "grace.run.scaled"]
            env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, GRACE_REPLICAS="2")
        else:
            command = ["-m", "grace.run.cli", "run"]
            ports["GRACE_ACTIONS_PORT"] = free_port()
        env.update({name: str(port) for name, port in ports.items()})
        with open(output, "wb") as out:
            runner = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield runner, var_dir, ports, output
        finally:
            for pid in [runner.pid, *our_processes(var_dir)]:
                try:
                    os.killpg(pid, signal.SIGKILL)  # each server leads a process group of its own
                except (ProcessLookupError, PermissionError):
                    pass
            runner.wait(timeout=10)


@pytest.mark.parametrize("launcher, phase, how", [
    ("scaled", "making-tables", "sigterm"), ("scaled", "making-tables", "double-ctrl-c"),
    ("scaled", "spawning", "sigterm"), ("scaled", "spawning", "ctrl-c"),
    ("scaled", "loading", "sigterm"), ("scaled", "loading", "double-ctrl-c"),
    ("scaled", "loading", "double-sigterm-to-the-group"),
    ("local", "spawning", "ctrl-c")])
def test_stopped_while_starting_nothing_is_left_running(tmp_path, launcher, phase, how):
    if not local.MODEL.exists():
        pytest.fail("no trained model: run 'make train'")
    with launched(tmp_path, launcher) as (runner, var_dir, ports, output):
        said = output.read_text
        if phase == "making-tables":  # before any server: a child makes Rasa's tables
            wait_until(lambda: count(our_processes(var_dir), "--create-tables"), START_S,
                       lambda: f"the tables were never being made: {said()}")
        elif phase == "spawning":  # the first server just started, the others are being started
            wait_until(lambda: count(our_processes(var_dir), "actions.server"), START_S,
                       lambda: f"no server was ever started: {said()}", poll=0)
        else:  # every server up but the replicas, which load the model
            wait_until(lambda: all("Loading model" in log for log in replica_logs(var_dir))
                       and answers(f"http://127.0.0.1:{ports['GRACE_WEBHOOK_PORT']}/health")
                       and answers(f"http://127.0.0.1:{ports['GRACE_RASA_PORT']}/balancer/health"), START_S,
                       lambda: f"the replicas never loaded the model behind a balancer: {said()}")
            running = our_processes(var_dir)
            assert count(running, "rasa run") == 2 and count(running, "actions.server") == 2, running
            assert "Grace is up" not in said(), "up before it could be stopped while starting"
            deaf = min(pid for pid, command in running.items() if "rasa run" in command)
            os.kill(deaf, signal.SIGSTOP)  # a replica that does not heed SIGTERM: only SIGKILL ends it
        started = our_processes(var_dir)
        assert runner.pid in started and len(started) > 1, started

        sig, to_group, twice = SIGNALS[how]
        send = (lambda: os.killpg(runner.pid, sig)) if to_group else (lambda: os.kill(runner.pid, sig))
        send()
        asked = time.monotonic()
        if twice:
            time.sleep(0.3)  # impatient: again, while it is stopping
            if runner.poll() is None:
                send()

        wait_until(lambda: runner.poll() is not None and not our_processes(var_dir),
                   STOPPED_WITHIN_S - (time.monotonic() - asked),
                   lambda: f"still running {time.monotonic() - asked:.1f} s after being asked to stop: "
                           f"{our_processes(var_dir)}; the launcher said: {said()}")
        assert not [port for port in ports.values() if listening(port)]
        assert runner.returncode == 1 and "Stopped while starting." in said(), said()
