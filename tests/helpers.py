"""Test helpers: tenants in a temp folder, and a customer chatting with real actions."""
from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from grace.run.processes import free_port  # noqa: F401  (tests pick ports the same way)

ROOT = Path(__file__).resolve().parent.parent
AKANRABY_META_ID = "109000000000001"  # the businesses' Meta phone number ids in tests
KENTE_META_ID = "233000000000001"


# Debian's Chromium, headless, as root, on a machine with no network beyond the package registries.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (never a downloaded browser). No skip when it is missing:
    the launch fails and so do the tests (`make unit` installs it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base_url: str, email: str, password: str, path: str) -> None:
    """Open a dashboard page, sign in on the login form it sends you to, and land back on the page."""
    page.goto(f"{base_url}{path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")


def screenshot(page, name: str) -> None:
    """Keep what the page looked like under results/screenshots/ (the test output, git-ignored)."""
    folder = ROOT / "results" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def use_bucket(monkeypatch, fake) -> None:
    """Grace keeps media in this local S3 (tests.fakes.s3_api.FakeS3) from now on."""
    monkeypatch.setenv("GRACE_MEDIA_S3_BUCKET", fake.bucket)
    monkeypatch.setenv("GRACE_MEDIA_S3_ENDPOINT_URL", fake.base_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", fake.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")


@contextmanager
def connections_opened(engine) -> Iterator[list[object]]:
    """The connections `engine` opens inside the block, one entry each (read once the block ends)."""
    opened: list[object] = []

    def count(*_: object) -> None:
        opened.append(1)

    sqlalchemy.event.listen(engine, "connect", count)
    try:
        yield opened
    finally:
        sqlalchemy.event.remove(engine, "connect", count)


def another_turn(store: Any, sender: str) -> list[str]:
    """A tracker store's second turn of a stored conversation: read, answered, saved; then what customer and
    Grace said, as the store keeps it."""
    from rasa.shared.core.events import BotUttered, UserUttered

    tracker = asyncio.run(store.retrieve(sender))
    tracker.update(UserUttered("abeg how much be ankara"))
    tracker.update(BotUttered("₦4,500 per yard"))
    asyncio.run(store.save(tracker))
    kept = asyncio.run(store.retrieve(sender))
    return [e.text for e in kept.events if isinstance(e, (UserUttered, BotUttered))]


def make_tenants(folder: Path) -> Path:
    """The shipped tenants plus the test businesses of tests/tenants/ (Accra in GHS, Nairobi in KES: their
    own catalogs, deposits, hours, promotions and voices), in a folder of the test's own."""
    tenants = folder / "tenants"
    shutil.copytree(ROOT / "tenants", tenants)
    first = tenants / "akanraby" / "tenant.yml"
    first.write_text(first.read_text() + f"\nmeta_phone_number_id: '{AKANRABY_META_ID}'\n")
    for business in sorted((ROOT / "tests" / "tenants").iterdir()):
        if (business / "tenant.yml").is_file():
            shutil.copytree(business, tenants / business.name)
    return tenants


class Chat:
    """One customer's conversation, driven through the production action classes. A message's entities
    are found as Rasa's pipeline finds them (grace.understanding, against the sender's business)
    unless a test gives them."""

    def __init__(self, sender: str = "akanraby:+2348011111111") -> None:
        self.sender = sender
        self.slots: dict = {}
        self.events: list[dict] = []

    def run(self, action_cls, text: str = "", intent: str = "", *, metadata: dict | None = None,
            entities: list | None = None, confidence: float = 0.95) -> list[dict]:
        if text or intent:
            self.events.append({"event": "user", "text": text, "metadata": metadata or {},
                                "parse_data": {"intent": {"name": intent, "confidence": confidence}}})
        if entities is None:
            entities = found_in(self.sender, text)
        latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
                  "entities": entities, "intent_ranking": [{"name": intent, "confidence": confidence}]}
        tracker = Tracker(self.sender, dict(self.slots), latest, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action_cls().run(dispatcher, tracker, {}))
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.extend(events)
        return dispatcher.messages

    def pick_up(self) -> list[dict]:
        """Answer "pickup or delivery?" (asked before the first summary where the business delivers) as a
        customer would, with the intent Rasa gives those words."""
        from actions.info import ActionAnswerFaq

        return self.run(ActionAnswerFaq, "I will pick it up at your shop", "ask_faq")


def found_in(sender: str, text: str) -> list[dict]:
    """The entities CatalogEntityExtractor would add to this message of this conversation."""
    from grace.messaging.inbound import split_conversation_id
    from grace.rasa_plugins.catalog_entities import entities_of

    if not text or text.startswith("/"):
        return []
    tenant_id, _ = split_conversation_id(sender)
    return entities_of(tenant_id or "", text)


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@contextmanager
def sanic_serving(app: Any) -> Iterator[str]:
    """A Sanic app (e.g. connectors.gateway.build_app()) on a real server in a thread of its own; yields its URL.
    Its start-up listeners (replaying unfinished turns) are not run: they would read the store of whatever
    environment the server started in; each request reads the test's own.

    Sanic 21.12's start-up rewrites methods of the Sanic class itself from their source code (TouchUp), and
    a rewritten method has no source: the start of a second app in one process fails there, its last step,
    and the app serves with the class as the first start left it. So the class is put back as it was found
    afterwards, and another module can start its own app, before or after."""
    from sanic.touchup import TouchUp

    port, loop, ready = free_port(), asyncio.new_event_loop(), threading.Event()
    servers = []
    found = [(target, name, getattr(target, name)) for target, name in TouchUp._registry]

    async def start() -> None:
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                         access_log=False)
        try:
            await server.startup()
        except KeyError:  # TouchUp meeting methods another app's start rewrote: they serve as they are
            app.state.is_started = True
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(30), "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(servers[0].close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        for target, name, method in found:
            setattr(target, name, method)
