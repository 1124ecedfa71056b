"""Settings come from the environment as it is at each call: tests, the CLI and `make run` change it
between calls, and load_settings keeps what it built only while the variables it reads stay the same."""
from __future__ import annotations

from grace.config import load_settings


def test_settings_follow_the_environment_between_calls(monkeypatch, tmp_path):
    for name in ("GRACE_DATABASE_URL", "DATABASE_URL", "GRACE_TRACKER_DATABASE_URL", "GRACE_RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRACE_VAR_DIR", str(tmp_path / "a"))
    assert load_settings().database_url == f"sqlite:///{tmp_path / 'a' / 'grace.db'}"
    monkeypatch.setenv("GRACE_VAR_DIR", str(tmp_path / "b"))
    assert load_settings().tracker_database_url == f"sqlite:///{tmp_path / 'b' / 'tracker.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgres://grace@db.internal/grace")  # as hosting platforms write it
    assert load_settings().database_url == "postgresql://grace@db.internal/grace"
    monkeypatch.setenv("GRACE_RASA_PORT", "5999")
    assert load_settings().rasa_url == "http://127.0.0.1:5999"
    monkeypatch.delenv("DATABASE_URL")
    assert load_settings().database_url == f"sqlite:///{tmp_path / 'b' / 'grace.db'}"
