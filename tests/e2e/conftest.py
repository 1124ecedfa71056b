"""A real Grace (trained model, Rasa server, action server) on free local ports."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
import requests

from grace import runner
from tests.helpers import ROOT, free_port, make_tenants


class Grace:
    def __init__(self, var_dir, rasa_port: int, env: dict) -> None:
        self.var_dir, self.rasa_port, self.env = var_dir, rasa_port, env
        self.base = f"http://127.0.0.1:{rasa_port}"
        self.token = (var_dir / "rasa_token").read_text().strip()

    def send(self, sender: str, text: str, tenant: str | None = "akanraby", **meta) -> requests.Response:
        metadata = {"tenant": tenant, **meta} if tenant else meta
        return requests.post(f"{self.base}/webhooks/rest/webhook",
                             json={"sender": sender, "message": text, "metadata": metadata}, timeout=60)

    def say(self, sender: str, text: str, **kwargs) -> str:
        reply = self.send(sender, text, **kwargs)
        assert reply.status_code == 200, reply.text
        return "\n".join(m.get("text") or "" for m in reply.json())

    def grace_cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grace.cli", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def tracker_events(self, conversation_id: str) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "tracker.db") as db:
            return db.execute("SELECT type_name, data FROM events WHERE sender_id = ?", (conversation_id,)).fetchall()

    def store(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "grace.db") as db:
            return db.execute(sql).fetchall()


@pytest.fixture(scope="session")
def grace(tmp_path_factory):
    if not runner.MODEL.exists():
        pytest.fail("no trained model: run 'make train' (make e2e does)")
    root = tmp_path_factory.mktemp("grace")
    tenants = make_tenants(root)
    var_dir = root / "var"
    rasa_port, actions_port = free_port(), free_port()
    saved = dict(os.environ)
    os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(var_dir),
                      GRACE_DEFAULT_TENANT="akanraby", GRACE_RASA_PORT=str(rasa_port))
    os.environ.pop("GRACE_RASA_TOKEN", None)
    processes = runner.start(var_dir, rasa_port, actions_port)
    try:
        yield Grace(var_dir, rasa_port, dict(os.environ))
    finally:
        runner.stop(processes)
        os.environ.clear()
        os.environ.update(saved)
