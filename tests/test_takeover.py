"""The team in the loop: a person takes a customer's conversation over, Grace pauses for that customer (their
messages are kept in the conversation, never answered by her), the person hands it back or goes idle, and
Grace answers again where the funnel was. WhatsApp messages run through the production connector against a
local Twilio API; the conversation's events go to Rasa's HTTP API as Rasa takes them (FakeRasa: the token,
Rasa's own event schema and classes, the real tracker store)."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
import pytest
import yaml
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.support import ActionHandoff, model_context
from connectors.whatsapp import IncomingWhatsApp, answer, claim
from grace.config import load_settings
from grace.messaging.contacts import record_inbound
from grace.messaging.takeover import (
    HELD_FOR,
    IDLE,
    AlreadyTaken,
    current,
    hand_back,
    hand_back_idle,
    hold_for_person,
    needing_a_person,
    take_over,
    touch,
)
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Contact, Handoff, Takeover, utcnow
from grace.tenancy.registry import get_registry
from grace.whatsapp.human_reply import OUTSIDE_WINDOW, ReplyRefused, send_human_reply
from grace.whatsapp.provider import MediaRef
from grace.whatsapp.twilio_client import TwilioClient, TwilioProvider
from tests.helpers import ROOT, Chat
from tests.web.conftest import PNG
from web.conversations import history

ADA = "+2348033333333"
CONVERSATION = f"akanraby:{ADA}"
BUSINESS = "+2349010000001"
NGOZI, NGOZI_ID = "ngozi@akanraby.test", 7
T0 = datetime(2026, 3, 2, 9, 0)
RASA_TOKEN = "rasa-token-for-takeover-tests"


class FakeRasa:
    """Rasa's POST /conversations/<id>/tracker/events as Rasa serves it: its token, its event schema, its Event
    classes, appended to the conversation in the real tracker store (where the dashboard and the API read)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.appended: list[tuple[str, dict]] = []  # (conversation, event) as Rasa stored them
        self.fail_next = 0  # answer 503 to this many requests (Rasa down)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                status, body = fake.handle(self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, path: str, raw: bytes) -> tuple[int, dict]:
        parts = urlsplit(path)
        if parse_qs(parts.query).get("token") != [self.token]:
            return 401, {"reason": "NotAuthenticated"}
        if self.fail_next:
            self.fail_next -= 1
            return 503, {"reason": "down"}
        prefix, suffix = "/conversations/", "/tracker/events"
        if not (parts.path.startswith(prefix) and parts.path.endswith(suffix)):
            return 404, {}
        conversation = unquote(parts.path[len(prefix):-len(suffix)])
        given = json.loads(raw)
        events = given if isinstance(given, list) else [given]
        try:
            jsonschema.validate(events, EVENTS_SCHEMA)
        except jsonschema.ValidationError as exc:
            return 400, {"reason": "BadRequest", "message": str(exc)}
        store = GraceSQLTrackerStore(dialect="sqlite", db=load_settings().tracker_database_url.split("///", 1)[1])
        try:
            tracker = asyncio.run(store.retrieve(conversation)) or DialogueStateTracker(conversation, [])
            for event in events:
                parsed = Event.from_parameters(event)
                tracker.update(parsed)
                self.appended.append((conversation, parsed.as_dict()))
            asyncio.run(store.save(tracker))
        finally:
            store.engine.dispose()
        return 200, {"sender_id": conversation}

    def events_of(self, conversation: str, kind: str | None = None) -> list[dict]:
        return [e for c, e in self.appended if c == conversation and (kind is None or e["event"] == kind)]

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rasa(grace_env, monkeypatch):
    with FakeRasa(RASA_TOKEN) as fake:
        monkeypatch.setenv("GRACE_RASA_URL", fake.url)
        monkeypatch.setenv("GRACE_RASA_TOKEN", RASA_TOKEN)
        yield fake


class Grace:
    """Rasa's turns as the connector sees them: each customer message that reached a turn, answered at once."""

    def __init__(self) -> None:
        self.turns: list[str] = []

    async def on_new_message(self, message: UserMessage) -> None:
        self.turns.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": f"Grace on {message.text!r}"})


def customer_writes(twilio, grace: Grace, text: str, media: list[MediaRef] | None = None, phone: str = ADA) -> None:
    """One WhatsApp message from the customer, through the production connector, as the gateway runs it."""
    tenant = get_registry().get("akanraby")
    message = IncomingWhatsApp(tenant=tenant, business_number=BUSINESS, customer=phone, text=text,
                               message_id=f"SM{len(twilio.messages)}{text[:8]}", media=media or [])
    provider = TwilioProvider(TwilioClient(twilio.account_sid, twilio.auth_token, twilio.base_url))

    async def run() -> None:
        try:
            await answer(provider, message, claim(message, "whatsapp"), grace.on_new_message, asyncio.Semaphore(1))
        finally:
            await provider.client.close()

    asyncio.run(run())


def sent_to(twilio, phone: str = ADA) -> list[str]:
    return [m["Body"] for m in twilio.messages if m["To"] == f"whatsapp:{phone}"]


def takeover_row(conversation: str = CONVERSATION) -> Takeover:
    with session_scope() as session:
        row = session.scalars(select(Takeover).where(Takeover.conversation_id == conversation)).one()
        session.expunge(row)
        return row


def test_while_a_person_has_the_conversation_grace_keeps_the_messages_for_them_and_answers_none(rasa, twilio):
    grace = Grace()
    customer_writes(twilio, grace, "hello")
    assert grace.turns == ["hello"] and sent_to(twilio) == ["Grace on 'hello'"]

    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI)
    customer_writes(twilio, grace, "where is my order? abeg")
    customer_writes(twilio, grace, "2")  # a bare number stays what it is: nobody offered choices to a person
    assert grace.turns == ["hello"] and sent_to(twilio) == ["Grace on 'hello'"]  # no turn, nothing sent
    held = rasa.events_of(CONVERSATION, "user")
    assert [e["text"] for e in held] == ["where is my order? abeg", "2"]
    assert all(e["metadata"][HELD_FOR] == NGOZI and e["parse_data"]["intent"] == {} for e in held)
    assert [t["text"] for t in history("akanraby", ADA)][-2:] == ["where is my order? abeg", "2"]  # kept

    with session_scope() as session:
        assert hand_back(session, "akanraby", CONVERSATION, by=NGOZI)
        assert not hand_back(session, "akanraby", CONVERSATION, by=NGOZI)  # nobody has it any more
    customer_writes(twilio, grace, "thank you")
    # Only the new message runs: the held ones were neither answered then nor now.
    assert grace.turns == ["hello", "thank you"]
    assert sent_to(twilio) == ["Grace on 'hello'", "Grace on 'thank you'"]
    assert takeover_row().handed_back_by == NGOZI


def test_pictures_sent_during_a_takeover_are_kept_and_a_file_that_failed_is_named(rasa, twilio):
    grace = Grace()
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI)
    good = MediaRef(twilio.add_media(PNG, "image/png"), "image/png")
    customer_writes(twilio, grace, "this colour", media=[good])
    customer_writes(twilio, grace, "", media=[MediaRef(twilio.add_media(b"not a picture", "image/jpeg"), "image/jpeg")])
    assert grace.turns == [] and sent_to(twilio) == []  # not even the note that the file failed
    picture, failed = rasa.events_of(CONVERSATION, "user")
    assert picture["text"] == "/share_image" and picture["metadata"]["caption"] == "this colour"
    assert picture["metadata"]["media"][0]["content_type"] == "image/png"
    assert failed["text"] == "" and failed["metadata"]["media_problems"]


def test_a_takeover_idle_past_the_tenants_limit_hands_back_on_the_outbox_pass_or_the_next_message(rasa):
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=T0)
        take_over(session, "akanraby", "akanraby:+2348044444444", NGOZI_ID, NGOZI, now=T0)
    assert hand_back_idle(now=T0 + timedelta(minutes=119)) == []  # default: 120 minutes
    with session_scope() as session:
        assert touch(session, "akanraby", CONVERSATION, now=T0 + timedelta(minutes=100))  # a reply
    assert hand_back_idle(now=T0 + timedelta(minutes=121)) == ["akanraby:+2348044444444"]
    assert hand_back_idle(now=T0 + timedelta(minutes=219)) == []
    ada = claim_inbound("still there?")
    assert hold_for_person(ada, now=T0 + timedelta(minutes=219))
    # Past the limit the next message finds it over even before the worker's pass, and Grace answers it.
    assert not hold_for_person(ada, now=T0 + timedelta(minutes=220))
    row = takeover_row()
    assert row.user_id is None and row.handed_back_by == IDLE and row.handed_back_at == T0 + timedelta(minutes=220)
    assert len(rasa.events_of(CONVERSATION)) == 1  # the one message that came while she had it


def test_the_tenants_takeover_idle_minutes_decides(rasa, grace_env):
    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["takeover_idle_minutes"] = 5
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    assert get_registry().get("akanraby").takeover_idle_minutes == 5
    assert get_registry().get("kentehouse").takeover_idle_minutes == 120  # the default
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=T0)
        take_over(session, "kentehouse", "kentehouse:+233200000099", NGOZI_ID, NGOZI, now=T0)
    assert hand_back_idle(now=T0 + timedelta(minutes=4)) == []
    assert hand_back_idle(now=T0 + timedelta(minutes=6)) == [CONVERSATION]


def test_the_outbox_workers_pass_hands_idle_takeovers_back(rasa):
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=utcnow() - timedelta(minutes=121))
        take_over(session, "akanraby", "akanraby:+2348044444444", NGOZI_ID, NGOZI)
    asyncio.run(deliver_pending())
    with session_scope() as session:
        assert current(session, "akanraby", CONVERSATION) is None
        assert current(session, "akanraby", "akanraby:+2348044444444") is not None
    assert takeover_row().handed_back_by == IDLE


def test_one_person_at_a_time_and_taking_it_again_is_activity(rasa):
    bola, bola_id = "bola@akanraby.test", 8
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=T0)
    with session_scope() as session, pytest.raises(AlreadyTaken) as taken:
        take_over(session, "akanraby", CONVERSATION, bola_id, bola, now=T0 + timedelta(minutes=5))
    assert taken.value.taken_by == NGOZI
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=T0 + timedelta(minutes=100))
    row = takeover_row()
    assert (row.taken_at, row.last_human_at) == (T0, T0 + timedelta(minutes=100))
    with session_scope() as session:  # idle past the limit: someone else may take it
        take_over(session, "akanraby", CONVERSATION, bola_id, bola, now=T0 + timedelta(minutes=221))
    row = takeover_row()
    assert (row.user_id, row.taken_by, row.taken_at) == (bola_id, bola, T0 + timedelta(minutes=221))
    with session_scope() as session:  # the same conversation id at another business is another conversation
        assert current(session, "kentehouse", CONVERSATION) is None


def claim_inbound(text: str, phone: str = ADA):
    tenant = get_registry().get("akanraby")
    return claim(IncomingWhatsApp(tenant=tenant, business_number=BUSINESS, customer=phone, text=text,
                                  message_id="SMx"), "whatsapp")


def test_asking_for_a_person_marks_the_conversation_but_grace_answers_until_someone_takes_it(rasa, twilio):
    Chat(CONVERSATION).run(ActionHandoff, "I want to talk to a person", "human_handoff")
    with session_scope() as session:
        assert needing_a_person(session, "akanraby") == {CONVERSATION}
        assert needing_a_person(session, "kentehouse") == set()
    grace = Grace()
    customer_writes(twilio, grace, "hello?")
    assert grace.turns == ["hello?"]  # not paused by the request alone

    with session_scope() as session:  # handed back by idleness: the request is still open
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI, now=T0)
    hand_back_idle(now=T0 + timedelta(hours=3))
    with session_scope() as session:
        assert needing_a_person(session, "akanraby") == {CONVERSATION}
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI)
    with session_scope() as session:  # handed back by the person: dealt with
        hand_back(session, "akanraby", CONVERSATION, by=NGOZI)
    with session_scope() as session:
        assert needing_a_person(session, "akanraby") == set()
        assert session.scalars(select(Handoff.status)).all() == ["closed"]


def test_a_persons_reply_reaches_the_customer_and_joins_the_history_and_the_models_context(rasa, twilio):
    record_inbound("akanraby", ADA, "whatsapp")  # Ada wrote just now: the window is open
    tenant = get_registry().get("akanraby")
    sent = send_human_reply(tenant, CONVERSATION, "  Hi Ada, Ngozi here: it ships tomorrow  ", NGOZI, NGOZI_ID)
    assert sent.in_history and sent.text == "Hi Ada, Ngozi here: it ships tomorrow"
    [message] = [m for m in twilio.messages if m["To"] == f"whatsapp:{ADA}"]
    assert message["From"] == f"whatsapp:{BUSINESS}" and message["Body"] == sent.text
    [event] = rasa.events_of(CONVERSATION, "bot")
    assert event["text"] == sent.text and event["metadata"]["author"] == NGOZI
    assert history("akanraby", ADA)[-1]["text"] == sent.text

    # The model fallback reads the conversation's events as the action server receives them.
    store = GraceSQLTrackerStore(dialect="sqlite", db=load_settings().tracker_database_url.split("///", 1)[1])
    state = asyncio.run(store.retrieve(CONVERSATION)).current_state(EventVerbosity.ALL)
    store.engine.dispose()
    tracker = Tracker(CONVERSATION, {}, {}, state["events"] + [{"event": "user", "text": "ok, what time?"}],
                      False, None, {}, "action_listen")
    context = model_context(SimpleNamespace(tracker=tracker, stage="start", slot=lambda name: None))
    assert context.history == [("team", sent.text)]  # a person wrote it, not Grace


def test_a_reply_outside_the_24_hour_window_or_to_an_opted_out_customer_is_refused_and_nothing_is_said(rasa, twilio):
    tenant = get_registry().get("akanraby")
    with pytest.raises(ReplyRefused, match=OUTSIDE_WINDOW):  # Ada never wrote
        send_human_reply(tenant, CONVERSATION, "Hello Ada", NGOZI, NGOZI_ID)
    record_inbound("akanraby", ADA, "whatsapp", stop=True)
    with pytest.raises(ReplyRefused, match="opted out"):
        send_human_reply(tenant, CONVERSATION, "Hello Ada", NGOZI, NGOZI_ID)
    record_inbound("akanraby", ADA, "whatsapp")
    with pytest.raises(ReplyRefused, match="empty"):
        send_human_reply(tenant, CONVERSATION, "   ", NGOZI, NGOZI_ID)
    with pytest.raises(ReplyRefused, match="at most 1600"):
        send_human_reply(tenant, CONVERSATION, "x" * 1601, NGOZI, NGOZI_ID)
    assert twilio.messages == [] and rasa.appended == []


def test_rasa_down_a_moment_loses_no_held_message(rasa, twilio, monkeypatch):
    monkeypatch.setattr("grace.messaging.takeover.time.sleep", lambda _s: None)
    with session_scope() as session:
        take_over(session, "akanraby", CONVERSATION, NGOZI_ID, NGOZI)
    rasa.fail_next = 2
    grace = Grace()
    customer_writes(twilio, grace, "are you there?")
    assert [e["text"] for e in rasa.events_of(CONVERSATION)] == ["are you there?"] and grace.turns == []


def test_the_pause_leaves_the_dialogue_where_it_was():
    """What Rasa does with the events of a takeover: the held messages (no intent) and the person's replies set
    no slot and open no loop, and once the customer writes after the hand back its policies predict from the
    very states they would have had without the pause."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    before = [ActionExecuted("action_listen"),
              UserUttered("number 1, 12 yards", {"name": "select_fabric", "confidence": 0.9}),
              ActionExecuted("action_show_summary"), SlotSet("funnel_stage", "reviewing"),
              ActionExecuted("action_listen")]
    held = {"event": "user", "text": "where is my order?", "timestamp": 1.0, "input_channel": "whatsapp",
            "parse_data": {"intent": {}, "entities": [], "text": "where is my order?"},
            "metadata": {"tenant": "akanraby", HELD_FOR: NGOZI}}
    reply = {"event": "bot", "text": "Ngozi here", "data": {}, "timestamp": 2.0, "metadata": {"author": NGOZI}}
    jsonschema.validate([held, reply], EVENTS_SCHEMA)
    paused = DialogueStateTracker.from_events(CONVERSATION, before, slots=domain.slots)
    slots = paused.current_slot_values()
    for event in (held, reply, held):
        paused.update(Event.from_parameters(event), domain)
    assert paused.current_slot_values() == slots
    assert paused.latest_action_name == "action_listen" and paused.active_loop_name is None
    unpaused = DialogueStateTracker.from_events(CONVERSATION, before, slots=domain.slots)
    for tracker in (paused, unpaused):
        tracker.update(UserUttered("yes", {"name": "affirm", "confidence": 0.95}), domain)
    assert paused.past_states(domain) == unpaused.past_states(domain)


def test_outside_the_window_a_reply_goes_as_the_businesss_ops_reply_template(grace_env, rasa, twilio):
    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = {"ops_reply": {"twilio_content_sid": "HX" + "c" * 32}}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    record_inbound("akanraby", ADA, "whatsapp")
    with session_scope() as session:  # Ada wrote three days ago
        contact = session.scalars(select(Contact).where(Contact.phone == ADA)).one()
        contact.last_inbound_at = utcnow() - timedelta(days=3)
    sent = send_human_reply(get_registry().get("akanraby"), CONVERSATION, "Your lace is back in stock, Ada",
                            NGOZI, NGOZI_ID)
    [message] = twilio.messages
    assert message["ContentSid"] == "HX" + "c" * 32
    assert json.loads(message["ContentVariables"]) == {"1": "Your lace is back in stock, Ada"}
    assert sent.in_history and rasa.events_of(CONVERSATION, "bot")[-1]["text"] == "Your lace is back in stock, Ada"
