"""`python -m web`: serve the dashboard on 127.0.0.1:$GRACE_WEB_PORT (8000); GRACE_WEB_HOST to expose it.

Served by waitress: a production WSGI server in pure Python (no compiler, runs wherever Grace runs),
with a bounded thread pool and request size limits, unlike werkzeug's development server. Behind a
reverse proxy set GRACE_WEB_PROXIES (web/app.py).
"""
from __future__ import annotations

import os

from waitress import serve  # type: ignore[import-untyped]

from grace.config import refuse_placeholder_secrets
from web.app import MAX_UPLOAD_BYTES, create_app


def main() -> None:
    refuse_placeholder_secrets("the dashboard")
    host = os.environ.get("GRACE_WEB_HOST", "127.0.0.1")
    port = int(os.environ.get("GRACE_WEB_PORT", "8000"))
    serve(create_app(), host=host, port=port, threads=8, max_request_body_size=MAX_UPLOAD_BYTES + 1024 * 1024,
          ident="grace")


if __name__ == "__main__":
    main()
