"""An email is unique within a business only: the same person may have accounts at several, and no owner
learns from an invite (or `grace users add`) whether an email has an account at another business. At
login the password decides which accounts open; when several do, the person chooses among those only."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grace.run.cli import main
from grace.store import session_scope
from grace.store.models import User
from grace.tenancy import accounts
from grace.tenancy.accounts import AccountError, authenticate, create_user
from tests.web.conftest import PASSWORD, csrf_token, login, post_form

SHARED = "ops@akanraby.test"  # the fixtures' ops user of akanraby


def accounts_of(email: str) -> dict[str, str]:
    with session_scope() as session:
        return {u.tenant_id: u.role for u in session.scalars(select(User).where(User.email == email))}


def business_shown(client) -> str:
    return re.search(r'<div class="who">\s*([^·]+?) ·', client.get("/").get_data(as_text=True)).group(1)


def test_an_email_is_unique_within_a_business_only(web_env):
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED.upper(), "owner", "kente house password")
    assert accounts_of(SHARED) == {"akanraby": "ops", "kentehouse": "owner"}
    with session_scope() as session, pytest.raises(AccountError, match=f"{SHARED} already has an account here"):
        create_user(session, "akanraby", SHARED, "viewer", PASSWORD)
    with pytest.raises(IntegrityError), session_scope() as session:  # the database holds it too
        session.add(User(tenant_id="kentehouse", email=SHARED, role="ops", password_hash="x"))
    assert accounts_of(SHARED) == {"akanraby": "ops", "kentehouse": "owner"}


def invite(client, email: str) -> tuple[int, str]:
    """The answer to an invite, with the email and the one-time password taken out (they differ anyway)."""
    response = post_form(client, "/users", {"email": email, "role": "viewer"}, page="/users")
    text = response.get_data(as_text=True)
    alert = re.search(r'<div class="card secret" role="alert">.*?</div>', text, re.S)
    once = re.search(r'<code class="once">([^<]+)</code>', text)
    answer = alert.group(0).replace(email, "EMAIL").replace(once.group(1), "PASSWORD") if alert and once else text
    return response.status_code, answer


def test_inviting_another_business_email_is_answered_as_a_new_email(client, app):
    login(client, "owner@kentehouse.test")
    elsewhere, fresh = invite(client, SHARED), invite(client, "fresh@nowhere.test")
    assert elsewhere == fresh and elsewhere[0] == 200 and "one-time password" in elsewhere[1]
    page = client.get("/users").get_data(as_text=True)
    assert 'class="flash error"' not in page and SHARED in page
    # A separate account: akanraby's stays as it was, and its password still opens only akanraby.
    assert accounts_of(SHARED) == {"akanraby": "ops", "kentehouse": "viewer"}
    other = app.test_client()
    assert login(other, SHARED).headers["Location"] == "/"
    assert business_shown(other) == "AkanrabyAtuche"


def test_inviting_an_email_of_this_business_again_is_refused(client):
    login(client, "owner@akanraby.test")
    refused = post_form(client, "/users", {"email": " Ops@Akanraby.test ", "role": "owner"}, page="/users")
    assert refused.status_code == 302
    assert f"{SHARED} already has an account here" in client.get("/users").get_data(as_text=True)
    assert accounts_of(SHARED) == {"akanraby": "ops"}


def test_the_password_opens_the_one_business_it_belongs_to(client, app):
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED, "owner", "kente house password")
    assert login(client, SHARED).headers["Location"] == "/"
    assert business_shown(client) == "AkanrabyAtuche"
    kente = app.test_client()
    assert login(kente, SHARED, "kente house password").headers["Location"] == "/"
    assert business_shown(kente) == "Kente House Accra"


def choices(response) -> tuple[list[str], str]:
    text = response.get_data(as_text=True)
    offered = re.findall(r'<button type="submit" name="tenant" value="([^"]+)">', text)
    return offered, re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def test_one_password_at_two_businesses_asks_which_and_offers_only_those(client, app):
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED, "owner", PASSWORD)
        create_user(session, "kitengenairobi", SHARED, "owner", "another password")
    asked = login(client, SHARED)
    offered, token = choices(asked)
    assert asked.status_code == 200 and offered == ["akanraby", "kentehouse"]
    assert "Kente House Accra" in asked.get_data(as_text=True) and "Kitenge" not in asked.get_data(as_text=True)
    assert client.get("/payments").status_code == 302  # not signed in yet
    chosen = client.post("/login?next=/orders", data={"tenant": "kentehouse", "csrf_token": token})
    assert chosen.headers["Location"] == "/orders"
    assert business_shown(client) == "Kente House Accra"
    assert "owner@kentehouse.test" in client.get("/users").get_data(as_text=True)  # kentehouse's owner


@pytest.mark.parametrize("forged", ["kitengenairobi", "akanraby"])
def test_a_forged_choice_of_business_is_refused(app, forged):
    """kitengenairobi: the email has an account there, with another password; akanraby: the email has
    none there (another person's login is offered it)."""
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED, "owner", PASSWORD)
        create_user(session, "kitengenairobi", SHARED, "owner", "another password")
        create_user(session, "kentehouse", "pat@shared.test", "owner", PASSWORD)
        create_user(session, "kitengenairobi", "pat@shared.test", "owner", PASSWORD)
    client = app.test_client()
    offered, token = choices(login(client, "pat@shared.test" if forged == "akanraby" else SHARED))
    assert forged not in offered and len(offered) == 2
    refused = client.post("/login", data={"tenant": forged, "csrf_token": token})
    assert refused.status_code == 401 and "choose one of the businesses offered" in refused.get_data(as_text=True)
    assert client.get("/payments").status_code == 302
    # The refused attempt used up the choice: even an offered business needs the password again.
    again = client.post("/login", data={"tenant": offered[0], "csrf_token": csrf_token(client)})
    assert again.status_code == 401 and client.get("/payments").status_code == 302


def test_a_wrong_password_for_a_shared_email_is_refused_like_an_unknown_email(client, web_env, monkeypatch):
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED, "owner", "kente house password")
    wrong, unknown = login(client, SHARED, "not the password"), login(client, "nobody@nowhere.test")
    assert wrong.status_code == unknown.status_code == 401
    assert all("Wrong email or password" in r.get_data(as_text=True) for r in (wrong, unknown))
    assert client.get("/payments").status_code == 302
    checked = []
    real = accounts._verify
    monkeypatch.setattr(accounts, "_verify", lambda stored, password: checked.append(stored) or real(stored, password))
    with session_scope() as session:
        assert authenticate(session, "nobody@nowhere.test", PASSWORD) == []
        assert len(checked) == 1  # an unknown email costs one argon2 verification too
        assert [u.tenant_id for u in authenticate(session, SHARED, "kente house password")] == ["kentehouse"]
        assert len(checked) == 3


def test_a_password_change_is_that_business_accounts_only(client, app):
    with session_scope() as session:
        create_user(session, "kentehouse", SHARED, "owner", PASSWORD)
    offered, token = choices(login(client, SHARED))
    client.post("/login", data={"tenant": "akanraby", "csrf_token": token})
    changed = post_form(client, "/account/password", {"current": PASSWORD, "new": "akanraby only secret",
                                                      "confirm": "akanraby only secret"}, page="/account/password")
    assert changed.status_code == 302
    kente = app.test_client()
    assert login(kente, SHARED).headers["Location"] == "/"  # one match left: no choice asked
    assert business_shown(kente) == "Kente House Accra"


def test_grace_users_add_for_an_email_of_another_business(web_env, capsys, monkeypatch):
    monkeypatch.setenv("PW", "long enough password")
    assert main(["users", "add", "kentehouse", SHARED, "--role", "viewer", "--password-env", "PW"]) == 0
    assert f"{SHARED} can now log in to kentehouse's dashboard" in capsys.readouterr().out
    assert main(["users", "add", "akanraby", SHARED, "--role", "viewer", "--password-env", "PW"]) == 2
    assert f"{SHARED} already has an account here" in capsys.readouterr().err
    assert accounts_of(SHARED) == {"akanraby": "ops", "kentehouse": "viewer"}
