"""Settings read from the environment, with embedded defaults for `make run`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    tenants_dir: Path
    default_tenant: str
    database_url: str
    tracker_database_url: str  # Rasa's tracker store: conversations and their events
    rasa_url: str
    rasa_token: str | None

    @property
    def media_dir(self) -> Path:
        return self.var_dir / "media"


def _rasa_token(var_dir: Path) -> str | None:
    token = os.environ.get("GRACE_RASA_TOKEN")
    if token:
        return token
    # `make run` writes a random token here when none is configured.
    token_file = var_dir / "rasa_token"
    if token_file.exists():
        return token_file.read_text().strip() or None
    return None


def load_settings() -> Settings:
    """Read settings now: tests and the CLI change the environment between calls."""
    var_dir = Path(os.environ.get("GRACE_VAR_DIR", PROJECT_ROOT / "var"))
    database_url = os.environ.get("GRACE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{var_dir / 'grace.db'}"
    tracker_database_url = os.environ.get("GRACE_TRACKER_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not tracker_database_url:
        tracker_database_url = f"sqlite:///{var_dir / 'tracker.db'}"
    rasa_port = os.environ.get("GRACE_RASA_PORT", "5005")
    return Settings(
        var_dir=var_dir,
        tenants_dir=Path(os.environ.get("GRACE_TENANTS_DIR", PROJECT_ROOT / "tenants")),
        default_tenant=os.environ.get("GRACE_DEFAULT_TENANT", "akanraby"),
        database_url=database_url,
        tracker_database_url=tracker_database_url,
        rasa_url=os.environ.get("GRACE_RASA_URL", f"http://127.0.0.1:{rasa_port}"),
        rasa_token=_rasa_token(var_dir),
    )
