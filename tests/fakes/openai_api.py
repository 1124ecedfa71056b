"""A local OpenAI-compatible server (POST /v1/chat/completions) with scripted answers, delays and errors."""
from __future__ import annotations

import json
import time
from collections import deque
from email.message import Message
from typing import Any

from tests.fakes.twilio_api import HTTPFake, Reply


class FakeOpenAI(HTTPFake):
    def __init__(self, api_key: str = "sk-test-grace") -> None:
        super().__init__()
        self.api_key = api_key
        self._script: deque[dict[str, Any]] = deque()
        self.default_answer = "Lovely question! Shall I show you some of our ankara? 😊"

    def start(self) -> FakeOpenAI:
        super().start()
        return self

    def answer(self, content: str, delay: float = 0) -> None:
        """Queue the next completion's text (answers are used in order, then the default)."""
        with self._cond:
            self._script.append({"content": content, "delay": delay})

    def error(self, status: int, count: int = 1) -> None:
        with self._cond:
            self._script.extend({"status": status} for _ in range(count))

    @property
    def prompts(self) -> list[list[dict]]:
        """The messages of every chat completion request received."""
        return [r["json"]["messages"] for r in self.requests]

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        if method != "POST" or path.rstrip("/") != "/v1/chat/completions":
            return Reply.json(404, {"error": {"message": f"Unknown endpoint {path}", "type": "invalid_request_error"}})
        if headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return Reply.json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        request = json.loads(body or b"{}")
        with self._cond:
            step = self._script.popleft() if self._script else {"content": self.default_answer, "delay": 0}
        if "status" in step:
            self._record({"status": step["status"], "json": request})
            return Reply.json(step["status"], {"error": {"message": "scripted failure", "type": "server_error"}})
        if step.get("delay"):
            time.sleep(step["delay"])
        self._record({"status": 200, "json": request}, {"content": step["content"]})
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
        return Reply.json(200, {
            "id": "chatcmpl-grace-test", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", "unknown"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": step["content"]},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(step["content"].split()),
                      "total_tokens": prompt_tokens + len(step["content"].split())}})
