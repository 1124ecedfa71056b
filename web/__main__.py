"""`python -m web`: serve the dashboard on 127.0.0.1:$GRACE_WEB_PORT (8000); GRACE_WEB_HOST to expose it.

No production WSGI server (waitress, gunicorn) is installed, so werkzeug serves it, one thread
per request; put it behind a reverse proxy for TLS.
"""
from __future__ import annotations

import os

from werkzeug.serving import run_simple

from web.app import create_app


def main() -> None:
    host = os.environ.get("GRACE_WEB_HOST", "127.0.0.1")
    port = int(os.environ.get("GRACE_WEB_PORT", "8000"))
    run_simple(host, port, create_app(), threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
