"""`python -m actions.server`: Rasa's action server for Grace, private by default.

Rasa's own (`python -m rasa_sdk`) listens on every interface, answers anyone and, on an error, echoes
the request back. An action runs as any customer of any business it is told to, so here it listens on
127.0.0.1 unless GRACE_ACTIONS_HOST says otherwise (a container beside Rasa), and every call but
/health must carry the shared secret Rasa sends (endpoints.yml `action_endpoint.headers`).
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from grace.config import refuse_placeholder_secrets

TOKEN_HEADER = "X-Grace-Actions-Token"
log = logging.getLogger("grace.actions.server")


def build(token: str) -> Sanic:
    app = create_app("actions", cors_origins=None)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path == "/health":
            return None
        given = request.headers.get(TOKEN_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return response.json({"error": "unauthorised"}, status=401)
        return None

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        log.error("action call failed", exc_info=exception)  # the body stays in this log, not in the answer
        return response.json({"error": "the action failed"}, status=500)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRACE_ACTIONS_PORT", "5055")))
    parser.add_argument("--host", default=os.environ.get("GRACE_ACTIONS_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    refuse_placeholder_secrets("the action server")
    token = os.environ.get("GRACE_ACTIONS_TOKEN", "").strip()
    if not token:
        print("GRACE_ACTIONS_TOKEN is not set: Rasa must prove it is Rasa (make run sets it)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)
    build(token).run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
