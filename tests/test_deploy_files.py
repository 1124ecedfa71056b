"""The deployment files (deploy/docker-compose.yml, deploy/k8s/) agree with the code: the scaled profile,
the variables Grace reads, the runner's ports, and the health endpoints the servers answer."""
from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import pytest
import yaml

from grace.config import PROJECT_ROOT
from grace.rasa_plugins import profile
from grace.run.local import DEFAULT_ACTIONS_PORT, DEFAULT_RASA_PORT, DEFAULT_WEBHOOK_PORT, TENSORFLOW_THREADS

DEPLOY = PROJECT_ROOT / "deploy"
WEB_PORT = 8000  # web/__main__.py's default GRACE_WEB_PORT
GRACE_IMAGE = "grace:latest"
# Read by Rasa itself, not by our code.
RASA_VARIABLES = {"SANIC_WORKERS", "TICKET_LOCK_LIFETIME", *TENSORFLOW_THREADS}
# The commands each Grace process runs, by service name.
COMMANDS = {"rasa": "rasa run", "actions": "actions.server", "gateway": "connectors.gateway",
            "outbox": "grace.run.outbox", "web": "-m web", "migrate": "grace.store.migrate upgrade"}


def variables_grace_reads() -> set[str]:
    names = set(RASA_VARIABLES) | {"GRACE_PROFILE"}
    names |= set(profile.APP_DATABASE_VARIABLES + profile.TRACKER_DATABASE_VARIABLES + profile.REDIS_VARIABLES)
    pattern = re.compile(r"""(?:environ(?:\.get)?|getenv)\s*[(\[]\s*["']([A-Z][A-Z0-9_]+)["']""")
    for folder in ("grace", "connectors", "actions", "web"):
        for source in (PROJECT_ROOT / folder).rglob("*.py"):
            names |= set(pattern.findall(source.read_text()))
    return names


@cache
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


@cache
def k8s_documents() -> list[dict]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())
            if doc]


def k8s_named(kind: str, name: str) -> dict:
    return next(doc for doc in k8s_documents() if doc["kind"] == kind and doc["metadata"]["name"] == name)


def k8s_containers() -> dict[str, dict]:
    """Grace's containers by workload name (Deployments and the migration Job)."""
    found = {}
    for doc in k8s_documents():
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["image"] == GRACE_IMAGE:
                    found[doc["metadata"]["name"].removeprefix("grace-")] = container
    return found


def k8s_env(container: dict) -> dict[str, str]:
    """What the container's environment holds (ConfigMap and Secret entries included)."""
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(k8s_named("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            env.update(k8s_named("Secret", source["secretRef"]["name"])["stringData"])
    env.update({item["name"]: item.get("value", "") for item in container.get("env", [])})
    return env


def compose_env(service: dict) -> dict[str, str]:
    # ${VAR:?message} / ${VAR:-default}: any value will do to check the names and the profile.
    return {name: re.sub(r"\$\{[^}]*\}", "x", str(value)) for name, value in service.get("environment", {}).items()}


def compose_grace_services() -> dict[str, dict]:
    return {name: service for name, service in compose()["services"].items() if service.get("image") == GRACE_IMAGE}


def command_text(command) -> str:
    return command if isinstance(command, str) else " ".join(command)


def deployments() -> list[tuple[str, dict[str, dict]]]:
    """(style, Grace's processes by name -> {"env", "command"}) for both deployment styles."""
    k8s = {name: {"env": k8s_env(c), "command": command_text(c["command"])} for name, c in k8s_containers().items()}
    dc = {name: {"env": compose_env(s), "command": command_text(s["command"])}
          for name, s in compose_grace_services().items()}
    return [("k8s", k8s), ("docker-compose", dc)]


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_every_process_of_grace_is_deployed(where, processes):
    assert set(processes) == set(COMMANDS), where
    for name, command in COMMANDS.items():
        assert command in processes[name]["command"], f"{where}: {name} runs {processes[name]['command']!r}"


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_every_variable_set_is_one_grace_reads(where, processes):
    known = variables_grace_reads()
    for name, process in processes.items():
        unknown = set(process["env"]) - known
        assert not unknown, f"{where}: {name} sets {sorted(unknown)}, which nothing reads (a typo?)"


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_every_process_runs_the_complete_scaled_profile(where, processes):
    for name, process in processes.items():
        chosen = profile.load_profile(process["env"])
        assert chosen.name == "scaled", f"{where}: {name}"
        assert chosen.app_database_variable and chosen.tracker_database_variable and chosen.redis_variable, name
        assert process["env"]["GRACE_RASA_URL"] == f"http://rasa:{DEFAULT_RASA_PORT}", f"{where}: {name}"


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_rasa_runs_tensorflow_on_the_threads_the_runner_gives_it(where, processes):
    """`make run` and the bench give Rasa one thread per TensorFlow pool; a deployed replica must too."""
    env = processes["rasa"]["env"]
    assert {name: env.get(name) for name in TENSORFLOW_THREADS} == TENSORFLOW_THREADS, where


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_rasa_reads_the_endpoints_the_profile_writes_with_the_action_service(where, processes):
    words = shlex.split(processes["rasa"]["command"].replace("sh -c ", "", 1))
    written = words[words.index("grace.rasa_plugins.profile") + 1]
    assert words[words.index("--endpoints") + 1] == written
    assert words[words.index("--actions-url") + 1] == f"http://actions:{DEFAULT_ACTIONS_PORT}/webhook"
    assert words[words.index("--port") + 1] == str(DEFAULT_RASA_PORT)
    assert f"--port {DEFAULT_ACTIONS_PORT}" in processes["actions"]["command"]


def k8s_probe(container: dict, kind: str) -> tuple[str, int]:
    probe = container[kind]["httpGet"]
    return probe["path"], probe["port"]


def k8s_service_port(name: str) -> int:
    (port,) = k8s_named("Service", name)["spec"]["ports"]
    assert port["port"] == port["targetPort"]
    return port["port"]


@pytest.mark.parametrize("name, port, ready, alive", [
    ("rasa", DEFAULT_RASA_PORT, "/webhooks/rest/", "/"),
    ("actions", DEFAULT_ACTIONS_PORT, "/health", "/health"),
    ("gateway", DEFAULT_WEBHOOK_PORT, "/health", "/health"),
    ("web", WEB_PORT, "/health", "/health"),
])
def test_k8s_ports_and_health_endpoints_are_the_servers_own(name, port, ready, alive):
    container = k8s_containers()[name]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert k8s_service_port(name) == port
    assert k8s_probe(container, "readinessProbe") == (ready, port)
    assert k8s_probe(container, "livenessProbe") == (alive, port)
    env = k8s_env(container)
    port_variable = {"gateway": "GRACE_WEBHOOK_PORT", "web": "GRACE_WEB_PORT"}.get(name)
    if port_variable:
        assert env[port_variable] == str(port)


@pytest.mark.parametrize("name, port, path", [
    ("rasa", DEFAULT_RASA_PORT, "/webhooks/rest/"),
    ("actions", DEFAULT_ACTIONS_PORT, "/health"),
    ("gateway", DEFAULT_WEBHOOK_PORT, "/health"),
    ("web", WEB_PORT, "/health"),
])
def test_compose_health_checks_call_the_servers_own_endpoints(name, port, path):
    service = compose_grace_services()[name]
    assert f"http://127.0.0.1:{port}{path}'" in command_text(service["healthcheck"]["test"])
    published = service.get("ports", [])
    assert published in ([], [f"{port}:{port}"])


def test_k8s_services_select_the_pods_of_their_workloads():
    workloads = {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] in ("Deployment",
                                                                                            "StatefulSet")}
    for doc in k8s_documents():
        if doc["kind"] in ("Deployment", "StatefulSet"):
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items(), doc["metadata"]["name"]
        if doc["kind"] == "Service":
            pods = workloads[doc["metadata"]["name"]]["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"].items() <= pods.items(), doc["metadata"]["name"]


def test_the_databases_and_redis_of_the_urls_are_deployed():
    secret = k8s_named("Secret", "grace-secrets")["stringData"]
    password = k8s_named("Secret", "grace-postgres")["stringData"]["POSTGRES_PASSWORD"]
    assert secret["DATABASE_URL"].startswith(f"postgresql://grace:{password}@postgres:{k8s_service_port('postgres')}/")
    redis_password = k8s_named("Secret", "grace-redis")["stringData"]["REDIS_PASSWORD"]
    assert secret["REDIS_URL"].startswith(f"redis://:{redis_password}@redis:{k8s_service_port('redis')}/")
    services = compose()["services"]
    env = compose_env(compose_grace_services()["rasa"])
    assert env["DATABASE_URL"].startswith("postgresql://grace:x@postgres:5432/")
    assert services["postgres"]["environment"]["POSTGRES_DB"] == env["DATABASE_URL"].rsplit("/", 1)[1]
    assert env["REDIS_URL"].startswith("redis://:x@redis:6379/")  # with the password Redis requires
    assert "--requirepass" in services["redis"]["command"]


def test_the_image_is_built_from_the_repository_with_the_model():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.10" in dockerfile  # Rasa 3.6 needs Python 3.10
    assert "models/grace.tar.gz" in dockerfile
    ignored = {line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()}
    assert not ignored & {"models", "tenants", "grace", "actions", "connectors", "web", "data"}
    assert {".env", "*.env"} <= ignored  # a developer's secrets never enter an image
    assert Path(PROJECT_ROOT / compose()["services"]["migrate"]["build"]["dockerfile"]).exists()


def migrate_words(processes: dict[str, dict]) -> list[str]:
    return shlex.split(processes["migrate"]["command"].replace("sh -c ", "", 1))


@pytest.mark.parametrize("where, processes", deployments(), ids=["k8s", "compose"])
def test_the_migrate_step_makes_rasas_tables_from_the_endpoints_the_profile_writes(where, processes):
    words = migrate_words(processes)
    written = words[words.index("grace.rasa_plugins.profile") + 1]
    assert words[words.index("--create-tables") + 1] == written, where
    order = [words.index(m) for m in ("grace.store.migrate", "grace.rasa_plugins.profile", "grace.run.scaled")]
    assert order == sorted(order), where
    rasa = shlex.split(processes["rasa"]["command"].replace("sh -c ", "", 1))
    assert words[words.index("--actions-url") + 1] == rasa[rasa.index("--actions-url") + 1], where


def test_the_migrate_command_prepares_a_new_database_for_replicas_and_can_run_again(pg_url, tmp_path):
    """The deployments' migrate command itself, run as its container would (in a folder of its own) against a new
    PostgreSQL database: the app store's schema and Rasa's shared tables are there afterwards."""
    import os
    import subprocess
    import sys

    from sqlalchemy import create_engine, inspect

    command = k8s_containers()["migrate"]["command"]
    assert command == compose_grace_services()["migrate"]["command"]  # one command to test for both
    env = {**os.environ, **k8s_env(k8s_containers()["migrate"]), "DATABASE_URL": pg_url, "REDIS_URL": "redis://127.0.0.1:6379/12",
           "GRACE_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(PROJECT_ROOT),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    for _ in range(2):  # every release runs it again
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-2000:]
    engine = create_engine(pg_url, future=True)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"events", "analytics_events", "alembic_version", "orders", "pending_turns"} <= tables


def test_making_rasas_tables_without_the_endpoints_file_says_so(tmp_path, capsys):
    from grace.run.scaled import main

    assert main(["--create-tables", str(tmp_path / "var" / "endpoints.yml")]) == 2
    assert "no such endpoints file (python -m grace.rasa_plugins.profile writes it)" in capsys.readouterr().err
