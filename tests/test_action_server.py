"""The action server answers Rasa only: it listens on 127.0.0.1 and wants the shared secret on every call."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.helpers import ROOT, free_port

TOKEN = "actions-secret-for-tests"


def call(port: int, headers: dict) -> requests.Response:
    body = {"next_action": "action_greet", "sender_id": "akanraby:+2348011110000", "version": "3.6.2",
            "tracker": {"sender_id": "akanraby:+2348011110000", "slots": {}, "latest_message": {"text": "hi"},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"},
            "domain": {}}
    return requests.post(f"http://127.0.0.1:{port}/webhook", json=body, headers=headers, timeout=30)


def this_machines_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: it only picks the outward interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def action_server(grace_env):
    port = free_port()
    env = {**os.environ, "GRACE_ACTIONS_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None, "the action server stopped"
        assert time.monotonic() < deadline, "the action server did not start"
        time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(timeout=20)


def test_calls_without_the_secret_are_refused_and_rasas_are_answered(action_server):
    for headers in ({}, {"X-Grace-Actions-Token": "guess"}):
        refused = call(action_server, headers)
        assert refused.status_code == 401 and "request_body" not in refused.text
    answered = call(action_server, {"X-Grace-Actions-Token": TOKEN})
    assert answered.status_code == 200 and "AkanrabyAtuche" in answered.text


def test_it_listens_on_loopback_only(action_server):
    address = this_machines_address()
    if address is None:
        pytest.fail("this machine has no address beyond loopback to try")
    with socket.socket() as outside, pytest.raises(OSError):
        outside.settimeout(2)
        outside.connect((address, action_server))


def test_it_will_not_start_without_the_secret(grace_env):
    env = {k: v for k, v in os.environ.items() if k != "GRACE_ACTIONS_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "actions.server", "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "GRACE_ACTIONS_TOKEN" in done.stderr
