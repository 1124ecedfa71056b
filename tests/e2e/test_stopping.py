"""`make run` stops everything it started, also on a double Ctrl-C or a signal to its whole group, and a
start that finds a port taken says which process holds it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests

from tests.helpers import ROOT, free_port, make_tenants


def grace_env(tmp_path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {"GRACE_RASA_PORT": free_port(), "GRACE_ACTIONS_PORT": free_port(), "GRACE_WEBHOOK_PORT": free_port(),
             "GRACE_WEB_PORT": free_port()}
    env = {**os.environ, "GRACE_VAR_DIR": str(tmp_path / "var"), "GRACE_TENANTS_DIR": str(make_tenants(tmp_path)),
           **{name: str(port) for name, port in ports.items()}}
    for name in ("GRACE_RASA_TOKEN", "GRACE_ACTIONS_TOKEN", "GRACE_REST_TOKEN", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env, ports


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_double_ctrl_c_to_the_whole_group_stops_every_server_within_10_s(tmp_path):
    env, ports = grace_env(tmp_path)
    runner = subprocess.Popen([sys.executable, "-m", "grace.run.cli", "run"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert runner.poll() is None, runner.stdout.read()
            try:
                if requests.get(f"http://127.0.0.1:{ports['GRACE_RASA_PORT']}/webhooks/rest/", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "Grace did not start"
            time.sleep(0.5)
        assert all(listening(port) for port in ports.values())

        os.killpg(runner.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole foreground group
        time.sleep(0.3)
        os.killpg(runner.pid, signal.SIGINT)  # impatient: again, while it is stopping
        asked = time.monotonic()
        runner.wait(timeout=15)
        while any(listening(port) for port in ports.values()):
            assert time.monotonic() - asked < 10, {n: p for n, p in ports.items() if listening(p)}
            time.sleep(0.2)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)


def test_a_taken_port_is_named_with_the_process_holding_it(tmp_path):
    env, ports = grace_env(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["GRACE_WEB_PORT"]))
        squatter.listen()
        done = subprocess.run([sys.executable, "-m", "grace.run.cli", "run"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"port {ports['GRACE_WEB_PORT']} (web) is taken by pid {os.getpid()}" in done.stderr
    assert not any(listening(port) for name, port in ports.items() if name != "GRACE_WEB_PORT")
