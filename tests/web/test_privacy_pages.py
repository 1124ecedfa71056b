"""Customers' data on the dashboard and the API: the export holds every fact the customer's page and the inbox
show about them (and their proof picture); owners only download and erase, erasing asks for a confirmation and
loses nothing when it is not given; the Privacy page lists the requests customers made on WhatsApp, by row,
and confirms or declines them; every export and erasure is audited naming "customer <id>", never the number."""
from __future__ import annotations

import html
import io
import json
import re
import zipfile

from sqlalchemy import select, text

from grace.messaging.contacts import record_inbound
from grace.messaging.inbound import conversation_id
from grace.messaging.notifications import reply_from_ops
from grace.messaging.team_notes import add_label, add_note
from grace.privacy.requests import ask_for_erasure
from grace.store import session_scope
from grace.store.models import Customer, Order, Payment, PrivacyRequest
from grace.tenancy.registry import Retention, get_registry
from tests.web.conftest import PNG, csrf_token, login, make_order, post_form, send_proof
from tests.web.test_api import call
from tests.web.test_conversation import save_conversation
from tests.web.test_settings_page import form_of

ADA = "+2348044400001"
CHI = "+2348044400002"


def ada_with_everything() -> tuple[int, str, bytes]:
    """Ada wrote, ordered, sent a screenshot of her transfer; the team noted, labelled and answered her."""
    reference = make_order("akanraby", ADA, "Ada")
    proof = PNG + b"ada's transfer"
    send_proof("akanraby", reference, text="I don pay o", image=proof)
    save_conversation(conversation_id("akanraby", ADA), [("customer", "abeg how much <b>is</b> ankara"),
                                                         ("grace", "Marigold Bloom is ₦4,500 per yard"),
                                                         ("customer", "I go take 6 yards")])
    with session_scope() as session:
        conversation = conversation_id("akanraby", ADA)
        add_note(session, "akanraby", conversation, "ops@akanraby.test", "Wants it before the wedding on the 14th")
        add_label(session, "akanraby", conversation, "aso-ebi")
        reply_from_ops(session, "akanraby", conversation, "Thank you Ada, we ship Monday", "ops@akanraby.test")
        ada = session.scalars(select(Customer.id).where(Customer.phone == ADA)).one()
    return ada, reference, proof


def unzip(data: bytes) -> tuple[str, dict[str, bytes]]:
    """All the JSON documents' text (as a person reads it) and the files."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    files = {name: archive.read(name) for name in archive.namelist()}
    words = " ".join(json.dumps(json.loads(body), ensure_ascii=False) for name, body in files.items()
                     if name.endswith(".json"))
    return words, files


def shown_on_the_customer_page(page: str) -> list[str]:
    """The facts the page shows: name, number, first seen, each order's reference, status and total, each turn's
    time and words."""
    facts = [re.search(r"<h1>(.*?)</h1>", page).group(1), re.search(r"<p>(\+\d+) · first seen (\S+)</p>", page)[1],
             re.search(r"first seen (\S+)</p>", page)[1]]
    for reference, status, total in re.findall(r">([A-Z]+-\w+)</a> ([a-z ]+), ([^<]+)</li>", page):
        facts += [reference, status, total]
    for when, words in re.findall(r'<span class="when">([^<]+)</span>(?:<span class="by">[^<]*</span> )?([^<]+)',
                                  page):
        facts += [when.replace(" ", "T"), words.strip()]
    return [html.unescape(fact) for fact in facts]


def test_the_export_holds_everything_the_customer_page_and_the_inbox_show(client):
    ada, reference, proof = ada_with_everything()
    login(client, "owner@akanraby.test")
    page = client.get(f"/customers/{ada}").get_data(as_text=True)
    assert "Download their data" in page and "Erase their data" in page
    facts = shown_on_the_customer_page(page)
    assert reference in facts and "abeg how much <b>is</b> ankara" in facts and "Thank you Ada, we ship Monday" in facts
    inbox = client.get(f"/inbox/c/{conversation_id('akanraby', ADA)}/messages.json").get_json()
    facts += [m["text"] for m in inbox["messages"]]
    inbox_page = client.get(f"/inbox/c/{conversation_id('akanraby', ADA)}").get_data(as_text=True)
    facts += re.findall(r'<span class="label">([^<]+)</span>', inbox_page)
    assert "aso-ebi" in facts

    answer = client.get(f"/privacy/customers/{ada}/export")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    words, files = unzip(answer.data)
    assert [fact for fact in facts if fact not in words] == []
    assert "Wants it before the wedding on the 14th" in words and "I don pay o" in words  # the note, her words
    payments = json.loads(files["payments.json"])
    assert payments[0]["currency"] == "NGN" and payments[0]["expected_minor"] > 0
    assert files[payments[0]["proof_file"]] == proof  # the screenshot itself
    consent = json.loads(files["customer.json"])["consent"]
    assert consent is None or "opted_in" in consent
    with session_scope() as session:
        entry = session.execute(text("SELECT actor, target FROM audit_log WHERE action = 'customer_exported'")).one()
    assert entry == ("owner@akanraby.test", f"customer {ada}")


def test_only_owners_download_or_erase_and_only_their_own_businesss_customers(client):
    ada, _, _ = ada_with_everything()
    for role in ("ops", "viewer"):
        login(client, f"{role}@akanraby.test")
        assert "Erase their data" not in client.get(f"/customers/{ada}").get_data(as_text=True)
        assert client.get(f"/privacy/customers/{ada}/export").status_code == 403
        assert post_form(client, f"/privacy/customers/{ada}/erase", {"confirm": "erase"}).status_code == 403
        assert client.get("/privacy").status_code == 403
    login(client, "owner@kentehouse.test")
    assert client.get(f"/privacy/customers/{ada}/export").status_code == 404
    assert post_form(client, f"/privacy/customers/{ada}/erase", {"confirm": "erase"}).status_code == 404
    with session_scope() as session:
        assert session.get(Customer, ada).phone == ADA


def test_erasing_asks_for_confirmation_then_keeps_only_the_anonymised_accounts(client):
    ada, reference, _ = ada_with_everything()
    login(client, "owner@akanraby.test")
    ask = client.get(f"/privacy/customers/{ada}/erase")
    assert ask.status_code == 200 and "cannot be undone" in ask.get_data(as_text=True)
    refused = post_form(client, f"/privacy/customers/{ada}/erase", {"confirm": "yes"}, page=f"/customers/{ada}")
    assert refused.status_code == 422 and "nothing was erased" in refused.get_data(as_text=True)
    with session_scope() as session:
        assert session.get(Customer, ada).phone == ADA

    done = post_form(client, f"/privacy/customers/{ada}/erase", {"confirm": " Erase "}, page=f"/customers/{ada}")
    assert done.status_code == 302
    page = client.get(f"/customers/{ada}").get_data(as_text=True)
    assert ADA not in page and "abeg how much" not in page and reference in page  # the order stays, not hers
    assert "Erase their data" not in page
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        assert order.customer.phone == f"erased-{ada}" and order.total_minor > 0
        assert session.scalars(select(Payment.proof_url).where(Payment.order_id == order.id)).one() is None
        entry = session.execute(text("SELECT actor, target, detail FROM audit_log "
                                     "WHERE action = 'customer_erased'")).one()
    assert entry[:2] == ("owner@akanraby.test", f"customer {ada}") and ADA[1:] not in str(entry[2])
    privacy = client.get("/privacy").get_data(as_text=True)
    assert f"customer {ada}" in privacy and "dashboard" in privacy and "done" in privacy


def test_the_api_exports_and_erases_by_number_for_its_own_business_only(client, web_env):
    ada, reference, proof = ada_with_everything()
    key, other = web_env["akanraby"].api_key, web_env["kentehouse"].api_key
    assert call(client, "GET", f"/api/v1/customers/{ADA}/export", other).status_code == 404
    assert call(client, "GET", "/api/v1/customers/not-a-number/export", key).status_code == 400
    assert call(client, "GET", f"/api/v1/customers/{CHI}/export", key).status_code == 404
    exported = call(client, "GET", "/api/v1/customers/0804 440 0001/export", key)  # written locally
    assert exported.status_code == 200, exported.get_data(as_text=True)
    words, files = unzip(exported.data)
    assert exported.status_code == 200 and reference in words and proof in files.values()

    assert call(client, "POST", f"/api/v1/customers/{ADA}/erase", other).status_code == 404
    erased = call(client, "POST", f"/api/v1/customers/{ADA}/erase", key)
    assert erased.status_code == 200
    body = erased.get_json()
    assert body["status"] == "done" and body["customer"] == f"customer {ada}"
    assert body["summary"]["counts"]["conversation events"] == 3
    assert call(client, "GET", f"/api/v1/customers/{ADA}/export", key).status_code == 404  # nothing left of her
    with session_scope() as session:
        actions = session.execute(text("SELECT action, actor, target FROM audit_log "
                                       "WHERE action LIKE 'customer_%' ORDER BY id")).all()
    assert [(a, t) for a, _, t in actions] == [("customer_exported", f"customer {ada}"),
                                               ("customer_erased", f"customer {ada}")]
    assert all(actor.startswith("api-key ") for _, actor, _ in actions)
    assert "/api/v1/customers/{phone}/erase" in client.get("/api/v1/openapi.json").get_json()["paths"]

    record_inbound("akanraby", CHI, "whatsapp")  # wrote once, never ordered: a contact only
    contact_only = call(client, "POST", f"/api/v1/customers/{CHI}/erase", key).get_json()
    assert contact_only["status"] == "done" and contact_only["customer"].startswith("contact ")
    assert call(client, "GET", f"/api/v1/customers/{CHI}/export", key).status_code == 404


def test_the_owner_confirms_or_declines_what_customers_asked_on_whatsapp(client):
    ada, _, _ = ada_with_everything()
    make_order("akanraby", CHI, "Chi")
    akanraby = get_registry().get("akanraby")
    assert ask_for_erasure(akanraby, ADA) and ask_for_erasure(akanraby, CHI)
    with session_scope() as session:
        chi = session.scalars(select(Customer.id).where(Customer.phone == CHI)).one()
        ids = {r.customer_id: r.id for r in session.scalars(select(PrivacyRequest))}
    login(client, "owner@akanraby.test")
    page = client.get("/privacy").get_data(as_text=True)
    assert f"customer {ada}" in page and f"customer {chi}" in page and "pending" in page
    assert ADA not in page and CHI not in page

    post_form(client, f"/privacy/requests/{ids[chi]}/decline", page="/privacy")
    post_form(client, f"/privacy/requests/{ids[ada]}/confirm", page="/privacy")
    with session_scope() as session:
        assert session.get(PrivacyRequest, ids[chi]).status == "declined"
        assert session.get(Customer, chi).phone == CHI  # declined: nothing erased
        done = session.get(PrivacyRequest, ids[ada])
        assert done.status == "done" and done.decided_by == "owner@akanraby.test"
        assert done.summary["customer_told"].startswith("skipped")  # no WhatsApp provider in these tests
        assert session.get(Customer, ada).phone == f"erased-{ada}"
    again = post_form(client, f"/privacy/requests/{ids[ada]}/confirm", page="/privacy")
    assert "done already" in client.get(again.headers["Location"]).get_data(as_text=True)
    other = client.application.test_client()
    login(other, "owner@kentehouse.test")
    assert f"customer {chi}" not in other.get("/privacy").get_data(as_text=True)
    post_form(other, f"/privacy/requests/{ids[chi]}/confirm", page="/privacy")
    with session_scope() as session:
        assert session.get(Customer, chi).phone == CHI


def test_the_owner_sets_how_long_customers_data_is_kept_on_the_settings_page(client):
    login(client, "owner@akanraby.test")
    form = form_of(client)
    assert form["retention.proof_images_days"] == "" and get_registry().get("akanraby").retention == Retention()
    form.update({"retention.proof_images_days": "30", "retention.conversations_days": "365"})
    saved = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    assert get_registry().get("akanraby").retention == Retention(30, 365, None)
    assert form_of(client)["retention.conversations_days"] == "365"

    form = form_of(client) | {"retention.media_days": "2 months"}
    refused = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert refused.status_code == 422 and "retention.media_days" in refused.get_data(as_text=True)
    assert get_registry().get("akanraby").retention == Retention(30, 365, None)  # nothing lost

    form = form_of(client) | {"retention.proof_images_days": "", "retention.conversations_days": ""}
    client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert get_registry().get("akanraby").retention == Retention()  # cleared: kept again
