"""`python -m grace.run.balancer`: a small HTTP load balancer in front of several Rasa replicas.

Round robin over the upstreams, with passive health: an upstream that refuses a connection is left
out for a few seconds and the request goes to the next one (it was never sent, so this is safe for
POSTs). A replica that dies while computing a turn cannot be retried here: the turn may have
happened, so the sender gets a 502 with the reason and retries with the same message_id, which
the channel deduplicates (connectors/rest.py). nginx would do the same; this avoids a system
package for one process and keeps the policy in a file the tests exercise.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import time

import aiohttp
from aiohttp import web

log = logging.getLogger("grace.run.balancer")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}
DOWN_FOR_S = 5.0  # how long an upstream that refused a connection is left out
TURN_TIMEOUT_S = 300.0  # a turn waits behind others of its conversation; the sender decides when to give up


class Balancer:
    def __init__(self, upstreams: list[str]) -> None:
        if not upstreams:
            raise ValueError("give at least one upstream")
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self._down_until = {u: 0.0 for u in self.upstreams}
        self._served = {u: 0 for u in self.upstreams}
        self._turns = itertools.cycle(range(len(self.upstreams)))
        self._session: aiohttp.ClientSession | None = None

    def candidates(self) -> list[str]:
        """Every upstream, starting with the next in turn; those marked down go last (they may be back)."""
        start = next(self._turns)
        ordered = self.upstreams[start:] + self.upstreams[:start]
        now = time.monotonic()
        return sorted(ordered, key=lambda u: self._down_until[u] > now)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/balancer/health":
            now = time.monotonic()
            return web.json_response({u: {"state": "down" if self._down_until[u] > now else "up",
                                          "served": self._served[u]} for u in self.upstreams})
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        assert self._session is not None  # opened on startup
        for upstream in self.candidates():
            try:
                async with self._session.request(request.method, upstream + request.path_qs, data=body,
                                                 headers=headers, allow_redirects=False) as answer:
                    payload = await answer.read()
                    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                    self._served[upstream] += 1
                    return web.Response(status=answer.status, body=payload, headers=kept)
            except aiohttp.ClientConnectorError:
                # Never reached the replica: mark it down and try the next one.
                self._down_until[upstream] = time.monotonic() + DOWN_FOR_S
                log.warning("upstream %s refused the connection; trying the next", upstream)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                # Sent, then lost: the turn may have run, so only the sender may retry (with its message_id).
                self._down_until[upstream] = time.monotonic() + DOWN_FOR_S
                log.warning("upstream %s failed mid-request: %r", upstream, error)
                return web.json_response({"error": "upstream_failed", "message": "The server handling this "
                                          "message stopped; send it again with the same message_id."}, status=502)
        return web.json_response({"error": "no_upstream", "message": "No Grace server is up; try again shortly."},
                                 status=503)

    async def open(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_S, connect=2),
                                              connector=aiohttp.TCPConnector(limit=0))

    async def close(self, app: web.Application) -> None:
        if self._session:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self.open)  # type: ignore[arg-type]  # aiohttp 3.9's Signal annotation
        app.on_cleanup.append(self.close)  # type: ignore[arg-type]
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grace.run.balancer", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True, help="base URL of a replica (repeat)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    web.run_app(Balancer(args.upstream).app(), host=args.host, port=args.port, access_log=None,
                print=lambda *_: None)


if __name__ == "__main__":
    main()
