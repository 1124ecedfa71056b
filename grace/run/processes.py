"""The processes a run starts beside Rasa and its action servers, as data: the launcher reads this
table and never imports what it starts (the dashboard and the channels sit above this package).

One each per run, also in the scaled profile: the outbox worker claims rows atomically, the webhook
gateway keeps each conversation's turns in order in memory, and the dashboard is stateless.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Companion:
    name: str  # also its log file: <var>/logs/<name>.log
    module: str  # started as `python -m <module>`
    port_env: str | None = None  # the variable it reads its port from, when it serves HTTP
    default_port: int | None = None
    health: str | None = None  # a path that answers once it is up
    host_env: str | None = None  # the variable that exposes it beyond 127.0.0.1
    shows: str = ""  # how the "Grace is up" text names it


COMPANIONS: tuple[Companion, ...] = (
    Companion("outbox", "grace.run.outbox", shows="Outbox worker"),
    Companion("gateway", "connectors.gateway", "GRACE_WEBHOOK_PORT", 5006, "/health", "GRACE_WEBHOOK_HOST",
              shows="WhatsApp gateway"),
    Companion("web", "web", "GRACE_WEB_PORT", 8000, "/health", "GRACE_WEB_HOST", shows="Dashboard"),
)
# Rasa and the action servers, started by the launchers themselves (one pair per replica).
DEFAULT_RASA_PORT, DEFAULT_ACTIONS_PORT = 5005, 5055
ACTION_SERVER = "actions.server"  # private: 127.0.0.1 and Rasa's shared secret (GRACE_ACTIONS_TOKEN)


def companion(name: str) -> Companion:
    return next(c for c in COMPANIONS if c.name == name)


_given_ports: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, never one this process handed out before (the OS may offer a port
    just released again, and two servers of one run would then collide)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
