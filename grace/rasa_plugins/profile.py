"""The one switch between the embedded profile and the scaled one, and Rasa's endpoints for each.

Embedded (the default): SQLite files under var/ for the app store and the tracker store, Rasa's
in-memory conversation lock, no event broker; one Rasa process, nothing else to run.

Scaled (`GRACE_PROFILE=scaled`, or implied by DATABASE_URL / REDIS_URL): Rasa's SQL tracker store
and the app store on the PostgreSQL of DATABASE_URL, the atomic Redis lock store on REDIS_URL (so
several Rasa replicas or Sanic workers serve one conversation in turn), and Rasa's SQL event broker
into the same database (table `analytics_events`) for analytics. Implied by one variable, only
that service moves; `GRACE_PROFILE=scaled` asks for both and says what is missing.

The endpoints refer to those variables (`${DATABASE_URL}`), which Rasa expands when it reads the
file: passwords stay in the environment, not in var/endpoints.yml.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grace.config import PROJECT_ROOT

PROFILES = ("embedded", "scaled")
APP_DATABASE_VARIABLES = ("GRACE_DATABASE_URL", "DATABASE_URL")  # the order grace.config reads them in
TRACKER_DATABASE_VARIABLES = ("GRACE_TRACKER_DATABASE_URL", "DATABASE_URL")
REDIS_VARIABLES = ("REDIS_URL",)
TRACKER_STORE = "grace.rasa_plugins.tracker_store.GraceSQLTrackerStore"
LOCK_STORE = "grace.rasa_plugins.lock_store.AtomicRedisLockStore"
EVENT_BROKER = "grace.rasa_plugins.event_broker.AnalyticsEventBroker"


class ProfileError(ValueError):
    """The environment asks for a profile it does not provide the services of."""


@dataclass(frozen=True)
class Profile:
    name: str
    # The environment variable holding each service's URL; None: the embedded default.
    app_database_variable: str | None
    tracker_database_variable: str | None
    redis_variable: str | None


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if env.get(name)), None)


def _server_database(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    """The variable giving a server database (not a SQLite file), if any."""
    name = _first_set(env, names)
    return name if name and not env[name].startswith("sqlite") else None


def load_profile(env: Mapping[str, str] | None = None) -> Profile:
    env = os.environ if env is None else env
    app_db = _server_database(env, APP_DATABASE_VARIABLES)
    tracker_db = _server_database(env, TRACKER_DATABASE_VARIABLES)
    redis = _first_set(env, REDIS_VARIABLES)
    requested = (env.get("GRACE_PROFILE") or "").strip().lower()
    if requested and requested not in PROFILES:
        raise ProfileError(f"GRACE_PROFILE={requested!r}: use one of {', '.join(PROFILES)}")
    if requested == "embedded" and (app_db or tracker_db or redis):
        moved = [name for name in (app_db, tracker_db, redis) if name]
        raise ProfileError(f"GRACE_PROFILE=embedded, but {', '.join(dict.fromkeys(moved))} is set: unset it or "
                           "use GRACE_PROFILE=scaled")
    if requested == "scaled":
        missing = [need for need, have in (("DATABASE_URL (PostgreSQL)", app_db and tracker_db),
                                           ("REDIS_URL", redis)) if not have]
        if missing:
            raise ProfileError(f"GRACE_PROFILE=scaled needs {' and '.join(missing)}: replicas share the "
                               "conversations, the store and the conversation locks through them")
    workers = env.get("SANIC_WORKERS", "1")
    if not redis and workers.isdigit() and int(workers) > 1:
        # Rasa would quietly fall back to one worker with its in-memory lock.
        raise ProfileError(f"SANIC_WORKERS={workers} needs REDIS_URL: workers share conversation locks in Redis")
    name = "scaled" if requested == "scaled" or app_db or tracker_db or redis else "embedded"
    return Profile(name, app_db, tracker_db, redis)


def endpoints_for(profile: Profile, actions_url: str, embedded_tracker_db: Path) -> dict[str, Any]:
    """Rasa's endpoints.yml content for `profile`; `embedded_tracker_db` is the SQLite file of the embedded one."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = actions_url
    if profile.tracker_database_variable:
        endpoints["tracker_store"] = {"type": TRACKER_STORE, "url": f"${{{profile.tracker_database_variable}}}"}
    else:
        endpoints["tracker_store"]["db"] = str(embedded_tracker_db)
    if profile.redis_variable:
        endpoints["lock_store"] = {"type": LOCK_STORE, "url": f"${{{profile.redis_variable}}}"}
    if profile.app_database_variable:
        endpoints["event_broker"] = {"type": EVENT_BROKER, "url": f"${{{profile.app_database_variable}}}"}
    return endpoints


def write_endpoints(path: Path, profile: Profile, actions_url: str, embedded_tracker_db: Path) -> Path:
    path.write_text(yaml.safe_dump(endpoints_for(profile, actions_url, embedded_tracker_db), sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m grace.rasa_plugins.profile OUT --actions-url URL`: write Rasa's endpoints for this environment's
    profile (containers run this before `rasa run`; `make run` calls write_endpoints itself)."""
    assert main.__doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m grace.rasa_plugins.profile",
                                     description=main.__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--actions-url", required=True)
    parser.add_argument("--tracker-db", type=Path, default=Path("var/tracker.db"),
                        help="the SQLite tracker store of the embedded profile")
    args = parser.parse_args(argv)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_endpoints(args.out, load_profile(), args.actions_url, args.tracker_db)
    except ProfileError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
