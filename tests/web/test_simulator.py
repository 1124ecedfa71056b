"""The chat simulator talks to Grace's REST channel as a customer of the signed-in user's tenant."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.web.conftest import PNG, csrf_token, login, post_form


class FakeRasa:
    """Rasa's REST webhook on 127.0.0.1: records each message, answers like Grace would."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.received.append({"path": self.path, **body})
                text = f"Welcome to <{body['metadata']['tenant']}>"
                reply = json.dumps([{"recipient_id": body["sender"], "text": text}])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def rasa(web_env, monkeypatch):
    fake = FakeRasa()
    monkeypatch.setenv("GRACE_RASA_URL", fake.url)
    yield fake
    fake.close()


def test_a_message_goes_to_grace_as_this_tenants_customer_and_the_reply_is_shown(client, rasa):
    login(client, "ops@kentehouse.test")
    post_form(client, "/simulator", {"message": "hello"}, page="/simulator")
    [sent] = rasa.received
    assert sent["path"] == "/webhooks/rest/webhook" and sent["message"] == "hello"
    assert sent["metadata"]["tenant"] == "kentehouse" and sent["sender"].startswith("simulator-")
    page = client.get("/simulator").get_data(as_text=True)
    assert "Grace: Welcome to &lt;kentehouse&gt;" in page


def test_grace_down_or_empty_message_is_said_plainly(client, web_env):
    login(client, "owner@akanraby.test")
    post_form(client, "/simulator", {"message": "hello"}, page="/simulator")
    assert "Grace did not answer" in client.get("/simulator").get_data(as_text=True)
    post_form(client, "/simulator", {"message": "   "}, page="/simulator")
    assert "Type a message or choose a picture first" in client.get("/simulator").get_data(as_text=True)


def test_viewers_cannot_use_the_simulator(client, rasa):
    login(client, "viewer@akanraby.test")
    assert client.get("/simulator").status_code == 403
    assert post_form(client, "/simulator", {"message": "hi"}).status_code == 403
    assert rasa.received == []


def test_a_picture_goes_to_grace_as_a_customer_s_would_and_a_bad_file_is_refused(client, rasa, web_env, monkeypatch):
    monkeypatch.setenv("GRACE_MEDIA_BASE_URL", "https://grace.example.test/media")
    login(client, "ops@akanraby.test")
    token = csrf_token(client, "/simulator")
    client.post("/simulator", data={"csrf_token": token, "message": "",
                                    "picture": (io.BytesIO(PNG), "style.png", "image/png")},
                content_type="multipart/form-data")
    [sent] = rasa.received
    [media] = sent["metadata"]["media"]
    assert media["content_type"] == "image/png" and media["url"].startswith("https://grace.example.test/media/akanraby/")

    client.post("/simulator", data={"csrf_token": token, "message": "see",
                                    "picture": (io.BytesIO(b"MZ\x90\x00 not a picture"), "style.png", "image/png")},
                content_type="multipart/form-data")
    assert len(rasa.received) == 1  # nothing sent
    assert "That file cannot be sent" in client.get("/simulator").get_data(as_text=True)


def test_whatsapp_formatting_shows_as_on_a_phone_and_markup_stays_text():
    from web.whatsapp_text import whatsapp_markup

    assert str(whatsapp_markup("1. *Lilac Dream* (LC-009) _soft_ ~old~")) == (
        "1. <strong>Lilac Dream</strong> (LC-009) <em>soft</em> <s>old</s>")
    assert str(whatsapp_markup("2 * 3 * 4 and snake_case_name")) == "2 * 3 * 4 and snake_case_name"
    assert str(whatsapp_markup("*<script>x</script>*")) == "<strong>&lt;script&gt;x&lt;/script&gt;</strong>"
