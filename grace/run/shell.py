"""Chat with a running Grace as a customer of a tenant, through the REST channel."""
from __future__ import annotations

import os

import requests

from grace.config import load_settings


def show(messages: list[dict]) -> None:
    for message in messages:
        if message.get("text"):
            print(f"Grace: {message['text']}")
        if message.get("image"):
            print(f"       [image] {message['image']}")
        for i, button in enumerate(message.get("buttons") or [], 1):
            print(f"       {i}) {button.get('title')}")


def chat(tenant: str, sender: str, base_url: str | None = None) -> int:
    base_url = base_url or f"http://127.0.0.1:{os.environ.get('GRACE_RASA_PORT', 5005)}"
    url = f"{base_url}/webhooks/rest/webhook"
    # The REST channel asks for its token when one is set; Rasa's own token serves this machine's operator.
    token = os.environ.get("GRACE_REST_TOKEN") or load_settings().rasa_token or ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    print(f"Chatting with {tenant} as {sender}. Send a picture with 'img <url>'. Ctrl-D to quit.")
    while True:
        try:
            text = input("You: ")
        except EOFError:
            return 0
        metadata: dict = {"tenant": tenant}
        if text.startswith("img "):
            metadata["media"] = [{"url": text[4:].strip(), "content_type": "image/jpeg"}]
            text = ""
        try:
            reply = requests.post(url, json={"sender": sender, "message": text, "metadata": metadata},
                                  headers=headers, timeout=60)
        except requests.RequestException as exc:
            print(f"(Grace is not reachable at {base_url}: {exc})")
            continue
        if reply.status_code != 200:
            print(f"({reply.status_code}: {reply.text})")
            continue
        show(reply.json())
