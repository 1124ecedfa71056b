from __future__ import annotations

import pytest

from tests.helpers import make_tenants


@pytest.fixture
def grace_env(tmp_path, monkeypatch):
    """A fresh store (SQLite file) and tenants folder for each test."""
    tenants = make_tenants(tmp_path)
    monkeypatch.setenv("GRACE_TENANTS_DIR", str(tenants))
    monkeypatch.setenv("GRACE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GRACE_DEFAULT_TENANT", "akanraby")
    monkeypatch.delenv("GRACE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path
