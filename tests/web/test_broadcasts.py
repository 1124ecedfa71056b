"""The Broadcasts pages and /api/v1/broadcasts: create (the count shown before sending), test send to the owner's
number, send, the report; owners act, ops and viewers read; every business sees its own broadcasts only."""
from __future__ import annotations

import re

from grace.messaging.contacts import record_inbound
from grace.store import session_scope
from grace.store.audit import entries
from grace.store.models import Broadcast
from tests.test_broadcasts import (  # noqa: F401  (gateway, gateway_server: fixtures)
    SID,
    gateway,
    gateway_server,
    import_csv,
    lagos_number,
    local_morning,
    round_at,
)
from tests.web.conftest import login, post_form
from tests.web.test_api import call

FORM = {"name": "Owambe season", "twilio_content_sid": SID, "meta_name": "", "language": "en", "var1": "first_name",
        "var2": "city", "label": "", "category": "", "city": "Lagos", "older": "", "newer": "", "rate_per_minute": "60",
        "send_at": ""}


def contacts() -> list[str]:
    """Akanraby: three opted in (two in Lagos), one who sent STOP in Lagos, one never asked. Kente House: one."""
    lagos = [lagos_number(i) for i in range(3)]
    import_csv("akanraby", [f"{lagos[0]},Ada Obi,Lagos,,yes", f"{lagos[1]},Bola,Lagos,,yes",
                            f"{lagos[2]},Chi,Abuja,,yes", f"{lagos_number(7)},Dayo,Lagos,,yes",
                            f"{lagos_number(8)},Efe,Lagos,,no"])
    record_inbound("akanraby", lagos_number(7), "whatsapp", stop=True)
    import_csv("kentehouse", ["+233244000001,Kofi,Accra,,yes"])
    return lagos


def count_on(page: str) -> int:
    found = re.search(r"[Ww]ill go to <strong>(\d+)</strong>", page)
    assert found, page
    return int(found.group(1))


def broadcast_id(location: str) -> int:
    found = re.search(r"/broadcasts/(\d+)$", location)
    assert found, location
    return int(found.group(1))


# The pages ---------------------------------------------------------------------------------------------


def test_an_owner_creates_sees_the_count_tests_sends_and_reads_the_report(client, web_env, twilio, gateway):  # noqa: F811
    twilio.add_content_template(SID, "Hello {{1}}! New prints in {{2}}.")
    lagos = contacts()
    login(client, "owner@akanraby.test")
    form = client.get("/broadcasts/new")
    assert form.status_code == 200 and "<script" not in form.get_data(as_text=True)

    counted = post_form(client, "/broadcasts/new", {**FORM, "action": "count"}, page="/broadcasts/new")
    assert counted.status_code == 200 and count_on(counted.get_data(as_text=True)) == 2
    with session_scope() as session:
        assert session.query(Broadcast).count() == 0  # counting saves nothing

    refused = post_form(client, "/broadcasts/new", {**FORM, "twilio_content_sid": "HX-nope", "action": "save"},
                        page="/broadcasts/new")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'class="field-error">&#39;HX-nope&#39; is not a Twilio Content SID' in text

    saved = post_form(client, "/broadcasts/new", {**FORM, "action": "save"}, page="/broadcasts/new")
    assert saved.status_code == 302
    number = broadcast_id(saved.headers["Location"])
    page = client.get(f"/broadcasts/{number}").get_data(as_text=True)
    assert count_on(page) == 2 and "draft" in page and "in Lagos" in page and "<script" not in page

    tested = post_form(client, f"/broadcasts/{number}/test", {"to": "+2349010000009"}, page=f"/broadcasts/{number}")
    assert tested.status_code == 302
    assert "Test sent to +2349010000009 filled in as for" in client.get(f"/broadcasts/{number}").get_data(as_text=True)
    stranger = post_form(client, f"/broadcasts/{number}/test", {"to": lagos[0]}, page=f"/broadcasts/{number}")
    assert stranger.status_code == 302
    assert "The test was not sent" in client.get(f"/broadcasts/{number}").get_data(as_text=True)
    assert [m["To"] for m in twilio.messages] == ["whatsapp:+2349010000009"]  # the owner's number only

    sent = post_form(client, f"/broadcasts/{number}/schedule", {"when": "now"}, page=f"/broadcasts/{number}")
    assert sent.status_code == 302
    assert round_at(local_morning()) == 2
    twilio.callbacks.wait_for(3 + 2 * 3)  # the test's and the two customers' receipts: sent, delivered, read
    record_inbound("akanraby", lagos[0], "whatsapp")  # Ada answers: she is simply in the conversation
    report = client.get(f"/broadcasts/{number}")
    text = report.get_data(as_text=True)
    assert report.status_code == 200 and "Report" in text and "<script" not in text
    assert re.search(r'id="recipients-sent"><td>sent</td><td class="amount">2<', text)
    assert re.search(r'id="state-read"><td>read</td><td class="amount">2<', text)
    assert re.search(r'id="replies"><td>[^<]+</td><td class="amount">1<', text)
    assert lagos[0] in text  # among the latest replies
    listed = client.get("/broadcasts").get_data(as_text=True)
    assert "Owambe season" in listed and "2 of 2" in listed
    with session_scope() as session:  # the owners' audit log: created and sent, by whom
        logged = [(e.actor, e.action, e.target) for e in entries(session, "akanraby")]
    assert [entry for entry in logged if entry[1].startswith("broadcast")] == [
        ("owner@akanraby.test", "broadcast_sent", str(number)),
        ("owner@akanraby.test", "broadcast_created", str(number))]


def test_ops_and_viewers_read_but_only_owners_act_and_other_businesses_are_not_found(client, web_env, twilio):
    contacts()
    login(client, "owner@akanraby.test")
    saved = post_form(client, "/broadcasts/new", {**FORM, "action": "save"}, page="/broadcasts/new")
    number = broadcast_id(saved.headers["Location"])
    for role in ("ops", "viewer"):
        reader = client.application.test_client()
        login(reader, f"{role}@akanraby.test")
        assert reader.get("/broadcasts").status_code == 200
        page = reader.get(f"/broadcasts/{number}")
        assert page.status_code == 200 and "Send test" not in page.get_data(as_text=True)
        assert reader.get("/broadcasts/new").status_code == 403
        for action in ("test", "schedule", "cancel"):
            assert post_form(reader, f"/broadcasts/{number}/{action}", {"when": "now"}).status_code == 403
    other = client.application.test_client()
    login(other, "owner@kentehouse.test")
    assert other.get(f"/broadcasts/{number}").status_code == 404
    assert post_form(other, f"/broadcasts/{number}/cancel").status_code == 404
    assert "Owambe season" not in other.get("/broadcasts").get_data(as_text=True)
    assert client.post(f"/broadcasts/{number}/cancel").status_code == 400  # no CSRF token
    cancelled = post_form(client, f"/broadcasts/{number}/cancel", page=f"/broadcasts/{number}")
    assert cancelled.status_code == 302
    with session_scope() as session:
        assert session.get(Broadcast, number).status == "cancelled"
    assert twilio.messages == []


# The API -----------------------------------------------------------------------------------------------

BODY = {"user": "owner@akanraby.test", "name": "Restock", "template": {"twilio_content_sid": SID},
        "variables": ["first_name"], "segment": {"city": "Lagos"}, "rate_per_minute": 30}


def test_the_api_creates_schedules_cancels_and_reports_for_owners_only(client, web_env, twilio):
    contacts()
    key, kente_key = web_env["akanraby"].api_key, web_env["kentehouse"].api_key
    made = call(client, "POST", "/api/v1/broadcasts", key, json=BODY)
    assert made.status_code == 201
    body = made.get_json()
    assert body["recipients"] == 2 and body["status"] == "draft" and body["broadcast"]["created_by"] == (
        "api:owner@akanraby.test")
    number = body["id"]

    for user, status in (("ops@akanraby.test", 403), ("viewer@akanraby.test", 403), ("nobody@x.test", 422),
                         ("owner@kentehouse.test", 422)):
        refused = call(client, "POST", "/api/v1/broadcasts", key, json={**BODY, "user": user})
        assert refused.status_code == status, (user, refused.get_json())
    wrong = call(client, "POST", "/api/v1/broadcasts", key, json={**BODY, "variables": ["shoe_size"]})
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "variables"
    wrong = call(client, "POST", "/api/v1/broadcasts", key, json={**BODY, "rate_per_minute": 5000})
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "rate_per_minute"

    past = call(client, "POST", f"/api/v1/broadcasts/{number}/schedule", key,
                json={"user": "owner@akanraby.test", "send_at": "2020-05-01T09:00"})
    assert past.status_code == 422 and past.get_json()["field"] == "send_at"
    later = local_morning(days=30)
    local = later.replace(hour=later.hour + 1).strftime("%Y-%m-%dT%H:%M")  # Lagos is UTC+1
    scheduled = call(client, "POST", f"/api/v1/broadcasts/{number}/schedule", key,
                     json={"user": "owner@akanraby.test", "send_at": local})
    assert scheduled.status_code == 200
    assert scheduled.get_json()["scheduled_at"] == later.strftime("%Y-%m-%dT%H:%M:00Z")
    assert scheduled.get_json()["status"] == "scheduled"

    assert call(client, "GET", f"/api/v1/broadcasts/{number}", kente_key).status_code == 404
    assert call(client, "POST", f"/api/v1/broadcasts/{number}/cancel", kente_key,
                json={"user": "owner@kentehouse.test"}).status_code == 404
    assert call(client, "POST", f"/api/v1/broadcasts/{number}/cancel", key,
                json={"user": "viewer@akanraby.test"}).status_code == 403
    cancelled = call(client, "POST", f"/api/v1/broadcasts/{number}/cancel", key, json={"user": "owner@akanraby.test"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = call(client, "POST", f"/api/v1/broadcasts/{number}/cancel", key, json={"user": "owner@akanraby.test"})
    assert again.status_code == 409 and again.get_json()["field"] == "status"

    now = call(client, "POST", "/api/v1/broadcasts", key, json={**BODY, "name": "Now", "send_at": "now"}).get_json()
    assert now["status"] == "scheduled"
    round_at(local_morning())
    report = call(client, "GET", f"/api/v1/broadcasts/{now['id']}", key).get_json()
    assert report["status"] == "sent" and report["recipients"]["sent"] == 2 and report["total"] == 2
    assert report["message_states"]["accepted"] == 2 and report["failures"] == [] and report["replies"] == 0
    listed = call(client, "GET", "/api/v1/broadcasts", key).get_json()["broadcasts"]
    assert [(b["name"], b["status"]) for b in listed] == [("Now", "sent"), ("Restock", "cancelled")]
    assert listed[0]["recipients"]["sent"] == 2
    assert call(client, "GET", "/api/v1/broadcasts", kente_key).get_json()["broadcasts"] == []


def test_openapi_lists_the_broadcast_paths(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/broadcasts"])
    assert "get" in spec["paths"]["/api/v1/broadcasts/{broadcast_id}"]
    for action in ("schedule", "cancel"):
        assert "post" in spec["paths"][f"/api/v1/broadcasts/{{broadcast_id}}/{action}"]
    assert "BroadcastReport" in spec["components"]["schemas"]
