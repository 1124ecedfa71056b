"""A deployment started with an example file's secrets refuses to start and names them; local
development (the embedded profile, everything on 127.0.0.1) is left alone."""
from __future__ import annotations

import os
import subprocess
import sys

from grace.config import local_development, placeholder_secrets
from tests.helpers import ROOT, free_port


def test_placeholders_are_found_in_secrets_and_in_urls():
    env = {"GRACE_RASA_TOKEN": "change-me", "META_APP_SECRET": "a-real-one",
           "DATABASE_URL": "postgresql://grace:change-me@postgres:5432/grace"}
    assert placeholder_secrets(env) == ["GRACE_RASA_TOKEN", "DATABASE_URL"]
    assert local_development({}) and not local_development({"GRACE_PROFILE": "scaled"})
    assert not local_development({"GRACE_WEB_HOST": "0.0.0.0"})


def test_a_scaled_process_with_a_placeholder_secret_will_not_start(grace_env):
    env = {**os.environ, "GRACE_PROFILE": "scaled", "GRACE_ACTIONS_TOKEN": "change-me"}
    done = subprocess.run([sys.executable, "-m", "actions.server", "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "GRACE_ACTIONS_TOKEN still hold a placeholder" in done.stderr
