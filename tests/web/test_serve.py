"""`python -m web` serves the dashboard on 127.0.0.1:$GRACE_WEB_PORT."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from tests.helpers import ROOT, free_port


def test_python_m_web_serves_the_login_page(web_env, grace_env):
    port = free_port()
    env = {**os.environ, "GRACE_WEB_PORT": str(port), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "web"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and 'name="csrf_token"' in response.text
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json() == {"status": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/payments", allow_redirects=False, timeout=2).status_code == 302
        assert (grace_env / "var" / "web_secret").exists()  # the key it made for itself, kept for restarts
        assert response.headers.get("Server") == "grace"  # waitress, not werkzeug's development server
    finally:
        server.terminate()
        server.wait(timeout=10)
