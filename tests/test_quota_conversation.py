"""A business's plan used up in the middle of a conversation: the customer keeps getting replies.

Each customer message goes through the turn path every channel shares (connectors.turns.run_turn: suspension
check, metering, never an empty reply). Rasa's part (reading the message, choosing the next action) is played
by `Engine`: it calls the real action server over HTTP the way Rasa does, with the conversation's tracker, and
hands the actions' messages to the output channel. The model is the local OpenAI-compatible fake."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from rasa.core.channels.channel import UserMessage

from connectors.turns import run_turn
from grace.messaging.inbound import Inbound
from grace.run.local import wait_until_up
from grace.store import session_scope
from grace.tenancy.registry import get_registry
from grace.tenancy.usage import month_usage
from grace.tenancy.wording import Wording
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import ROOT, free_port

TOKEN = "actions-secret-for-quota-tests"
CUSTOMER = "+2348077712345"


@pytest.fixture
def model(grace_env, monkeypatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.base_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
        yield fake


@contextmanager
def serve_actions(tmp_path, monkeypatch, limits: str) -> Iterator[int]:
    """The action server in its own process, every business on a plan with these monthly limits."""
    plans = tmp_path / "plans.yml"
    plans.write_text(f"default: small\nplans:\n  small:\n    name: Small\n{limits}\n")
    monkeypatch.setenv("GRACE_PLANS_FILE", str(plans))
    with session_scope():  # the store exists before two processes share it
        pass
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)], cwd=ROOT,
                               env={**os.environ, "GRACE_ACTIONS_TOKEN": TOKEN},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/health", process, 90), "the action server did not start"
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


class Engine:
    """Rasa's part of each turn for a scripted conversation: the intent each message is read as and the action
    that follows, run on the action server with the conversation so far."""

    def __init__(self, port: int, script: dict[str, tuple[str, str, float]]) -> None:
        self.port, self.script = port, script  # text -> (intent, action, confidence)
        self.events: list[dict] = []
        self.slots: dict = {}

    async def __call__(self, message: UserMessage) -> None:
        intent, action, confidence = self.script[message.text or ""]
        parsed = {"text": message.text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
                  "intent_ranking": [{"name": intent, "confidence": confidence}]}
        self.events.append({"event": "user", "text": message.text, "parse_data": parsed,
                            "metadata": message.metadata or {}})
        body = {"next_action": action, "sender_id": message.sender_id, "version": "3.6.21", "domain": {},
                "tracker": {"sender_id": message.sender_id, "slots": dict(self.slots), "latest_message": parsed,
                            "events": list(self.events), "paused": False, "followup_action": None,
                            "active_loop": {}, "latest_action_name": "action_listen"}}
        answer = await asyncio.get_running_loop().run_in_executor(None, lambda: requests.post(
            f"http://127.0.0.1:{self.port}/webhook", json=body, headers={"X-Grace-Actions-Token": TOKEN},
            timeout=60))
        answer.raise_for_status()
        for event in answer.json().get("events", []):
            self.events.append(event)
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for response in answer.json().get("responses", []):
            await message.output_channel.send_response(message.sender_id, response)


def say(engine: Engine, text: str) -> str:
    """The customer writes; Grace's reply as they read it (every text of the turn)."""
    tenant = get_registry().get("akanraby")
    replies = asyncio.run(run_turn(Inbound("akanraby", CUSTOMER, text), tenant, engine, "rest"))
    return "\n".join(r.get("text") or "" for r in replies)


SCRIPT = {
    "hello": ("greet", "action_greet", 0.98),
    "who go win the league this year?": ("trivia", "action_redirect_offtopic", 0.9),
    "tell me a joke abeg": ("smalltalk", "action_redirect_offtopic", 0.9),
    "which lace would suit my mum's 60th": ("nlu_fallback", "action_grace_fallback", 0.2),
    "you dey fine o": ("flattery", "action_redirect_offtopic", 0.9),
    "another joke": ("smalltalk", "action_redirect_offtopic", 0.9),
}


def test_model_calls_used_up_mid_conversation_the_library_answers_and_every_message_gets_a_reply(
        model, tmp_path, monkeypatch):
    model.answer("Hehe, the real winner is our Royal Ivory lace 😄 Shall I send you pictures?")
    model.answer("Why did the ankara blush? It saw Marigold Bloom 😄 Want to see it?")
    model.answer("A third model answer must never be asked for")
    tenant = get_registry().get("akanraby")
    with serve_actions(tmp_path, monkeypatch, "    model_calls: 2") as port:
        engine = Engine(port, SCRIPT)
        said = [say(engine, text) for text in SCRIPT]
    greeting, trivia, joke, question, flattery, another = said
    assert all(text.strip() for text in said)  # never left without a reply
    assert "AkanrabyAtuche" in greeting
    assert "Royal Ivory lace 😄" in trivia and "Marigold Bloom 😄" in joke  # the plan's two model answers
    assert len(model.requests) == 2  # then the model is asked no more
    assert Wording(tenant)("fallback") in question  # the canned library's answer
    flattery_lines = [line.replace("{business}", tenant.name) for line in tenant.voice.redirects["flattery"]]
    assert flattery.strip() in flattery_lines
    humour = [line.replace("{business}", tenant.name) for lines in tenant.voice.redirects.values() for line in lines]
    assert another.strip() in humour and "third model answer" not in another
    with session_scope() as session:
        counted = month_usage(session, "akanraby")
    assert (counted["messages"], counted["conversations"], counted["model_calls"]) == (6, 1, 2)
    assert counted["model_tokens"] > 0


def test_past_the_plans_messages_customers_still_get_replies_without_the_model(model, tmp_path, monkeypatch):
    model.answer("Hehe, the real winner is our Royal Ivory lace 😄 Shall I send you pictures?")
    script = dict(list(SCRIPT.items())[:4])
    with serve_actions(tmp_path, monkeypatch, "    messages: 2") as port:
        engine = Engine(port, script)
        said = [say(engine, text) for text in script]
    assert all(text.strip() for text in said)
    assert "Royal Ivory lace 😄" in said[1] and len(model.requests) == 1  # within the plan: the model answers
    assert "Royal Ivory" not in said[2] and said[2].strip()  # the third message is over: the library's line
    assert Wording(get_registry().get("akanraby"))("fallback") in said[3]
    with session_scope() as session:
        assert month_usage(session, "akanraby")["messages"] == 4  # counted past the limit, turns all ran
