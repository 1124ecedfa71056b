"""The conversations API: the list (newest activity first, who has each one, who asked for a person), one
conversation's messages, take over / reply / hand back; every route scoped to the key's business, and only
owners and ops act (a viewer reads). Replies go to a local Twilio API, the conversation's events to Rasa's HTTP
API as Rasa takes them (tests/test_takeover.py FakeRasa)."""
from __future__ import annotations

from datetime import datetime, timezone

from rasa.shared.core.events import BotUttered, UserUttered
from sqlalchemy import select

from actions.support import ActionHandoff
from grace.messaging.contacts import record_inbound
from grace.shop.customers import get_or_create_customer
from grace.store import session_scope
from grace.store.models import Takeover, User
from grace.whatsapp.human_reply import OUTSIDE_WINDOW
from tests.helpers import Chat
from tests.test_takeover import Grace, customer_writes
from tests.web.test_api import call
from tests.web.test_conversation import save_events

ADA, BOLA = "+2348033333333", "+2348044444444"
ADA_ID, BOLA_ID = f"akanraby:{ADA}", f"akanraby:{BOLA}"
KENTE_ID = "kentehouse:+233200000099"
MARCH = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp()


def talk(conversation: str, turns: list[tuple[str, str]], start: float = MARCH) -> None:
    save_events(conversation, [UserUttered(text, {"name": "greet", "confidence": 0.9}, timestamp=start + i)
                               if who == "customer" else BotUttered(text, timestamp=start + i)
                               for i, (who, text) in enumerate(turns)])


def named(tenant_id: str, phone: str, name: str) -> None:
    with session_scope() as session:
        get_or_create_customer(session, tenant_id, phone, name)


def user_id(tenant_id: str, email: str) -> int:
    with session_scope() as session:
        return session.scalars(select(User.id).where(User.tenant_id == tenant_id, User.email == email)).one()


def test_the_list_is_the_businesss_whatsapp_conversations_newest_first(client, web_env, rasa):
    key = web_env["akanraby"].api_key
    named("akanraby", ADA, "Ada")
    talk(ADA_ID, [("customer", "hello"), ("grace", "Welcome to AkanrabyAtuche")])
    talk(BOLA_ID, [("customer", "how much is the lace?")], start=MARCH + 3600)
    talk("akanraby:web:site-visitor", [("customer", "from the website")], start=MARCH + 7200)  # no number
    talk("akanraby:sim:owner", [("customer", "the simulator")], start=MARCH + 7200)
    talk(KENTE_ID, [("customer", "another business")], start=MARCH + 7200)
    Chat(ADA_ID).run(ActionHandoff, "I want to talk to a person", "human_handoff")
    assert call(client, "POST", f"/api/v1/conversations/{BOLA_ID}/takeover", key,
                json={"user": "ops@akanraby.test"}).status_code == 200

    listed = call(client, "GET", "/api/v1/conversations", key).get_json()["conversations"]
    assert [c["id"] for c in listed] == [BOLA_ID, ADA_ID]
    bola, ada = listed
    assert bola["customer"] == {"phone": BOLA, "name": None} and not bola["needs_person"]
    assert bola["last_message"]["who"] == "customer" and bola["last_message"]["text"] == "how much is the lace?"
    assert bola["taken_over"]["by"] == "ops@akanraby.test"
    assert bola["taken_over"]["user_id"] == user_id("akanraby", "ops@akanraby.test")
    assert ada["customer"] == {"phone": ADA, "name": "Ada"} and ada["needs_person"] and ada["taken_over"] is None
    assert ada["last_message"]["who"] == "grace" and ada["last_activity_at"] == "2026-03-01T09:00:01Z"
    assert [c["id"] for c in call(client, "GET", "/api/v1/conversations?limit=1", key).get_json()["conversations"]] \
        == [BOLA_ID]
    assert call(client, "GET", "/api/v1/conversations?limit=0", key).status_code == 400

    kente = call(client, "GET", "/api/v1/conversations", web_env["kentehouse"].api_key).get_json()["conversations"]
    assert [c["id"] for c in kente] == [KENTE_ID] and kente[0]["taken_over"] is None


def test_take_over_the_customer_writes_reply_hand_back(client, web_env, rasa, twilio):
    key, ops = web_env["akanraby"].api_key, "ops@akanraby.test"
    grace = Grace()
    customer_writes(twilio, grace, "hello")  # Ada writes: Grace answers, the 24-hour window opens
    talk(ADA_ID, [("customer", "hello"), ("grace", "Welcome")])
    taken = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/takeover", key, json={"user": ops})
    assert taken.status_code == 200 and taken.get_json()["taken_over"]["by"] == ops
    other = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/takeover", key,
                 json={"user": user_id("akanraby", "owner@akanraby.test")})
    assert other.status_code == 409 and other.get_json()["taken_by"] == ops

    customer_writes(twilio, grace, "I need it by Friday, can you?")
    assert grace.turns == ["hello"] and len(twilio.messages) == 1  # Grace said nothing
    messages = call(client, "GET", f"/api/v1/conversations/{ADA_ID}/messages", key).get_json()["messages"]
    assert messages[-1]["text"] == "I need it by Friday, can you?" and messages[-1]["held"] is True
    assert messages[-1]["who"] == "customer" and not any(m["held"] for m in messages if m["who"] == "customer"
                                                         and m is not messages[-1])

    replied = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key,
                   json={"user": ops, "text": "Yes Ada, Friday is fine. Ngozi"})
    assert replied.status_code == 200, replied.get_json()
    assert replied.get_json()["sent"] and replied.get_json()["in_history"]
    last = twilio.messages[-1]
    assert (last["To"], last["From"], last["Body"]) == (f"whatsapp:{ADA}", "whatsapp:+2349010000001",
                                                        "Yes Ada, Friday is fine. Ngozi")
    body = call(client, "GET", f"/api/v1/conversations/{ADA_ID}/messages", key).get_json()
    assert body["messages"][-1] | {"at": None} == {"who": "person", "text": "Yes Ada, Friday is fine. Ngozi",
                                                   "author": ops, "image": "", "at": None}
    assert body["conversation"]["taken_over"]["by"] == ops

    handed = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/handback", key,
                  json={"user": "owner@akanraby.test"})
    assert handed.status_code == 200 and handed.get_json()["taken_over"] is None
    with session_scope() as session:
        assert session.scalars(select(Takeover.handed_back_by)).one() == "owner@akanraby.test"
    assert call(client, "POST", f"/api/v1/conversations/{ADA_ID}/handback", key,
                json={"user": ops}).status_code == 409
    late = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key, json={"user": ops, "text": "one more"})
    assert late.status_code == 409 and "take the conversation over first" in late.get_json()["error"]
    customer_writes(twilio, grace, "thanks!")
    assert grace.turns == ["hello", "thanks!"] and len(twilio.messages) == 3  # Grace again, for the new one only


def test_a_reply_outside_the_24_hour_window_is_refused_with_the_reason(client, web_env, rasa, twilio):
    key = web_env["akanraby"].api_key
    talk(ADA_ID, [("customer", "hello")])  # the conversation exists, but no message came in the last 24 hours
    assert call(client, "POST", f"/api/v1/conversations/{ADA_ID}/takeover", key,
                json={"user": "owner@akanraby.test"}).status_code == 200
    refused = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key,
                   json={"user": "owner@akanraby.test", "text": "Hello Ada"})
    assert refused.status_code == 422 and refused.get_json() == {"error": OUTSIDE_WINDOW}
    record_inbound("akanraby", ADA, "whatsapp")
    empty = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key, json={"user": "owner@akanraby.test"})
    assert empty.status_code == 422 and "empty" in empty.get_json()["error"]
    assert twilio.messages == [] and rasa.appended == []


def test_viewers_read_and_only_owners_and_ops_of_this_business_act(client, web_env, rasa):
    key = web_env["akanraby"].api_key
    talk(ADA_ID, [("customer", "hello")])
    assert call(client, "GET", "/api/v1/conversations", key).status_code == 200
    assert call(client, "GET", f"/api/v1/conversations/{ADA_ID}/messages", key).status_code == 200
    viewer = "viewer@akanraby.test"
    for action, body in (("takeover", {}), ("reply", {"text": "hi"}), ("handback", {})):
        path = f"/api/v1/conversations/{ADA_ID}/{action}"
        for who in (viewer, user_id("akanraby", viewer)):
            refused = call(client, "POST", path, key, json={"user": who, **body})
            assert refused.status_code == 403 and "reads conversations only" in refused.get_json()["error"], action
        strangers = (None, "", True, "nobody@akanraby.test", "ops@kentehouse.test",
                     user_id("kentehouse", "ops@kentehouse.test"))
        for who in strangers:
            unknown = call(client, "POST", path, key, json={"user": who, **body})
            assert unknown.status_code == 422 and "'user'" in unknown.get_json()["error"], (action, who)
    with session_scope() as session:
        assert session.scalars(select(Takeover)).all() == []
    for method, path in (("GET", "/api/v1/conversations"), ("GET", f"/api/v1/conversations/{ADA_ID}/messages"),
                         ("POST", f"/api/v1/conversations/{ADA_ID}/takeover")):
        assert call(client, method, path, None).status_code == 401


def test_another_businesss_conversation_is_not_found_and_nothing_of_it_shows(client, web_env, rasa, twilio):
    key = web_env["akanraby"].api_key
    talk(KENTE_ID, [("customer", "my secret order")])
    talk("akanraby:web:site-visitor", [("customer", "from the website")])
    record_inbound("kentehouse", "+233200000099", "whatsapp")
    for conversation in (KENTE_ID, "+233200000099", "akanraby:+233200000099", "akanraby:web:site-visitor",
                         "akanraby:+2340000000000"):
        for method, action in (("GET", "messages"), ("POST", "takeover"), ("POST", "reply"), ("POST", "handback")):
            response = call(client, method, f"/api/v1/conversations/{conversation}/{action}", key,
                            json={"user": "owner@akanraby.test", "text": "hello"})
            assert response.status_code == 404, (conversation, action)
            assert response.get_json() == {"error": "Not found."}
    with session_scope() as session:
        assert session.scalars(select(Takeover)).all() == []
    assert twilio.messages == [] and rasa.appended == []
    own = call(client, "GET", f"/api/v1/conversations/{KENTE_ID}/messages", web_env["kentehouse"].api_key)
    assert own.status_code == 200 and own.get_json()["messages"][0]["text"] == "my secret order"


def test_labels_and_notes_through_the_api_for_this_business_only(client, web_env, rasa, twilio):
    key, ops = web_env["akanraby"].api_key, "ops@akanraby.test"
    talk(ADA_ID, [("customer", "hello")])
    talk(KENTE_ID, [("customer", "akwaaba")])
    added = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/labels", key, json={"user": ops, "add": " VIP "})
    assert added.status_code == 200 and added.get_json() == {"labels": ["vip"]}
    call(client, "POST", f"/api/v1/conversations/{ADA_ID}/labels", key, json={"user": ops, "add": "aso-ebi"})
    listed = call(client, "GET", "/api/v1/conversations", key).get_json()["conversations"]
    assert listed[0]["labels"] == ["aso-ebi", "vip"]
    removed = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/labels", key, json={"user": ops, "remove": "vip"})
    assert removed.get_json() == {"labels": ["aso-ebi"]}
    bad = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/labels", key, json={"user": ops, "add": "<b>"})
    assert bad.status_code == 422

    noted = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/notes", key,
                 json={"user": ops, "text": "Bulk buyer, wants invoice"})
    assert noted.status_code == 200 and noted.get_json()["notes"][0] | {"at": None} == {
        "author": ops, "text": "Bulk buyer, wants invoice", "at": None}
    assert call(client, "GET", f"/api/v1/conversations/{ADA_ID}/notes", key).get_json()["notes"][0]["author"] == ops
    assert call(client, "POST", f"/api/v1/conversations/{ADA_ID}/notes", key,
                json={"user": "viewer@akanraby.test", "text": "x"}).status_code == 403
    assert twilio.messages == [] and rasa.appended == []  # the customer never sees either

    kente = web_env["kentehouse"].api_key
    assert call(client, "GET", f"/api/v1/conversations/{ADA_ID}/notes", kente).status_code == 404
    assert call(client, "POST", f"/api/v1/conversations/{ADA_ID}/labels", kente,
                json={"user": "ops@kentehouse.test", "add": "mine"}).status_code == 404


def test_a_person_sends_a_fabric_picture_through_the_api(client, web_env, rasa, twilio):
    key, ops = web_env["akanraby"].api_key, "ops@akanraby.test"
    grace = Grace()
    customer_writes(twilio, grace, "hello")
    talk(ADA_ID, [("customer", "hello")])
    call(client, "POST", f"/api/v1/conversations/{ADA_ID}/takeover", key, json={"user": ops})
    sent = call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key,
                json={"user": ops, "fabric": "AK-001", "text": "This one in 6 yards?"})
    assert sent.status_code == 200 and sent.get_json()["message"]["image"].endswith("ak-001.jpg")
    last = twilio.messages[-1]
    assert last["Body"] == "This one in 6 yards?" and last["MediaUrl"][0].endswith("ak-001.jpg")
    assert call(client, "POST", f"/api/v1/conversations/{ADA_ID}/reply", key,
                json={"user": ops, "fabric": "KH-001"}).status_code == 422  # another business's fabric
