"""A local OpenAI-compatible server (POST /v1/chat/completions) with scripted answers, delays and errors.

Requests are judged as the real API judges them before any answer is scripted: a Bearer key (401
otherwise), a JSON object body, ``model`` a string, ``messages`` a non-empty list of objects with a
known ``role`` and a ``content`` of the right type, and sampling parameters in range. A refusal is
a 400 with OpenAI's error object: {"error": {"message", "type": "invalid_request_error", "param",
"code"}}.
"""
from __future__ import annotations

import json
import time
from collections import deque
from email.message import Message
from typing import Any

from tests.fakes.twilio_api import HTTPFake, Reply

__all__ = ["FakeOpenAI", "validate_chat_request"]

# "function" is deprecated but still accepted by the API, so the fake accepts it too.
ROLES = ("system", "user", "assistant", "tool", "developer", "function")
_KEYS_URL = "https://platform.openai.com/account/api-keys"
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username and password. You can "
    f"obtain an API key from {_KEYS_URL}."
)
_NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you "
    "have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"
)
# name: (kind, minimum, maximum); None: unbounded on that side.
_NUMBERS: dict[str, tuple[str, float | None, float | None]] = {
    "temperature": ("decimal", 0, 2),
    "top_p": ("decimal", 0, 1),
    "presence_penalty": ("decimal", -2, 2),
    "frequency_penalty": ("decimal", -2, 2),
    "max_tokens": ("integer", 1, None),
    "max_completion_tokens": ("integer", 1, None),
    "n": ("integer", 1, 128),
}


class Refusal(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def _error(status: int, message: str, param: str | None = None, code: str | None = None,
           kind: str = "invalid_request_error") -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _wrong_type(param: str, expected: str, value: Any) -> Refusal:
    return Refusal(f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
                   param, "invalid_type")


def _missing(param: str) -> Refusal:
    return Refusal(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _check_number(name: str, value: Any) -> None:
    kind, low, high = _NUMBERS[name]
    if value is None:
        return  # every one of these is nullable: null means the default
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "integer" and not is_int:
        raise _wrong_type(name, "an integer", value)
    if kind == "decimal" and not (is_int or isinstance(value, float)):
        raise _wrong_type(name, "a decimal", value)
    if low is not None and value < low:
        raise Refusal(f"Invalid '{name}': {kind} below minimum value. Expected a value >= {low}, but got "
                      f"{value} instead.", name, f"{kind}_below_min_value")
    if high is not None and value > high:
        raise Refusal(f"Invalid '{name}': {kind} above maximum value. Expected a value <= {high}, but got "
                      f"{value} instead.", name, f"{kind}_above_max_value")


def _check_content(where: str, content: Any) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _wrong_type(where, "one of a string or array of objects", content)
    for index, part in enumerate(content):
        here = f"{where}[{index}]"
        if not isinstance(part, dict):
            raise _wrong_type(here, "an object", part)
        if "type" not in part:
            raise _missing(f"{here}.type")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise _missing(f"{here}.text") if "text" not in part else _wrong_type(f"{here}.text", "a string",
                                                                                  part["text"])


def _check_message(index: int, message: Any, previous: list[Any]) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise _wrong_type(where, "an object", message)
    if "role" not in message:
        raise _missing(f"{where}.role")
    role = message["role"]
    if role not in ROLES:
        supported = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
        raise Refusal(f"Invalid value: {json.dumps(role)}. Supported values are: {supported}.",
                      f"{where}.role", "invalid_value")
    calls_tools = role == "assistant" and (message.get("tool_calls") or message.get("function_call"))
    content = message.get("content")
    if content is None:
        if not calls_tools:  # an assistant turn may be only tool calls; every other turn needs content
            raise _missing(f"{where}.content")
    else:
        _check_content(f"{where}.content", content)
    if "tool_calls" in message and message["tool_calls"] == []:
        raise Refusal(f"Invalid '{where}.tool_calls': empty array. Expected an array with minimum length 1, "
                      "but got an empty array instead.", f"{where}.tool_calls", "empty_array")
    if role == "tool":
        if "tool_call_id" not in message:
            raise _missing(f"{where}.tool_call_id")
        if not any(isinstance(m, dict) and m.get("tool_calls") for m in previous):
            raise Refusal("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                          "message with 'tool_calls'.", f"{where}.role", None)
    if role == "function" and not isinstance(message.get("name"), str):
        raise _missing(f"{where}.name")


def validate_chat_request(request: Any) -> Refusal | None:
    """Why the real API would answer 400 to this chat completion body, or None."""
    try:
        if not isinstance(request, dict):
            raise Refusal(_NOT_JSON)
        if "model" not in request:
            raise Refusal("you must provide a model parameter")
        if not isinstance(request["model"], str):
            raise _wrong_type("model", "a string", request["model"])
        if "messages" not in request:
            raise _missing("messages")
        messages = request["messages"]
        if not isinstance(messages, list):
            raise _wrong_type("messages", "an array", messages)
        if not messages:
            raise Refusal("Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
                          "an empty array instead.", "messages", "empty_array")
        for index, message in enumerate(messages):
            _check_message(index, message, messages[:index])
        for name in _NUMBERS:
            if name in request:
                _check_number(name, request[name])
        if "stream" in request and not isinstance(request["stream"], (bool, type(None))):
            raise _wrong_type("stream", "a boolean", request["stream"])
    except Refusal as refusal:
        return refusal
    return None


class FakeOpenAI(HTTPFake):
    def __init__(self, api_key: str = "sk-test-grace") -> None:
        super().__init__()
        self.api_key = api_key
        self._script: deque[dict[str, Any]] = deque()
        self.default_answer = "Lovely question! Shall I show you some of our ankara? 😊"
        self.default_delay = 0.0  # seconds before the default answer (a model's latency, for `make bench`)

    def answer(self, content: str, delay: float = 0) -> None:
        """Queue the next completion's text (answers are used in order, then the default)."""
        with self._cond:
            self._script.append({"content": content, "delay": delay})

    def error(self, status: int, count: int = 1) -> None:
        with self._cond:
            self._script.extend({"status": status} for _ in range(count))

    @property
    def refusals(self) -> list[str]:
        """Why each refused request was refused (400 and 401), oldest first."""
        return [r["refused"] for r in self.requests if r.get("refused")]

    @property
    def prompts(self) -> list[list[dict]]:
        """The messages of every well-formed chat completion request received (refused ones are left out)."""
        return [r["json"]["messages"] for r in self.requests if not r.get("refused")]

    def _unauthorised(self, headers: Message) -> Reply | None:
        scheme, _, key = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return _error(401, _NO_KEY)
        key = key.strip()
        if key != self.api_key:
            shown = key if len(key) <= 8 else f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"
            return _error(401, f"Incorrect API key provided: {shown}. You can find your API key at {_KEYS_URL}.",
                          code="invalid_api_key")
        return None

    def _dispatch(self, method: str, path: str, headers: Message, body: bytes) -> Reply:
        if method != "POST" or path.rstrip("/") != "/v1/chat/completions":
            return _error(404, f"Invalid URL ({method} {path})")
        if refused := self._unauthorised(headers):
            self._record({"status": 401, "json": None, "refused": "bad API key"})
            return refused
        try:
            request: Any = json.loads(body)
        except ValueError:
            request = None
        if refusal := validate_chat_request(request):
            self._record({"status": 400, "json": request, "refused": refusal.message})
            return _error(400, refusal.message, refusal.param, refusal.code)
        with self._cond:
            step = (self._script.popleft() if self._script
                    else {"content": self.default_answer, "delay": self.default_delay})
        if "status" in step:
            self._record({"status": step["status"], "json": request})
            return _error(step["status"], "scripted failure", kind="server_error")
        if step.get("delay"):
            time.sleep(step["delay"])
        self._record({"status": 200, "json": request}, {"content": step["content"]})
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request["messages"])
        return Reply.json(200, {
            "id": "chatcmpl-grace-test", "object": "chat.completion", "created": int(time.time()),
            "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": step["content"]},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(step["content"].split()),
                      "total_tokens": prompt_tokens + len(step["content"].split())}})
