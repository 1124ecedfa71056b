"""The scaled profile started once for the module: two Rasa replicas, two action servers and the
balancer, on free ports, against a throwaway PostgreSQL database and an empty Redis db of their own."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from grace.run import local
from grace.run import scaled as scaled_run
from tests.helpers import free_port, make_tenants
from tests.scale.services import empty_redis_db, plenty_of_stock, throwaway_database

LOCK_LIFETIME_S = 20  # a killed replica's conversation tickets expire this soon (Rasa's default: 60 s)


class Scaled:
    def __init__(self, handle: scaled_run.Cluster, rasa_port: int, database_url: str, var_dir: Path) -> None:
        self.cluster, self.database_url, self.var_dir = handle, database_url, var_dir
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.engine = create_engine(database_url, future=True, pool_pre_ping=True)
        self.killed_load = None  # the load a replica was killed under, for the test that checks its orders

    def sql(self, query: str, **params) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    if not local.MODEL.exists():
        pytest.fail("no trained model: run 'make train'")
    root = tmp_path_factory.mktemp("scaled")
    tenants = make_tenants(root)
    plenty_of_stock(tenants)
    saved = dict(os.environ)
    with throwaway_database() as database_url, empty_redis_db() as redis_url:
        os.environ.update(GRACE_TENANTS_DIR=str(tenants), GRACE_VAR_DIR=str(root / "var"), GRACE_PROFILE="scaled",
                          GRACE_DEFAULT_TENANT="akanraby", DATABASE_URL=database_url, REDIS_URL=redis_url,
                          TICKET_LOCK_LIFETIME=str(LOCK_LIFETIME_S))
        for variable in ("GRACE_RASA_TOKEN", "GRACE_DATABASE_URL", "GRACE_TRACKER_DATABASE_URL",
                         "GRACE_DEDUPE_DATABASE_URL"):
            os.environ.pop(variable, None)
        rasa_port = free_port()
        handle = None
        try:
            handle = scaled_run.start(root / "var", rasa_port, replicas=2, webhook_port=free_port(),
                                      web_port=free_port())
            scaled = Scaled(handle, rasa_port, database_url, root / "var")
            yield scaled
            scaled.engine.dispose()
        finally:
            if handle is not None:
                scaled_run.stop(handle)
            os.environ.clear()
            os.environ.update(saved)
