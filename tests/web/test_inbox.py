"""The team's inbox page: every WhatsApp conversation of the business with its order and who has it, search
and filters, and one conversation where ops take over, reply and hand back (viewers read); other businesses'
conversations are never listed or reachable. The page refreshes itself from the .json routes."""
from __future__ import annotations

import io
import re

from actions.support import ActionHandoff
from grace.messaging.media import save_media
from grace.money import format_money
from grace.shop.customers import get_or_create_customer
from grace.store import session_scope
from grace.store.audit import entries
from grace.store.models import Takeover
from grace.tenancy.registry import get_registry
from tests.helpers import Chat
from tests.test_takeover import Grace, customer_writes
from tests.web.conftest import csrf_token, login, make_order, png, post_form
from tests.web.test_api_conversations import ADA, ADA_ID, BOLA, BOLA_ID, KENTE_ID, MARCH, named, talk

CHIOMA = "+2348055555555"
CHIOMA_ID = f"akanraby:{CHIOMA}"


def listed(client, query: str = "") -> list[str]:
    """The conversation ids the inbox list shows, in order (from the page's rows)."""
    page = client.get(f"/inbox{query}").get_data(as_text=True)
    return re.findall(r'<tr id="c-([^"]+)"', page)


def three_conversations() -> str:
    """Ada (a handoff), Bola (an unpaid order), Chioma (asked about lace); Chioma's is the newest."""
    named("akanraby", ADA, "Ada Obi")
    talk(ADA_ID, [("customer", "hello"), ("grace", "Welcome to AkanrabyAtuche")])
    reference = make_order("akanraby", BOLA, name="Bola")
    talk(BOLA_ID, [("customer", "I want 6 yards of marigold")], start=MARCH + 60)
    talk(CHIOMA_ID, [("customer", "do you have french lace in wine colour?")], start=MARCH + 120)
    talk(KENTE_ID, [("customer", "Ada's cousin at another business")], start=MARCH + 180)
    Chat(ADA_ID).run(ActionHandoff, "I want to talk to a person", "human_handoff")
    return reference


def test_the_inbox_lists_the_businesss_conversations_with_order_and_holder(client, web_env, rasa):
    reference = three_conversations()
    login(client, "viewer@akanraby.test")
    page = client.get("/inbox").get_data(as_text=True)
    assert listed(client) == [CHIOMA_ID, BOLA_ID, ADA_ID]  # newest activity first, only this business's
    assert "Ada Obi" in page and "needs a person" in page
    assert reference in page and "awaiting payment" in page
    assert "french lace in wine colour" in page
    assert 'src="/static/inbox.js"' in page and "<script>" not in page  # the CSP forbids inline scripts
    feed = client.get("/inbox/list.json").get_json()["conversations"]
    assert [c["id"] for c in feed] == [CHIOMA_ID, BOLA_ID, ADA_ID]
    assert feed[1]["order"] == {"reference": reference, "status": "awaiting payment"}
    assert feed[2]["needs_person"] and feed[2]["url"] == f"/inbox/c/{ADA_ID}"


def test_search_by_name_number_reference_and_words_and_the_filters(client, web_env, rasa):
    reference = three_conversations()
    login(client, "ops@akanraby.test")
    assert listed(client, "?q=ada+obi") == [ADA_ID]
    assert listed(client, "?q=55555") == [CHIOMA_ID]
    assert listed(client, f"?q={reference.lower()}") == [BOLA_ID]
    assert listed(client, "?q=WINE") == [CHIOMA_ID]
    assert listed(client, "?q=cousin") == []  # another business's words
    assert listed(client, "?q=nothing+like+this") == []
    assert listed(client, "?filter=needs_person") == [ADA_ID]
    assert listed(client, "?filter=unpaid") == [BOLA_ID]
    assert listed(client, "?filter=mine") == []
    assert post_form(client, f"/inbox/c/{CHIOMA_ID}/takeover", page="/inbox").status_code == 302
    assert listed(client, "?filter=mine") == [CHIOMA_ID]
    assert listed(client, "?filter=unpaid&q=ada") == []


def test_take_over_reply_and_hand_back_from_the_inbox(client, web_env, rasa, twilio):
    grace = Grace()
    customer_writes(twilio, grace, "hello")  # the 24-hour window opens; Grace answers
    talk(ADA_ID, [("customer", "hello"), ("grace", "Welcome")])
    login(client, "ops@akanraby.test")
    page = client.get(f"/inbox/c/{ADA_ID}").get_data(as_text=True)
    assert "Take over from Grace" in page and "Reply on WhatsApp" not in page

    taken = post_form(client, f"/inbox/c/{ADA_ID}/takeover", page="/inbox")
    assert taken.status_code == 302
    customer_writes(twilio, grace, "can I pay on Friday?")
    assert grace.turns == ["hello"] and len(twilio.messages) == 1  # Grace did not answer
    page = client.get(f"/inbox/c/{ADA_ID}").get_data(as_text=True)
    assert "ops@akanraby.test</strong> has this conversation" in page and "Reply on WhatsApp" in page
    messages = client.get(f"/inbox/c/{ADA_ID}/messages.json").get_json()["messages"]
    assert messages[-1]["text"] == "can I pay on Friday?" and messages[-1]["held"]

    sent = post_form(client, f"/inbox/c/{ADA_ID}/reply", {"text": "Friday is fine, Ada. Ngozi"}, page="/inbox")
    assert sent.status_code == 302
    last = twilio.messages[-1]
    assert (last["Body"], last["To"]) == ("Friday is fine, Ada. Ngozi", f"whatsapp:{ADA}")
    assert rasa.appended[-1][1]["text"] == "Friday is fine, Ada. Ngozi"  # in the history Rasa keeps
    empty = post_form(client, f"/inbox/c/{ADA_ID}/reply", {"text": "   "}, page="/inbox")
    assert empty.status_code == 422 and "write the reply first" in empty.get_data(as_text=True)

    back = post_form(client, f"/inbox/c/{ADA_ID}/handback", page="/inbox")
    assert back.status_code == 302
    with session_scope() as session:
        row = session.query(Takeover).one()
        assert row.user_id is None and row.handed_back_by == "ops@akanraby.test"
    customer_writes(twilio, grace, "thanks!")
    assert grace.turns == ["hello", "thanks!"]  # Grace answers again
    late = post_form(client, f"/inbox/c/{ADA_ID}/reply", {"text": "one more thing"}, page="/inbox")
    assert late.status_code == 409 and "one more thing" in late.get_data(as_text=True)  # the draft is kept
    with session_scope() as session:  # the owners' audit log: who, what, on which customer; never the words
        logged = [(e.actor, e.action, e.target, e.detail) for e in entries(session, "akanraby")]
    customer = logged[0][2]
    assert re.fullmatch(r"(customer|contact) \d+", customer)
    assert logged == [("ops@akanraby.test", action, customer, {})
                      for action in ("handback", "reply_sent", "takeover")] + [("ops@akanraby.test", "login", "", {})]


def test_viewers_read_only_and_other_businesses_conversations_are_not_found(client, web_env, rasa, twilio):
    talk(ADA_ID, [("customer", "hello")])
    talk(KENTE_ID, [("customer", "akwaaba")])
    with session_scope() as session:
        get_or_create_customer(session, "kentehouse", "+233200000099", "Kofi")
    login(client, "viewer@akanraby.test")
    page = client.get(f"/inbox/c/{ADA_ID}").get_data(as_text=True)
    assert "hello" in page and "Take over from Grace" not in page
    assert post_form(client, f"/inbox/c/{ADA_ID}/takeover", page="/inbox").status_code == 403
    assert post_form(client, f"/inbox/c/{ADA_ID}/reply", {"text": "hi"}, page="/inbox").status_code == 403
    assert client.get("/inbox/canned").status_code == 403  # the business's replies are the team's to keep
    assert post_form(client, "/inbox/canned", {"title": "x", "text": "y"}, page="/inbox").status_code == 403

    client.post("/logout", data={})
    login(client, "ops@akanraby.test")
    for path in (f"/inbox/c/{KENTE_ID}", f"/inbox/c/{KENTE_ID}/messages.json", "/inbox/c/akanraby:+2340000000000"):
        assert client.get(path).status_code == 404
    assert post_form(client, f"/inbox/c/{KENTE_ID}/takeover", page="/inbox").status_code == 404
    assert listed(client, "?q=akwaaba") == []
    with session_scope() as session:
        assert session.query(Takeover).count() == 0
    assert twilio.messages == []


def test_the_inbox_needs_a_signed_in_user(client, web_env):
    assert client.get("/inbox").status_code == 302
    assert client.get("/inbox/list.json").status_code in (302, 401)


def test_notes_stay_with_the_team_and_labels_find_conversations_again(client, web_env, rasa, twilio):
    three_conversations()
    login(client, "ops@akanraby.test")
    noted = post_form(client, f"/inbox/c/{BOLA_ID}/notes", {"text": "Wants 200 yards for a wedding in March"},
                      page="/inbox")
    assert noted.status_code == 302
    page = client.get(f"/inbox/c/{BOLA_ID}").get_data(as_text=True)
    assert "Wants 200 yards for a wedding in March" in page and "ops@akanraby.test:" in page
    assert twilio.messages == [] and rasa.appended == []  # the customer never sees a note
    assert post_form(client, f"/inbox/c/{BOLA_ID}/notes", {"text": "  "}, page="/inbox").status_code == 422

    for name in ("Wholesale", "  aso-EBI  ", "wholesale"):
        assert post_form(client, f"/inbox/c/{BOLA_ID}/labels", {"label": name}, page="/inbox").status_code == 302
    post_form(client, f"/inbox/c/{ADA_ID}/labels", {"label": "vip"}, page="/inbox")
    bad = post_form(client, f"/inbox/c/{ADA_ID}/labels", {"label": "<script>"}, page="/inbox")
    assert bad.status_code == 422 and "a label is 1 to 30 letters" in bad.get_data(as_text=True)
    feed = {c["id"]: c["labels"] for c in client.get("/inbox/list.json").get_json()["conversations"]}
    assert feed == {CHIOMA_ID: [], BOLA_ID: ["aso-ebi", "wholesale"], ADA_ID: ["vip"]}
    assert listed(client, "?label=wholesale") == [BOLA_ID]
    assert listed(client, "?label=vip&filter=needs_person") == [ADA_ID]
    post_form(client, f"/inbox/c/{BOLA_ID}/labels", {"remove": "wholesale"}, page="/inbox")
    assert listed(client, "?label=wholesale") == []

    client.post("/logout", data={})
    login(client, "viewer@akanraby.test")
    assert "Wants 200 yards" in client.get(f"/inbox/c/{BOLA_ID}").get_data(as_text=True)  # viewers read notes
    assert post_form(client, f"/inbox/c/{BOLA_ID}/notes", {"text": "mine"}, page="/inbox").status_code == 403
    assert post_form(client, f"/inbox/c/{BOLA_ID}/labels", {"label": "x"}, page="/inbox").status_code == 403


def test_canned_replies_are_the_businesss_own_and_sent_as_written(client, web_env, rasa, twilio):
    grace = Grace()
    customer_writes(twilio, grace, "hello")
    talk(ADA_ID, [("customer", "hello")])
    login(client, "ops@akanraby.test")
    added = post_form(client, "/inbox/canned", {"title": "Bank hours", "text": "Transfers after 4pm show tomorrow."},
                      page="/inbox/canned")
    assert added.status_code == 302
    twice = post_form(client, "/inbox/canned", {"title": "bank hours", "text": "again"}, page="/inbox/canned")
    assert twice.status_code == 422 and "already a canned reply" in twice.get_data(as_text=True)
    page = client.get("/inbox/canned").get_data(as_text=True)
    reply_id = re.search(r'id="canned-(\d+)"', page).group(1)

    post_form(client, f"/inbox/c/{ADA_ID}/takeover", page="/inbox")
    sent = post_form(client, f"/inbox/c/{ADA_ID}/reply", {"canned": reply_id}, page="/inbox")
    assert sent.status_code == 302 and twilio.messages[-1]["Body"] == "Transfers after 4pm show tomorrow."

    client.post("/logout", data={})
    login(client, "ops@kentehouse.test")  # another business neither sees nor sends it
    assert "Bank hours" not in client.get("/inbox/canned").get_data(as_text=True)
    assert post_form(client, "/inbox/canned", {"remove": reply_id}, page="/inbox/canned").status_code == 302
    client.post("/logout", data={})
    login(client, "ops@akanraby.test")
    assert "Bank hours" in client.get("/inbox/canned").get_data(as_text=True)
    post_form(client, "/inbox/canned", {"remove": reply_id}, page="/inbox/canned")
    assert "Bank hours" not in client.get("/inbox/canned").get_data(as_text=True)


def test_a_fabric_picture_from_the_catalog_goes_with_its_name_and_price(client, web_env, rasa, twilio):
    grace = Grace()
    customer_writes(twilio, grace, "hello")
    talk(ADA_ID, [("customer", "hello")])
    login(client, "ops@akanraby.test")
    post_form(client, f"/inbox/c/{ADA_ID}/takeover", page="/inbox")
    fabric = next(f for f in get_registry().get("akanraby").catalog.fabrics if f.image_url)
    sent = post_form(client, f"/inbox/c/{ADA_ID}/reply", {"fabric": fabric.sku}, page="/inbox")
    assert sent.status_code == 302
    last = twilio.messages[-1]
    assert last["MediaUrl"] == [fabric.image_url]
    assert last["Body"] == f"{fabric.name} ({fabric.sku}): {format_money(fabric.price_minor, 'NGN')} per {fabric.unit}"
    assert rasa.appended[-1][1]["data"]["image"] == fabric.image_url  # in the history, as Grace's pictures are
    page = client.get(f"/inbox/c/{ADA_ID}").get_data(as_text=True)
    assert f'src="{fabric.image_url}"' in page
    assert post_form(client, f"/inbox/c/{ADA_ID}/reply", {"fabric": "NO-SUCH"}, page="/inbox").status_code == 404


def test_a_picture_of_the_teams_own_goes_from_a_public_address_and_a_bad_file_is_refused(
        client, web_env, rasa, twilio, monkeypatch):
    grace = Grace()
    customer_writes(twilio, grace, "hello")
    talk(ADA_ID, [("customer", "hello")])
    login(client, "ops@akanraby.test")
    post_form(client, f"/inbox/c/{ADA_ID}/takeover", page="/inbox")

    def send(data: bytes, caption: str = "the sample we sewed"):
        return client.post(f"/inbox/c/{ADA_ID}/reply", content_type="multipart/form-data", data={
            "picture": (io.BytesIO(data), "sample.png", "image/png"), "text": caption,
            "csrf_token": csrf_token(client, "/inbox")})

    local = send(png(40, 40, (200, 30, 30)))  # media kept on this machine only (file:// addresses)
    assert local.status_code == 422 and "public http(s) address" in local.get_data(as_text=True)
    assert "the sample we sewed" in local.get_data(as_text=True)  # the caption is kept
    monkeypatch.setenv("GRACE_MEDIA_BASE_URL", "https://dash.akanraby.example/media")
    assert send(b"not a picture at all").status_code == 422
    assert send(png(40, 40, (200, 30, 30))).status_code == 302
    last = twilio.messages[-1]
    assert last["Body"] == "the sample we sewed" and last["MediaUrl"][0].startswith(
        "https://dash.akanraby.example/media/akanraby/team-")
    name = last["MediaUrl"][0].rsplit("/", 1)[1]
    assert post_form(client, "/logout", page="/inbox").status_code == 302
    assert client.get(f"/media/akanraby/{name}").status_code == 200  # WhatsApp fetches it without a login
    proof = save_media("akanraby", png(30, 30, (10, 10, 10)), "image/png")  # a customer's: private still
    assert client.get(f"/media/akanraby/{proof.url.rsplit('/', 1)[1]}").status_code == 404
