"""Handoffs answered from the dashboard: the reply reaches the customer on WhatsApp through the outbox
(against a local Twilio API) and shows in the conversation with whether it was delivered."""
from __future__ import annotations

import asyncio

import yaml
from sqlalchemy import select

from actions.support import ActionHandoff
from grace.messaging.contacts import record_inbound
from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Customer, Handoff, Notification
from tests.helpers import Chat
from tests.web.conftest import login, post_form

ADA = "+2348033333333"


def ask_for_a_person(tenant_id: str = "akanraby", phone: str = ADA, text: str = "I want to talk to a person") -> int:
    Chat(f"{tenant_id}:{phone}").run(ActionHandoff, text, "human_handoff")
    with session_scope() as session:
        return session.scalars(select(Handoff).where(Handoff.tenant_id == tenant_id)).one().id


def replies() -> list[tuple]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == "ops_reply")).all()
        return [(r.tenant_id, r.recipients, r.payload["text"], r.status) for r in rows]


def to(phone: str, twilio) -> list[dict]:
    return [m for m in twilio.messages if m["To"] == f"whatsapp:{phone}"]


def test_ops_reply_reaches_the_customer_and_shows_in_the_conversation(client, twilio):
    record_inbound("akanraby", ADA, "whatsapp")  # Ada wrote today: free text may go
    handoff = ask_for_a_person()
    login(client, "ops@akanraby.test")
    queue = client.get("/handoffs").get_data(as_text=True)
    assert f"/handoffs/{handoff}" in queue
    page = client.get(f"/handoffs/{handoff}").get_data(as_text=True)
    assert "I want to talk to a person" in page and 'name="text"' in page

    sent = post_form(client, f"/handoffs/{handoff}/reply", {"text": "Hi Ada, Ngozi here: yes, we deliver to Abuja"},
                     page=f"/handoffs/{handoff}")
    assert sent.status_code == 302
    assert "waiting to be sent" in client.get(f"/handoffs/{handoff}").get_data(as_text=True)

    asyncio.run(deliver_pending())
    [message] = to(ADA, twilio)
    assert message["Body"] == "Hi Ada, Ngozi here: yes, we deliver to Abuja"
    assert message["From"] == "whatsapp:+2349010000001"
    asyncio.run(deliver_pending())
    assert len(to(ADA, twilio)) == 1  # sent once

    page = client.get(f"/handoffs/{handoff}").get_data(as_text=True)
    assert "Hi Ada, Ngozi here: yes, we deliver to Abuja" in page and "delivered to WhatsApp" in page
    assert "ops@akanraby.test" in page
    with session_scope() as session:
        ada = session.scalars(select(Customer).where(Customer.tenant_id == "akanraby", Customer.phone == ADA)).one()
    assert "we deliver to Abuja" in client.get(f"/customers/{ada.id}").get_data(as_text=True)
    with session_scope() as session:
        assert session.get(Handoff, handoff).status == "open"  # replying does not close it


def test_outside_24_hours_the_reply_waits_for_a_template_and_the_page_says_so(client, twilio, grace_env):
    handoff = ask_for_a_person()  # no inbound recorded: the window is closed
    login(client, "owner@akanraby.test")
    post_form(client, f"/handoffs/{handoff}/reply", {"text": "Sorry for the wait"}, page=f"/handoffs/{handoff}")
    asyncio.run(deliver_pending())
    assert to(ADA, twilio) == []
    page = client.get(f"/handoffs/{handoff}").get_data(as_text=True)
    assert "Sorry for the wait" in page and "not sent: outside the 24-hour window" in page

    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = {"ops_reply": {"twilio_content_sid": "HX0123456789abcdef0123456789abcdef"}}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    post_form(client, f"/handoffs/{handoff}/reply", {"text": "We have your fabric now"}, page=f"/handoffs/{handoff}")
    asyncio.run(deliver_pending())
    [message] = to(ADA, twilio)
    assert message["ContentSid"] == "HX0123456789abcdef0123456789abcdef"
    assert "We have your fabric now" in message["ContentVariables"]


def test_an_empty_or_too_long_reply_is_refused_with_the_draft_kept(client):
    handoff = ask_for_a_person()
    login(client, "ops@akanraby.test")
    empty = post_form(client, f"/handoffs/{handoff}/reply", {"text": "   "}, page=f"/handoffs/{handoff}")
    assert empty.status_code == 422 and "write the reply first" in empty.get_data(as_text=True)
    draft = "Our <b>ankara</b> " + "x" * 1600
    long = post_form(client, f"/handoffs/{handoff}/reply", {"text": draft}, page=f"/handoffs/{handoff}")
    text = long.get_data(as_text=True)
    assert long.status_code == 422 and "at most 1600" in text
    assert "Our &lt;b&gt;ankara&lt;/b&gt; xxx" in text  # kept to edit, shown as text
    assert replies() == []


def test_viewers_read_handoffs_but_cannot_reply_and_other_tenants_see_nothing(client, app, twilio):
    record_inbound("akanraby", ADA, "whatsapp")
    ours = ask_for_a_person()
    theirs = ask_for_a_person("kentehouse", "+233200000077", "kente person please")
    login(client, "viewer@akanraby.test")
    page = client.get(f"/handoffs/{ours}")
    assert page.status_code == 200 and 'name="text"' not in page.get_data(as_text=True)
    assert post_form(client, f"/handoffs/{ours}/reply", {"text": "hello"}, page=f"/handoffs/{ours}").status_code == 403

    other = app.test_client()
    login(other, "ops@kentehouse.test")
    assert other.get(f"/handoffs/{ours}").status_code == 404
    assert post_form(other, f"/handoffs/{ours}/reply", {"text": "hello"}, page="/handoffs").status_code == 404
    assert post_form(other, f"/handoffs/{ours}/close", page="/handoffs").status_code == 404
    assert other.get(f"/handoffs/{theirs}").status_code == 200
    asyncio.run(deliver_pending())
    assert replies() == [] and to(ADA, twilio) == []
    with session_scope() as session:
        assert session.get(Handoff, ours).status == "open"
