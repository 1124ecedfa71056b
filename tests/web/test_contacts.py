"""The Contacts page and /api/v1/contacts: the list with its filters and count, import (good rows kept, bad rows
named), export, labels (the inbox's); owners and ops change, viewers read; every business sees its own only."""
from __future__ import annotations

import io
import re

import pytest

from grace.messaging.contacts import record_inbound
from grace.messaging.inbound import conversation_id
from grace.messaging.team_notes import labels_of
from grace.store import session_scope
from tests.web.conftest import csrf_token, login, paid_order, post_form
from tests.web.test_api import call

ADA, BOLA, CHI, DAYO = "+2348031111111", "+2348032222222", "+2348033333333", "+2348034444444"
KOFI = "+233244000001"
LIST = ("phone,name,city,labels,consent\n0803 222 2222,Bola,Abuja,wholesale,yes\n08033333333,Chi,Lagos,vip,\n"
        "not a number,Nobody,,,yes\n")


def shops() -> None:
    """Akanraby: Ada wrote first and paid for ankara (vip, Lagos), Bola and Chi imported (Bola agreed), Dayo sent
    STOP. Kente House: Kofi, imported with consent."""
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp", stop=True)
    paid_order("akanraby", ADA, "Ada")
    with session_scope() as session:
        from grace.shop.contact_book import add_contact_label, import_contacts
        from grace.tenancy.registry import get_registry

        akanraby, kente = get_registry().get("akanraby"), get_registry().get("kentehouse")
        import_contacts(session, akanraby, LIST.encode())
        import_contacts(session, akanraby, b"phone,city\n08031111111,Lagos\n")
        add_contact_label(session, akanraby, ADA, "vip")
        import_contacts(session, kente, b"phone,name,labels,consent\n024 400 0001,Kofi,vip,yes\n")


def rows(page: str) -> list[str]:
    """The numbers the page's table lists, in order."""
    return re.findall(r'<tr id="contact-(\+\d+)">', page)


def upload(client, path: str, data: bytes, filename: str = "contacts.csv", page: str = "/contacts"):
    return client.post(path, data={"file": (io.BytesIO(data), filename), "csrf_token": csrf_token(client, page)},
                       content_type="multipart/form-data")


# The page --------------------------------------------------------------------------------------------


def test_the_page_lists_the_businesss_contacts_with_filters_and_the_count(client, web_env):
    shops()
    login(client, "owner@akanraby.test")
    page = client.get("/contacts")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and sorted(rows(text)) == [ADA, BOLA, CHI, DAYO]
    assert KOFI not in text and "<script" not in text  # no inline scripts (CSP script-src 'self')
    assert "<strong>4</strong> contacts match; 2 of them opted in" in text
    assert "ankara" in text and "opted out" in text and "wrote first" in text

    def listed(query: str) -> list[str]:
        return sorted(rows(client.get(f"/contacts?{query}").get_data(as_text=True)))

    assert listed("label=vip") == [ADA, CHI]
    assert listed("category=ankara") == [ADA]
    assert listed("city=lagos") == [ADA, CHI]
    assert listed("consent=opted_in") == [ADA, BOLA]
    assert listed("consent=opted_out") == [DAYO]
    assert listed("consent=not_opted_in") == [CHI]
    assert listed("newer=7") == [ADA] and listed("older=7") == []
    assert "<strong>1</strong> contact matches" in client.get("/contacts?label=vip&consent=opted_in").get_data(
        as_text=True)
    bad = client.get("/contacts?older=soon")
    assert bad.status_code == 422 and "whole number of days" in bad.get_data(as_text=True)

    other = client.application.test_client()
    login(other, "owner@kentehouse.test")
    assert rows(other.get("/contacts").get_data(as_text=True)) == [KOFI]


def test_the_export_downloads_the_filtered_list_as_csv(client, web_env):
    shops()
    login(client, "viewer@akanraby.test")
    everyone = client.get("/contacts/export.csv")
    assert everyone.status_code == 200 and everyone.mimetype == "text/csv"
    assert 'filename="akanraby-contacts.csv"' in everyone.headers["Content-Disposition"]
    lines = everyone.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("phone,name,city,labels,consent,source") and len(lines) == 5
    vip = client.get("/contacts/export.csv?label=vip&consent=opted_in").get_data(as_text=True)
    assert [line.split(",")[0] for line in vip.lstrip("\ufeff").splitlines()[1:]] == [f"'{ADA}"]
    assert KOFI not in everyone.get_data(as_text=True)


def test_ops_import_a_file_and_see_the_rows_left_out(client, web_env):
    login(client, "ops@akanraby.test")
    done = upload(client, "/contacts/import", LIST.encode())
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Imported: 2 added, 0 updated, 1 opted in; 1 row left out" in text
    assert "line 4 (not a number): &#39;not a number&#39; is not a phone number" in text
    assert sorted(rows(text)) == [BOLA, CHI]

    refused = upload(client, "/contacts/import", b"PK\x03\x04 a workbook", "contacts.xlsx")
    assert refused.status_code == 422 and "Nothing was imported" in refused.get_data(as_text=True)
    too_big = upload(client, "/contacts/import", b"phone\n" + b"08031111111\n" * 190_000)
    assert too_big.status_code == 422 and "the limit is 2 MB" in too_big.get_data(as_text=True)
    assert sorted(rows(client.get("/contacts").get_data(as_text=True))) == [BOLA, CHI]  # nothing else changed
    no_token = client.post("/contacts/import", data={"file": (io.BytesIO(LIST.encode()), "c.csv")},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400


def test_labels_added_on_the_page_are_the_conversations_in_the_inbox(client, web_env):
    shops()
    login(client, "ops@akanraby.test")
    added = post_form(client, f"/contacts/{BOLA}/labels?label=vip", {"label": "Aso Ebi"}, page="/contacts")
    assert added.status_code == 302 and added.headers["Location"].endswith("/contacts?label=vip")
    with session_scope() as session:
        assert labels_of(session, "akanraby", [conversation_id("akanraby", BOLA)]) == {
            conversation_id("akanraby", BOLA): ["aso ebi", "wholesale"]}
    assert BOLA in rows(client.get("/contacts?label=aso+ebi").get_data(as_text=True))
    post_form(client, f"/contacts/{BOLA}/labels", {"remove": "aso ebi"}, page="/contacts")
    assert BOLA not in rows(client.get("/contacts?label=aso+ebi").get_data(as_text=True))
    bad = post_form(client, f"/contacts/{BOLA}/labels", {"label": "<b>"}, page="/contacts")
    assert bad.status_code == 422 and "a label is 1 to 30" in bad.get_data(as_text=True)
    assert post_form(client, f"/contacts/{KOFI}/labels", {"label": "vip"}, page="/contacts").status_code == 404


def test_viewers_read_but_change_nothing(client, web_env):
    shops()
    login(client, "viewer@akanraby.test")
    page = client.get("/contacts").get_data(as_text=True)
    assert sorted(rows(page)) == [ADA, BOLA, CHI, DAYO]
    assert 'action="/contacts/import' not in page and "/labels" not in page
    assert upload(client, "/contacts/import", LIST.encode()).status_code == 403
    assert post_form(client, f"/contacts/{BOLA}/labels", {"label": "vip"}, page="/contacts").status_code == 403
    assert client.get("/contacts").status_code == 200 and "/contacts" in client.get("/").get_data(as_text=True)


# The API ---------------------------------------------------------------------------------------------


def test_the_api_lists_contacts_filtered_and_paginated_for_the_keys_business_only(client, web_env):
    shops()
    key = web_env["akanraby"].api_key
    body = call(client, "GET", "/api/v1/contacts", key).get_json()
    assert body["total"] == 4 and sorted(c["phone"] for c in body["contacts"]) == [ADA, BOLA, CHI, DAYO]
    ada = next(c for c in body["contacts"] if c["phone"] == ADA)
    assert (ada["consent"], ada["opt_in_source"], ada["labels"], ada["categories"], ada["orders"]) == (
        "opted_in", "wrote_first", ["vip"], ["ankara"], 1)
    assert ada["lifetime_value_minor"] > 0 and ada["currency"] == "NGN" and ada["city"] == "Lagos"

    def phones(query: str) -> list[str]:
        return sorted(c["phone"] for c in call(client, "GET", f"/api/v1/contacts?{query}", key).get_json()["contacts"])

    assert phones("label=vip&label=wholesale") == [ADA, BOLA, CHI]
    assert phones("label=vip&consent=opted_in") == [ADA]
    assert phones("category=ankara") == [ADA] and phones("city=Abuja") == [BOLA]
    assert phones("consent=opted_out") == [DAYO]
    assert phones("last_order_newer_than_days=30") == [ADA] and phones("last_order_older_than_days=30") == []
    first = call(client, "GET", "/api/v1/contacts?limit=3", key).get_json()
    rest = call(client, "GET", "/api/v1/contacts?limit=3&offset=3", key).get_json()
    assert (len(first["contacts"]), len(rest["contacts"]), rest["total"]) == (3, 1, 4)
    assert {c["phone"] for c in first["contacts"] + rest["contacts"]} == {ADA, BOLA, CHI, DAYO}
    for query, reason in (("limit=0", "limit"), ("offset=-1", "offset"), ("consent=maybe", "unknown consent"),
                          ("last_order_older_than_days=soon", "whole number"), ("label=%3Cb%3E", "a label is"),
                          ("last_order_older_than_days=30&last_order_newer_than_days=10", "both over")):
        bad = call(client, "GET", f"/api/v1/contacts?{query}", key)
        assert bad.status_code == 400 and reason in bad.get_json()["error"], query

    kente = call(client, "GET", "/api/v1/contacts", web_env["kentehouse"].api_key).get_json()
    assert [c["phone"] for c in kente["contacts"]] == [KOFI] and kente["contacts"][0]["currency"] == "GHS"
    assert call(client, "GET", "/api/v1/contacts", None).status_code == 401


def test_the_api_imports_csv_as_the_body_or_a_form_and_only_for_owners_and_ops(client, web_env):
    key = web_env["akanraby"].api_key
    path = "/api/v1/contacts/import"
    done = call(client, "POST", f"{path}?user=ops@akanraby.test", key, data=LIST, content_type="text/csv")
    assert done.status_code == 200
    report = done.get_json()
    assert (report["added"], report["opted_in"]) == (2, 1)
    assert report["problems"] == [
        {"line": 4, "phone": "not a number", "problem": "'not a number' is not a phone number"}]

    ada_agrees = io.BytesIO(b"phone,consent\n08031111111,yes\n")
    form = call(client, "POST", path, key, content_type="multipart/form-data",
                data={"user": "owner@akanraby.test", "file": (ada_agrees, "a.csv")})
    assert form.status_code == 200 and form.get_json()["opted_in"] == 1

    viewer = call(client, "POST", f"{path}?user=viewer@akanraby.test", key, data=LIST, content_type="text/csv")
    assert viewer.status_code == 403
    nobody = call(client, "POST", path, key, data=LIST, content_type="text/csv")
    assert nobody.status_code == 422 and "'user'" in nobody.get_json()["error"]
    stranger = call(client, "POST", f"{path}?user=ops@kentehouse.test", key, data=LIST, content_type="text/csv")
    assert stranger.status_code == 422  # another business's user acts for nobody here
    workbook = call(client, "POST", f"{path}?user=ops@akanraby.test", key, data=b"PK\x03\x04 xlsx",
                    content_type="text/csv")
    assert workbook.status_code == 422 and "nothing was imported" in workbook.get_json()["error"]
    as_json = call(client, "POST", f"{path}?user=ops@akanraby.test", key, json={"phone": "08035555555"})
    assert as_json.status_code == 422 and "text/csv" in as_json.get_json()["error"]
    listed = call(client, "GET", "/api/v1/contacts", key).get_json()
    assert sorted(c["phone"] for c in listed["contacts"]) == [ADA, BOLA, CHI]
    assert call(client, "GET", "/api/v1/contacts", web_env["kentehouse"].api_key).get_json()["total"] == 0


def test_the_api_exports_csv_for_the_keys_business(client, web_env):
    shops()
    exported = call(client, "GET", "/api/v1/contacts/export?consent=opted_in", web_env["akanraby"].api_key)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == [f"'{ADA}", f"'{BOLA}"]
    kente = call(client, "GET", "/api/v1/contacts/export", web_env["kentehouse"].api_key).get_data(as_text=True)
    assert KOFI in kente and ADA not in kente
    assert call(client, "GET", "/api/v1/contacts/export?consent=maybe", web_env["akanraby"].api_key).status_code == 400


@pytest.mark.parametrize("written", [ADA, "08031111111"])
def test_the_api_labels_a_contact_of_the_keys_business(client, web_env, written):
    shops()
    key = web_env["akanraby"].api_key
    path = f"/api/v1/contacts/{written}/labels"
    added = call(client, "POST", path, key, json={"user": "ops@akanraby.test", "label": "Wholesale"})
    assert added.status_code == 200 and added.get_json() == {"phone": ADA, "labels": ["vip", "wholesale"]}
    removed = call(client, "DELETE", f"{path}?user=owner@akanraby.test&label=vip", key)
    assert removed.status_code == 200 and removed.get_json()["labels"] == ["wholesale"]
    in_body = call(client, "DELETE", path, key, json={"user": "ops@akanraby.test", "label": "wholesale"})
    assert in_body.get_json()["labels"] == []
    with session_scope() as session:  # the inbox's labels
        assert labels_of(session, "akanraby", [conversation_id("akanraby", ADA)]) == {}

    viewer = call(client, "POST", path, key, json={"user": "viewer@akanraby.test", "label": "vip"})
    assert viewer.status_code == 403
    assert call(client, "DELETE", f"{path}?user=viewer@akanraby.test&label=vip", key).status_code == 403
    bad = call(client, "POST", path, key, json={"user": "ops@akanraby.test", "label": "<b>"})
    assert bad.status_code == 422 and "a label is" in bad.get_json()["error"]
    for elsewhere in (KOFI, "+2348099999999", "not-a-number"):  # Kente House's contact, nobody's, no number
        response = call(client, "POST", f"/api/v1/contacts/{elsewhere}/labels", key,
                        json={"user": "ops@akanraby.test", "label": "vip"})
        assert response.status_code == 404 and "error" in response.get_json(), elsewhere
    kente = call(client, "POST", f"/api/v1/contacts/{KOFI}/labels", web_env["kentehouse"].api_key,
                 json={"user": "ops@kentehouse.test", "label": "wholesale"})
    assert kente.get_json()["labels"] == ["vip", "wholesale"]


def test_the_openapi_description_lists_the_contacts_paths(client, web_env):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/contacts"]) == {"get"} and set(paths["/api/v1/contacts/export"]) == {"get"}
    assert set(paths["/api/v1/contacts/import"]) == {"post"}
    assert set(paths["/api/v1/contacts/{phone}/labels"]) == {"post", "delete"}
    assert set(paths["/api/v1/contacts/{phone}"]) == {"put"}
    assert {"ContactList", "Contact", "ContactImport"} <= set(
        client.get("/api/v1/openapi.json").get_json()["components"]["schemas"])


def test_a_websites_checkout_box_records_consent_through_the_api_and_never_over_a_stop(client, web_env):
    key = web_env["akanraby"].api_key
    ticked = call(client, "PUT", "/api/v1/contacts/0803 777 7777", key, json={
        "user": "ops@akanraby.test", "name": "Ngozi", "city": "Ibadan", "labels": ["website"], "consent": True,
        "source": "checkout"})
    assert ticked.status_code == 200, ticked.get_json()
    contact = ticked.get_json()
    assert (contact["phone"], contact["name"], contact["consent"], contact["opt_in_source"], contact["labels"]) == (
        "+2348037777777", "Ngozi", "opted_in", "checkout", ["website"])
    record_inbound("akanraby", "+2348037777777", "whatsapp", stop=True)  # then she sent STOP on WhatsApp
    again = call(client, "PUT", "/api/v1/contacts/+2348037777777", key,
                 json={"user": "ops@akanraby.test", "consent": True, "source": "checkout"})
    assert again.status_code == 200 and again.get_json()["consent"] == "opted_out"
    unticked = call(client, "PUT", "/api/v1/contacts/08038888888", key, json={"user": "ops@akanraby.test"})
    assert unticked.get_json()["consent"] == "not_opted_in"
    for bad, reason in (({"name": "=HYPERLINK(1)"}, "formula"), ({"consent": "yes"}, "consent"),
                        ({"labels": "vip"}, "labels")):
        refused = call(client, "PUT", "/api/v1/contacts/08039999999", key, json={"user": "ops@akanraby.test", **bad})
        assert refused.status_code == 422 and reason in refused.get_json()["error"], refused.get_json()
    assert call(client, "PUT", "/api/v1/contacts/08039999999", key,
                json={"user": "viewer@akanraby.test", "consent": True}).status_code == 403
    assert call(client, "GET", "/api/v1/contacts", web_env["kentehouse"].api_key).get_json()["total"] == 0
