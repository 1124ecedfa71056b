"""The Provider accounts page: owners only; what is entered is never shown back (not in the page, the audit
log or the logs); wrong values are refused with the reason and the account before kept; remove goes back to
the platform's account."""
from __future__ import annotations

import logging

import pytest

from grace.store.secrets import new_key
from grace.tenancy.credentials import forget, twilio_for
from tests.web.conftest import login, post_form

SID = "AC" + "3c" * 16
TOKEN = "SuperSecretTwilioToken0123456789"
META_TOKEN, META_SECRET = "EAAGsecretMetaAccessToken0042", "secretMetaAppSecret0042"
MODEL_KEY = "sk-secret-model-key-0042"


@pytest.fixture
def keyed(web_env, monkeypatch):
    monkeypatch.setenv("GRACE_SECRET_KEY", new_key())
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    forget()
    yield web_env
    forget()


def owner(client):
    assert login(client, "owner@akanraby.test").status_code == 302
    return client


def enter_twilio(client, sid: str = SID, token: str = TOKEN):
    return post_form(client, "/settings/providers/twilio", {"account_sid": sid, "auth_token": token},
                     page="/settings/providers")


def page(client) -> str:
    answer = client.get("/settings/providers")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("role", ["ops", "viewer"])
def test_only_owners_see_or_change_the_accounts(client, keyed, role):
    assert login(client, f"{role}@akanraby.test").status_code == 302
    assert client.get("/settings/providers").status_code == 403
    assert post_form(client, "/settings/providers/twilio", {"account_sid": SID, "auth_token": TOKEN}).status_code == 403
    assert twilio_for("akanraby") is None


def test_anonymous_visitors_are_sent_to_log_in(client, keyed):
    assert client.get("/settings/providers").status_code == 302


def test_what_is_entered_is_never_shown_back_in_the_page_the_audit_log_or_the_logs(client, keyed, caplog):
    owner(client)
    assert "Using the platform's account." in page(client)
    caplog.set_level(logging.DEBUG)
    for kind, values in (("twilio", {"account_sid": SID, "auth_token": TOKEN}),
                         ("meta", {"access_token": META_TOKEN, "app_secret": META_SECRET}),
                         ("model", {"base_url": "https://models.example.com/v1", "api_key": MODEL_KEY})):
        answer = post_form(client, f"/settings/providers/{kind}", values, page="/settings/providers")
        assert answer.status_code == 302, answer.get_data(as_text=True)
    shown = page(client)
    assert "set on" in shown and "by owner@akanraby.test, AC…3c3c" in shown and "models.example.com" in shown
    assert 'value=""' in shown and "Using the platform's account." not in shown
    audit = client.get("/audit").get_data(as_text=True)
    assert "credentials_saved" in audit
    everything = shown + audit + caplog.text
    for secret in (TOKEN, META_TOKEN, META_SECRET, MODEL_KEY):
        assert secret not in everything
    assert twilio_for("akanraby").auth_token == TOKEN  # kept, and used


def test_a_wrong_sid_is_refused_with_the_reason_and_the_account_before_is_kept(client, keyed):
    owner(client)
    enter_twilio(client)
    answer = post_form(client, "/settings/providers/twilio", {"account_sid": "SK" + "3c" * 16, "auth_token": "x" * 32},
                       page="/settings/providers")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "Nothing was saved" in text and "starts with AC and has 34 characters" in text
    assert "AC…3c3c" in text and "x" * 32 not in text
    assert twilio_for("akanraby").account_sid == SID


def test_remove_goes_back_to_the_platforms_account(client, keyed, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "b2" * 16)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "platformTwilioToken0123456789abc")
    owner(client)
    enter_twilio(client)
    assert twilio_for("akanraby").account_sid == SID
    assert post_form(client, "/settings/providers/twilio/remove", page="/settings/providers").status_code == 302
    assert twilio_for("akanraby").account_sid == "AC" + "b2" * 16
    assert "Using the platform's account." in page(client)
    assert "credentials_cleared" in client.get("/audit").get_data(as_text=True)


def test_without_the_platforms_key_the_form_says_why(client, keyed, monkeypatch):
    monkeypatch.delenv("GRACE_SECRET_KEY")
    monkeypatch.setenv("GRACE_PROFILE", "scaled")
    owner(client)
    answer = post_form(client, "/settings/providers/twilio", {"account_sid": SID, "auth_token": TOKEN},
                       page="/settings/providers")
    assert answer.status_code == 422 and "GRACE_SECRET_KEY is not set" in answer.get_data(as_text=True)
    assert twilio_for("akanraby") is None


def test_a_post_without_the_csrf_token_changes_nothing(client, keyed):
    owner(client)
    assert client.post("/settings/providers/twilio", data={"account_sid": SID, "auth_token": TOKEN}).status_code == 400
    assert twilio_for("akanraby") is None


def test_one_business_never_sees_anothers_accounts(client, keyed, app):
    owner(client)
    enter_twilio(client)
    other = app.test_client()
    assert login(other, "owner@kentehouse.test").status_code == 302
    assert "AC…3c3c" not in other.get("/settings/providers").get_data(as_text=True)


def test_the_api_tells_which_accounts_are_the_businesss_own_and_nothing_more(client, keyed):
    owner(client)
    enter_twilio(client)
    answer = client.get("/api/v1/providers", headers={"X-API-Key": keyed["akanraby"].api_key})
    assert answer.status_code == 200
    found = {p["kind"]: p for p in answer.get_json()["providers"]}
    assert found["twilio"]["own"] and found["twilio"]["hint"] == "AC…3c3c" and not found["meta"]["own"]
    assert TOKEN not in answer.get_data(as_text=True)
    assert client.get("/api/v1/providers").status_code == 401
