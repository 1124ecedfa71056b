"""`make run`: Rasa (HTTP API on, token-protected, bound to 127.0.0.1) and the action server.

Also the outbox worker, the WhatsApp webhook gateway (GRACE_WEBHOOK_PORT, 5006) and the dashboard
(`python -m web`, GRACE_WEB_PORT, 8000). Ports: GRACE_RASA_PORT (5005), GRACE_ACTIONS_PORT (5055).
GRACE_RASA_HOST=0.0.0.0 exposes the webhooks behind a proxy; the API still needs the token.
`make run-scaled` (grace/run/scaled.py) starts replicas behind a balancer with the same pieces.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests
from sqlalchemy.engine import make_url

from grace.config import PROJECT_ROOT, load_settings, refuse_placeholder_secrets
from grace.rasa_plugins import profile
from grace.run.processes import ACTION_SERVER, COMPANIONS, DEFAULT_ACTIONS_PORT, DEFAULT_RASA_PORT, Companion, companion

MODEL = PROJECT_ROOT / "models" / "grace.tar.gz"
# Also the ports of the deployment files (deploy/), kept equal by tests/test_deploy_files.py.
DEFAULT_WEBHOOK_PORT = companion("gateway").default_port
DEFAULT_WEB_PORT = companion("web").default_port
RASA_LOAD_S = 240  # loading the model takes ~40-60 s alone, longer when replicas load side by side
# Rasa and the action server compute turns, seconds of CPU under load; the webhook gateway must answer a
# provider within milliseconds meanwhile. On one machine the turns run at a lower priority (`nice`), so the
# gateway, the outbox and the dashboard are scheduled first when the cores are busy (`make bench`: the
# WhatsApp ack's p99). Turns lose nothing on an otherwise idle machine. 0 turns it off.
TURN_NICENESS_VARIABLE = "GRACE_TURN_NICENESS"
DEFAULT_TURN_NICENESS = 5
# A turn's model runs a few small matrix operations. TensorFlow's thread pools, sized to the machine's cores,
# gain nothing on them, and where a replica has one core (pinned, or a container's CPU limit) their threads
# wait for work by spinning on it: one thread each does the turn in 7% less CPU there, and as fast on two
# cores (`make bench`). Rasa reads these two variables; one set in the environment is kept.
TENSORFLOW_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


def ensure_token(var_dir: Path, variable: str = "GRACE_RASA_TOKEN", file_name: str = "rasa_token") -> str:
    """A secret from the environment, else one made once for this var/ (kept readable by its owner only)."""
    token = os.environ.get(variable)
    if token:
        return token
    token_file = var_dir / file_name
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
    return token_file.read_text().strip()


def write_endpoints(var_dir: Path, actions_port: int, name: str = "endpoints") -> Path:
    """var/<name>.yml for this run: its action server port, and the services of the profile
    (embedded: var/tracker.db; scaled: PostgreSQL, Redis, event broker)."""
    return profile.write_endpoints(var_dir / f"{name}.yml", profile.load_profile(),
                                   f"http://127.0.0.1:{actions_port}/webhook", var_dir / "tracker.db")


def migrate(env: dict[str, str], log_dir: Path) -> None:
    """Bring the app store to the code's schema before any server opens it (each would, under a lock;
    here a database that cannot be reached or migrated stops the start with the reason)."""
    with open(log_dir / "migrate.log", "ab") as log:
        done = subprocess.run([sys.executable, "-m", "grace.store.migrate", "upgrade"], cwd=PROJECT_ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"The store could not be migrated; see {log_dir}/migrate.log")


def wait_until_up(url: str, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def prepare(var_dir: Path, log_dir: Path, rasa_port: int, webhook_port: int | None,
            web_port: int | None) -> dict[str, str]:
    """The environment every process of a run shares (ports as the others find them), store migrated."""
    var_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    ensure_token(var_dir)
    env = {**os.environ, "GRACE_VAR_DIR": str(var_dir), "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "GRACE_RASA_PORT": str(rasa_port),
           # Sanic stops reading a body beyond this (Meta's 1 MB webhooks are the largest; connectors/turns.py).
           "SANIC_REQUEST_MAX_SIZE": os.environ.get("SANIC_REQUEST_MAX_SIZE", str(1024 * 1024 + 64 * 1024)),
           # Rasa sends it to the action servers, which answer nobody else (endpoints.yml).
           "GRACE_ACTIONS_TOKEN": ensure_token(var_dir, "GRACE_ACTIONS_TOKEN", "actions_token")}
    chosen = {"gateway": webhook_port, "web": web_port}
    for c in COMPANIONS:
        if c.port_env:
            env[c.port_env] = str(chosen.get(c.name) or int(env.get(c.port_env) or str(c.default_port)))
    migrate(env, log_dir)
    return env


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    """A process of its own group (stop() ends it with its children), logging to <name>.log."""
    return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=open(log_dir / f"{name}.log", "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def turn_niceness(env: dict[str, str]) -> int:
    raw = env.get(TURN_NICENESS_VARIABLE, "").strip()
    try:
        return max(0, min(19, int(raw))) if raw else DEFAULT_TURN_NICENESS
    except ValueError:
        raise SystemExit(f"{TURN_NICENESS_VARIABLE}={raw!r}: expected a whole number from 0 to 19") from None


def at_turn_priority(args: list[str], env: dict[str, str]) -> list[str]:
    """The command under `nice`: the process starts at that priority, so every thread it makes has it too
    (Linux keeps a niceness per thread; one set after the start would miss the threads already made)."""
    niceness = turn_niceness(env)
    return ["nice", "-n", str(niceness), *args] if niceness else args


def spawn_actions(name: str, port: int, env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    return spawn(name, at_turn_priority([sys.executable, "-m", ACTION_SERVER, "--port", str(port)], env), env, log_dir)


def spawn_rasa(name: str, port: int, host: str, endpoints: Path, env: dict[str, str],
               log_dir: Path) -> subprocess.Popen:
    token = ensure_token(Path(env["GRACE_VAR_DIR"]))
    return spawn(name, at_turn_priority([
        str(Path(sys.executable).parent / "rasa"), "run", "--enable-api", f"--auth-token={token}", "-i", host,
        "--port", str(port), "--model", str(MODEL), "--endpoints", str(endpoints),
        "--credentials", str(PROJECT_ROOT / "credentials.yml")], env),
                 # the REST channel asks for a token when exposed; no access log, even with --debug: Rasa's
                 # API takes its token in the query string
                 {**TENSORFLOW_THREADS, "GRACE_RASA_HOST": host, "SANIC_ACCESS_LOG": "false", **env}, log_dir)


def spawn_companions(env: dict[str, str], log_dir: Path, started: list[subprocess.Popen]) -> list[subprocess.Popen]:
    """The outbox worker, the webhook gateway and the dashboard (grace/run/processes.py): one each per run,
    each added to `started` as it starts. Returns them."""
    companions = []
    for c in COMPANIONS:
        with signals_held():
            companions.append(process := spawn(c.name, [sys.executable, "-m", c.module], env, log_dir))
            started.append(process)
    return companions


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back until the block is done, then acted on as they would have been: around
    starting a server and recording it, so that none a stop must end is ever running unrecorded (a Ctrl-C
    inside Popen would lose the child it had just started)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    held: list[int] = []
    kept = {sig: signal.signal(sig, lambda number, _: held.append(number)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)
        for number in dict.fromkeys(held):
            signal.raise_signal(number)


def companions_up(companions: list[subprocess.Popen], env: dict[str, str]) -> bool:
    return all(wait_until_up(f"http://127.0.0.1:{env[c.port_env]}{c.health}", process, 60)
               for c, process in zip(COMPANIONS, companions, strict=True) if c.port_env and c.health)


def start(var_dir: Path, rasa_port: int, actions_port: int, host: str = "127.0.0.1",
          log_dir: Path | None = None, webhook_port: int | None = None,
          web_port: int | None = None) -> list[subprocess.Popen]:
    """Start the servers, the outbox worker, the webhook gateway and the dashboard; wait until they answer.
    Returns the processes: actions, rasa, outbox, gateway[, web]."""
    log_dir = log_dir or var_dir / "logs"
    env = prepare(var_dir, log_dir, rasa_port, webhook_port, web_port)
    ports = {"Rasa": rasa_port, "actions": actions_port, **{c.name: int(env[c.port_env]) for c in COMPANIONS
                                                              if c.port_env}}
    if len(set(ports.values())) < len(ports):
        raise RuntimeError(f"Grace cannot start: two servers were given the same port ({ports})")
    taken = ports_taken(ports)
    if taken:
        raise RuntimeError("Grace cannot start: " + "; ".join(taken) + ". Stop it (kill <pid>) or choose other ports.")
    endpoints = write_endpoints(var_dir, actions_port)
    processes: list[subprocess.Popen] = []
    try:
        with signals_held():
            processes.append(actions := spawn_actions("actions", actions_port, env, log_dir))
        with signals_held():
            processes.append(rasa := spawn_rasa("rasa", rasa_port, host, endpoints, env, log_dir))
        spawn_companions(env, log_dir, processes)
    except BaseException:  # a spawn failed, or Ctrl-C: what started so far stops
        stop_for_good(processes)
        raise
    await_or_stop(processes, lambda: wait_until_up(f"http://127.0.0.1:{actions_port}/health", actions, 60)
                  and companions_up(processes[2:], env)
                  and wait_until_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", rasa, RASA_LOAD_S),
                  "Grace", log_dir)
    return processes


def await_or_stop(processes: list[subprocess.Popen], ready: Callable[[], bool], what: str, log_dir: Path) -> None:
    """Wait until `ready()` says every server answers. When one did not, or Ctrl-C or SIGTERM came while
    waiting, stop everything started (nothing may be left running) and raise."""
    try:
        ok = ready()
    except BaseException:
        stop_for_good(processes)
        raise
    if not ok:
        stop_for_good(processes)
        raise RuntimeError(f"{what} did not start; see the logs in {log_dir}/")


STOP_S = 8  # then what still runs is killed: `make run` is gone within 10 s of being asked


def stop(processes: list[subprocess.Popen]) -> None:
    """Ask every server (and its children) to stop, then kill what has not within STOP_S."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def stop_for_good(processes: list[subprocess.Popen]) -> None:
    """stop(), which a second Ctrl-C or SIGTERM (or the group-wide signal a process manager sends) must not cut
    short: the servers run in sessions of their own and would be left running, holding their ports. The
    signals count again afterwards."""
    kept = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop(processes)
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:  # gone already
        pass


def port_holder(port: int) -> str | None:
    """Which process listens on this TCP port ("pid 123: rasa run ..."), from /proc; None when free
    or unknown. Linux only: elsewhere the start still fails, without the name."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                pid = fd_dir.parent.name
                command = (fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                return f"pid {pid}: {command.strip()[:120]}"
        except OSError:  # another user's process, or gone meanwhile
            continue
    return "another process (not readable here)"


def ports_taken(ports: dict[str, int]) -> list[str]:
    """The ports a run needs that something already listens on, each with its holder."""
    taken = []
    for name, port in ports.items():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"port {port} ({name}) is taken by {port_holder(port) or 'another process'}")
    return taken


def address(c: Companion) -> tuple[str, str]:
    return os.environ.get(c.port_env or "", str(c.default_port)), os.environ.get(c.host_env or "", "127.0.0.1")


def describe(host: str, rasa_port: int, actions: str, var_dir: Path, database_url: str, extra: str = "") -> str:
    """The "Grace is up" text, for one process or the scaled cluster (`actions` says where they are)."""
    webhook_port, webhook_host = address(companion("gateway"))
    web_port, web_host = address(companion("web"))
    return f"""
Grace is up.
  Rasa (REST webhook)   http://{host}:{rasa_port}/webhooks/rest/webhook
  Rasa HTTP API         http://{host}:{rasa_port}/  (token in GRACE_RASA_TOKEN or {var_dir}/rasa_token)
  Action server         {actions}
  WhatsApp (Twilio)     http://{webhook_host}:{webhook_port}/webhooks/whatsapp/webhook   (gateway: fast acks)
  WhatsApp (Meta)       http://{webhook_host}:{webhook_port}/webhooks/meta_whatsapp/webhook
  Dashboard             http://{web_host}:{web_port}/
  Outbox worker         sends ops alerts over WhatsApp when a provider is configured
  Profile               {profile.load_profile().name}
  Store                 {make_url(database_url).render_as_string(hide_password=True)}
  Logs                  {var_dir}/logs/{extra}
Press Ctrl-C to stop."""


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # the servers run in sessions of their own: a signal to us alone must stop them


def serve(processes: list[subprocess.Popen], rasa_port: int, shell_tenant: str | None) -> None:
    """Until Ctrl-C, SIGTERM or a server stops (or the shell ends), then stop them all."""

    signal.signal(signal.SIGTERM, interrupt)
    try:
        if shell_tenant:
            from grace.run.shell import chat

            chat(shell_tenant, "+2348000000000", f"http://127.0.0.1:{rasa_port}")
        else:
            while all(p.poll() is None for p in processes):
                time.sleep(1)
            print("A server stopped; see the logs.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C (or the group-wide signal a process manager sends) must not cut the stopping
        # short: the servers run in sessions of their own and would be left holding the ports.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nStopping Grace...", flush=True)
        stop(processes)


def exposure_problem(host: str) -> str | None:
    """Why Rasa may not listen on `host` yet: beyond this machine the REST channel needs its token."""
    if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("GRACE_REST_TOKEN"):
        return (f"GRACE_RASA_HOST={host} lets other machines call the REST channel as any customer: set "
                "GRACE_REST_TOKEN first (README, 'Talking to Grace').")
    return None


T = TypeVar("T")


def launch(host: str, what: str, starting: str, start_servers: Callable[[], T]) -> T | None:
    """The checks before a start (Rasa exposed without the REST token, example-file secrets), then the
    start; None, with the reason printed, when refused, failed or stopped while starting."""
    problem = exposure_problem(host)
    if problem:
        print(problem, file=sys.stderr)
        return None
    refuse_placeholder_secrets(what)
    print(starting)
    signal.signal(signal.SIGTERM, interrupt)  # stopped while starting: the start stops what it started
    try:
        return start_servers()
    except (RuntimeError, profile.ProfileError) as exc:
        print(exc, file=sys.stderr)
    except KeyboardInterrupt:
        print("\nStopped while starting.", file=sys.stderr)
    return None


def run(shell_tenant: str | None = None) -> int:
    if not MODEL.exists():
        print("No trained model: run 'make train' first.", file=sys.stderr)
        return 1
    settings = load_settings()
    rasa_port = int(os.environ.get("GRACE_RASA_PORT", DEFAULT_RASA_PORT))
    actions_port = int(os.environ.get("GRACE_ACTIONS_PORT", DEFAULT_ACTIONS_PORT))
    host = os.environ.get("GRACE_RASA_HOST", "127.0.0.1")
    processes = launch(host, "Grace", "Starting Grace (the first start takes about a minute)...",
                       lambda: start(settings.var_dir, rasa_port, actions_port, host))
    if processes is None:
        return 1
    print(describe(host, rasa_port, f"http://127.0.0.1:{actions_port}/webhook", settings.var_dir,
                   settings.database_url))
    serve(processes, rasa_port, shell_tenant)
    return 0
