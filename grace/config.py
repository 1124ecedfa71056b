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

    @property
    def media_dir(self) -> Path:
        return self.var_dir / "media"

    @property
    def rasa_token(self) -> str | None:
        """Read when asked, not in load_settings: every store session reads the settings, and reading this
        file each time cost the webhook gateway a quarter of its threads' time (py-spy, `make bench`)."""
        return _rasa_token(self.var_dir)


def _rasa_token(var_dir: Path) -> str | None:
    token = os.environ.get("GRACE_RASA_TOKEN")
    if token:
        return token
    # `make run` writes a random token here when none is configured.
    token_file = var_dir / "rasa_token"
    if token_file.exists():
        return token_file.read_text().strip() or None
    return None


def sqlalchemy_url(url: str) -> str:
    """A database URL SQLAlchemy 1.4 accepts: hosting platforms (Heroku, Render...) hand out
    `postgres://`, a scheme SQLAlchemy 1.4 refuses; it means `postgresql://`."""
    return "postgresql://" + url[len("postgres://"):] if url.startswith("postgres://") else url


# The variables the settings are made of: load_settings builds them again only when one of these changed.
SETTINGS_VARIABLES = ("GRACE_VAR_DIR", "GRACE_DATABASE_URL", "DATABASE_URL", "GRACE_TRACKER_DATABASE_URL",
                      "GRACE_RASA_PORT", "GRACE_TENANTS_DIR", "GRACE_DEFAULT_TENANT", "GRACE_RASA_URL")
_last: tuple[tuple[str | None, ...], Settings] | None = None


def load_settings() -> Settings:
    """The settings the environment gives now (tests and the CLI change it between calls). Every store
    session and tenant lookup asks, so they are built again only when one of SETTINGS_VARIABLES changed:
    building them was 4% of the webhook gateway's time under load (py-spy, `make bench`)."""
    global _last
    key = tuple(map(os.environ.get, SETTINGS_VARIABLES))
    last = _last  # one read: another thread may replace it meanwhile, never half of it
    if last is not None and last[0] == key:
        return last[1]
    settings = _read_settings()
    _last = (key, settings)
    return settings


def _read_settings() -> Settings:
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
        database_url=sqlalchemy_url(database_url),
        tracker_database_url=sqlalchemy_url(tracker_database_url),
        rasa_url=os.environ.get("GRACE_RASA_URL", f"http://127.0.0.1:{rasa_port}"),
    )


# Secrets a deployment sets; a value copied from an example file must never reach production.
SECRET_VARIABLES = ("GRACE_RASA_TOKEN", "GRACE_ACTIONS_TOKEN", "GRACE_REST_TOKEN", "GRACE_WEB_SECRET_KEY",
                    "TWILIO_AUTH_TOKEN", "META_APP_SECRET", "META_ACCESS_TOKEN", "META_VERIFY_TOKEN",
                    "OPENAI_API_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "GRACE_SECRET_KEY")
PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "placeholder", "your-secret", "xxx", "todo")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def placeholder_secrets(env: dict[str, str] | None = None) -> list[str]:
    """The variables (secrets, or URLs carrying a password) still holding an example file's placeholder."""
    env = dict(os.environ) if env is None else env
    found = [name for name in SECRET_VARIABLES if env.get(name, "").strip().lower() in PLACEHOLDERS]
    for name in ("DATABASE_URL", "GRACE_DATABASE_URL", "REDIS_URL"):
        if any(f":{p}@" in env.get(name, "").lower() for p in PLACEHOLDERS):
            found.append(name)
    return found


def local_development(env: dict[str, str] | None = None) -> bool:
    """The embedded profile with every server on this machine only: the one place placeholders are harmless."""
    env = dict(os.environ) if env is None else env
    hosts = [env.get(name, "127.0.0.1") for name in ("GRACE_RASA_HOST", "GRACE_WEBHOOK_HOST", "GRACE_WEB_HOST",
                                                     "GRACE_ACTIONS_HOST")]
    return env.get("GRACE_PROFILE", "embedded") == "embedded" and all(h in LOOPBACK for h in hosts)


def refuse_placeholder_secrets(process: str) -> None:
    """Stop a process from starting with an example file's secrets, outside local development."""
    found = placeholder_secrets()
    if found and not local_development():
        raise SystemExit(f"{process} will not start: {', '.join(found)} still hold a placeholder "
                         "(e.g. 'change-me' from an example file); set real secrets")
