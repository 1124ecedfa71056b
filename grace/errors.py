"""Errors that carry enough context to tell a person what to fix."""
from __future__ import annotations


class GraceError(Exception):
    """Base class for errors Grace reports to people (not bugs)."""


class UnknownTenant(GraceError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"unknown tenant {tenant_id!r}")
        self.tenant_id = tenant_id


class TenantFileError(GraceError):
    """A tenant file is malformed: names the file and the field."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path, self.field, self.problem = path, field, problem
