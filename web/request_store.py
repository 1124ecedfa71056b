"""One store session per request, opened on first use and closed (committed or rolled back) at
the end of the request; never shared between requests or threads."""
from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from grace.store import session_scope


def db() -> Session:
    if "db_scope" not in g:
        g.db_scope = session_scope()
        g.db_session = g.db_scope.__enter__()
    return g.db_session


def init_db(app: Flask) -> None:
    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        scope = g.pop("db_scope", None)
        if scope is not None:
            g.pop("db_session", None)
            if exc is None:
                scope.__exit__(None, None, None)
            else:
                scope.__exit__(type(exc), exc, exc.__traceback__)
