"""A business's own provider accounts in the store: sealed under the platform's key (rotation without loss),
checked before they are kept, never shown back, and used for that business only, the platform's account
staying the default for everyone else. The model endpoints are two local OpenAI-compatible servers."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from actions.support import ActionRedirectOfftopic
from grace.llm.client import ModelUnavailable, complete, configured
from grace.store import session_scope
from grace.store.models import AuditEntry, TenantCredential
from grace.store.secrets import SecretKeyMissing, SecretUnreadable, new_key, seal, unseal
from grace.tenancy.credentials import (
    CredentialsRefused,
    clear,
    forget,
    meta_for,
    model_for,
    reseal_all,
    save,
    status,
    twilio_for,
    unreadable,
)
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import Chat, texts

SID_A = "AC" + "a1" * 16
TOKEN_A = "0123456789abcdef0123456789ABCDEF"
OWNER = "owner@akanraby.test"
QUESTION = [{"role": "user", "content": "Do you sell aso oke?"}]


@pytest.fixture
def keyed(grace_env, monkeypatch):
    """A platform key of the test's own, and no answer cached from another test."""
    monkeypatch.setenv("GRACE_SECRET_KEY", new_key())
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL", "META_ACCESS_TOKEN",
                 "META_APP_SECRET", "META_API_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "GRACE_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    forget()
    yield
    forget()


def save_twilio(tenant_id: str = "akanraby", sid: str = SID_A, token: str = TOKEN_A) -> None:
    with session_scope() as session:
        save(session, tenant_id, "twilio", {"account_sid": sid, "auth_token": token}, OWNER)


def stored(tenant_id: str, kind: str) -> str | None:
    with session_scope() as session:
        return session.scalars(select(TenantCredential.sealed).where(
            TenantCredential.tenant_id == tenant_id, TenantCredential.kind == kind)).one_or_none()


def test_sealed_values_open_with_the_key_and_with_no_other():
    old, other = new_key(), new_key()
    sealed = seal({"auth_token": TOKEN_A}, keys=[old])
    assert TOKEN_A not in sealed
    assert unseal(sealed, keys=[old]) == {"auth_token": TOKEN_A}
    with pytest.raises(SecretUnreadable):
        unseal(sealed, keys=[other])


def test_rotation_reseals_every_row_so_the_old_key_can_be_dropped(keyed, monkeypatch):
    old, new = new_key(), new_key()
    monkeypatch.setenv("GRACE_SECRET_KEY", old)
    save_twilio()
    with session_scope() as session:
        save(session, "kentehouse", "meta", {"access_token": "EAAG" + "x" * 40, "app_secret": "s" * 32}, OWNER)
    monkeypatch.setenv("GRACE_SECRET_KEY", f"{new},{old}")  # the new key first: it seals, both open
    with session_scope() as session:
        assert reseal_all(session) == 2
    monkeypatch.setenv("GRACE_SECRET_KEY", new)  # the old key dropped
    forget()
    assert unseal(stored("akanraby", "twilio") or "") == {"account_sid": SID_A, "auth_token": TOKEN_A}
    assert twilio_for("akanraby") == twilio_for("akanraby") and twilio_for("akanraby").auth_token == TOKEN_A
    assert meta_for("kentehouse").app_secret == "s" * 32


def test_a_row_no_key_opens_is_reported_kept_and_never_replaced_by_the_platforms_account(keyed, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "b2" * 16)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "platform-token-platform-token-00")
    monkeypatch.setenv("GRACE_SECRET_KEY", new_key())
    save_twilio()
    before = stored("akanraby", "twilio")
    monkeypatch.setenv("GRACE_SECRET_KEY", new_key())  # a key nobody sealed with
    forget()
    with session_scope() as session:
        assert reseal_all(session) == 0
        assert unreadable(session) == [("akanraby", "twilio")]  # what the operator is told to have re-entered
    assert stored("akanraby", "twilio") == before  # kept, for the owner to enter again
    with pytest.raises(SecretUnreadable):
        unseal(before or "")
    # Its webhooks must not be checked (nor its replies sent) with the platform's account instead.
    assert twilio_for("akanraby") is None
    assert twilio_for("kentehouse").account_sid == "AC" + "b2" * 16


@pytest.mark.parametrize(("kind", "values", "reason"), [
    ("twilio", {"account_sid": "SK" + "a1" * 16, "auth_token": TOKEN_A}, "starts with AC and has 34 characters"),
    ("twilio", {"account_sid": SID_A[:-1], "auth_token": TOKEN_A}, "starts with AC and has 34 characters"),
    ("twilio", {"account_sid": SID_A, "auth_token": "short"}, "auth token has 32"),
    ("twilio", {"account_sid": SID_A}, "auth token required"),
    ("meta", {"access_token": "EAAG token with spaces in", "app_secret": "s" * 32}, "no spaces"),
    ("model", {"base_url": "ftp://models.example.com", "api_key": "sk-" + "k" * 30}, "http(s) address"),
    ("model", {"base_url": "models.example.com"}, "http(s) address"),
    ("fax", {"number": "1"}, "unknown kind"),
])
def test_wrong_values_are_refused_with_the_reason_and_the_account_before_is_kept(keyed, kind, values, reason):
    save_twilio()
    before = stored("akanraby", "twilio")
    with session_scope() as session, pytest.raises(CredentialsRefused, match=reason.replace("(", r"\(").replace(
            ")", r"\)")):
        save(session, "akanraby", kind, values, OWNER)
    assert stored("akanraby", "twilio") == before
    assert twilio_for("akanraby").auth_token == TOKEN_A


def test_without_the_platforms_key_outside_local_development_nothing_is_kept(keyed, monkeypatch):
    monkeypatch.delenv("GRACE_SECRET_KEY")
    monkeypatch.setenv("GRACE_PROFILE", "scaled")
    with session_scope() as session, pytest.raises(SecretKeyMissing, match="GRACE_SECRET_KEY is not set"):
        save(session, "akanraby", "twilio", {"account_sid": SID_A, "auth_token": TOKEN_A}, OWNER)
    assert stored("akanraby", "twilio") is None


@pytest.mark.parametrize(("address", "reason"), [
    ("http://models.example.com/v1", "must be an https address"),
    ("https://127.0.0.1:5005/v1", "127.0.0.1, a private or local one"),
    ("https://localhost/v1", "a private or local one"),
    ("https://10.0.0.7/v1", "10.0.0.7, a private or local one"),
    ("https://169.254.169.254/latest", "169.254.169.254, a private or local one"),  # the cloud's metadata service
    ("https://[::1]/v1", "::1, a private or local one"),
])
def test_outside_local_development_a_model_endpoint_inside_the_platforms_network_is_refused(keyed, monkeypatch,
                                                                                            address, reason):
    monkeypatch.setenv("GRACE_PROFILE", "scaled")  # a deployment: the server would call these from inside
    with session_scope() as session, pytest.raises(CredentialsRefused, match=re.escape(reason)):
        save(session, "akanraby", "model", {"base_url": address, "api_key": "sk-" + "k" * 30}, OWNER)
    assert stored("akanraby", "model") is None
    with session_scope() as session:  # a public address is kept (a literal one: no name to resolve here)
        save(session, "akanraby", "model", {"base_url": "https://8.8.8.8/v1", "api_key": "sk-" + "k" * 30}, OWNER)
    assert model_for("akanraby").base_url == "https://8.8.8.8/v1"


def test_status_shows_who_set_which_account_and_never_a_secret(keyed):
    save_twilio()
    with session_scope() as session:
        save(session, "akanraby", "model", {"base_url": "https://models.example.com/v1/",
                                             "api_key": "sk-own-" + "k" * 30, "model": "llama-3.1-8b"}, OWNER)
        shown = status(session, "akanraby")
        entries = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == "akanraby")).all()
        logged = [(e.action, e.actor, e.target, e.detail) for e in entries]
    assert shown["twilio"].set and shown["twilio"].hint == "AC…a1a1" and shown["twilio"].updated_by == OWNER
    assert shown["model"].hint == "models.example.com · llama-3.1-8b"
    assert not shown["meta"].set and shown["meta"].hint == ""
    assert logged == [("credentials_saved", OWNER, "twilio", {"kind": "twilio"}),
                      ("credentials_saved", OWNER, "model", {"kind": "model"})]
    assert TOKEN_A not in repr(shown) + repr(logged) and "k" * 30 not in repr(shown) + repr(logged)


def test_a_business_uses_its_own_account_others_the_platforms_and_removing_it_goes_back(keyed, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "b2" * 16)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "platform-token-platform-token-00")
    assert twilio_for("akanraby").account_sid == "AC" + "b2" * 16  # cached now...
    save_twilio()  # ...and forgotten by the save, in this process at once
    mine, theirs = twilio_for("akanraby"), twilio_for("kentehouse")
    assert (mine.account_sid, mine.auth_token, mine.own) == (SID_A, TOKEN_A, True)
    assert (theirs.account_sid, theirs.own) == ("AC" + "b2" * 16, False)
    with session_scope() as session:
        assert clear(session, "akanraby", "twilio", OWNER)
        assert not clear(session, "akanraby", "twilio", OWNER)  # nothing left to remove
    assert twilio_for("akanraby").account_sid == "AC" + "b2" * 16
    with session_scope() as session:
        assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
            "credentials_saved", "credentials_cleared"]


def test_without_any_account_there_is_none(keyed):
    assert twilio_for("akanraby") is None and meta_for("akanraby") is None and model_for("akanraby") is None
    assert not configured("akanraby")


# The model endpoint ------------------------------------------------------------------------------------


@pytest.fixture
def models(keyed, monkeypatch):
    """The platform's model server (the default) and one of akanraby's own, with their own keys."""
    with FakeOpenAI(api_key="sk-platform-key") as platform, FakeOpenAI(api_key="sk-akanraby-own-key") as own:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{platform.base_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-platform-key")
        monkeypatch.setenv("GRACE_LLM_MODEL", "platform-model")
        monkeypatch.setenv("GRACE_LLM_BREAKER_FAILURES", "1")
        yield platform, own


def test_a_business_with_its_own_endpoint_gets_its_answers_there_and_the_others_from_the_platform(models):
    platform, own = models
    with session_scope() as session:
        save(session, "akanraby", "model", {"base_url": f"{own.base_url}/v1", "api_key": "sk-akanraby-own-key",
                                             "model": "own-model"}, OWNER)
    own.answer("From your own model")
    platform.answer("From the platform")
    assert complete(QUESTION, "tenant-yml-model", tenant_id="akanraby") == "From your own model"
    assert complete(QUESTION, None, tenant_id="kentehouse") == "From the platform"
    assert [r["json"]["model"] for r in own.requests] == ["own-model"]  # its own model name wins
    assert [r["json"]["model"] for r in platform.requests] == ["platform-model"]


def test_one_businesss_broken_endpoint_opens_its_breaker_only(models):
    platform, own = models
    with session_scope() as session:
        save(session, "akanraby", "model", {"base_url": f"{own.base_url}/v1", "api_key": "sk-revoked-key-0000"},
             OWNER)
    with pytest.raises(ModelUnavailable):
        complete(QUESTION, tenant_id="akanraby")  # 401: one failure opens its breaker (GRACE_LLM_BREAKER_FAILURES)
    with pytest.raises(ModelUnavailable, match="circuit open"):
        complete(QUESTION, tenant_id="akanraby")
    assert complete(QUESTION, tenant_id="kentehouse")  # the platform's endpoint still answers the others
    assert len(own.requests) == 1 and len(platform.requests) == 1


def test_an_own_endpoint_answers_even_where_the_platform_has_no_model(keyed):
    with FakeOpenAI(api_key="sk-akanraby-own-key") as own:
        with session_scope() as session:
            save(session, "akanraby", "model", {"base_url": f"{own.base_url}/v1", "api_key": "sk-akanraby-own-key"},
                 OWNER)
        assert configured("akanraby") and not configured("kentehouse")
        assert complete(QUESTION, tenant_id="akanraby")
        with pytest.raises(ModelUnavailable, match="no model configured"):
            complete(QUESTION, tenant_id="kentehouse")


def test_a_customer_of_a_business_with_its_own_model_is_answered_by_it_in_a_turn(keyed):
    with FakeOpenAI(api_key="sk-akanraby-own-key") as own:
        with session_scope() as session:
            save(session, "akanraby", "model", {"base_url": f"{own.base_url}/v1", "api_key": "sk-akanraby-own-key"},
                 OWNER)
        own.answer("Hehe, the real star is our Royal Ivory lace 😄 Shall I send you pictures?")
        said = texts(Chat("akanraby:+2348011111111").run(ActionRedirectOfftopic, "who go win the league?", "trivia"))
        assert "Royal Ivory" in said and len(own.requests) == 1
        # Kente House has no model of its own and the platform none: its library answers, the endpoint is not asked.
        Chat("kentehouse:+233241111111").run(ActionRedirectOfftopic, "who go win the league?", "trivia")
        assert len(own.requests) == 1
