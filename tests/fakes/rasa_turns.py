"""Rasa's /webhooks/whatsapp/turn route as the webhook gateway calls it, for tests of what happens before a
turn (signatures, suspension, privacy requests): it checks Rasa's token, answers one reply per turn ("Grace on
'<text>'") and keeps the (sender, text) of every message that reached a turn, in order."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import free_port

TURN_PATH = "/webhooks/whatsapp/turn"


class RasaTurns:
    def __init__(self, token: str) -> None:
        self.turns: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != TURN_PATH or self.headers.get("Authorization") != f"Bearer {token}":
                    self.send_response(401)
                    self.end_headers()
                    return
                fake.turns.append((body["sender"], body["text"]))
                answer = json.dumps([{"text": f"Grace on {body['text']!r}"}]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.turns]


@contextmanager
def rasa_turns_serving(token: str) -> Iterator[RasaTurns]:
    fake = RasaTurns(token)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
