"""`grace tenants create`, `grace users add`, `grace keys create`: the first accounts, made from a shell."""
from __future__ import annotations

from grace.run.cli import main
from grace.tenancy.registry import get_registry
from tests.web.conftest import login


def test_create_a_tenant_its_owner_and_a_key_then_use_them(web_env, app, capsys, monkeypatch):
    code = main(["tenants", "create", "adirehub", "--name", "Adire Hub", "--currency", "NGN",
                 "--timezone", "Africa/Lagos", "--ops", "+2349010000001", "--bank-name", "GTBank",
                 "--account-name", "Adire Hub Ltd", "--account-number", "0123456789",
                 "--returns", "Within 7 days, unwashed.", "--delivery", "Lagos 2 days."])
    assert code == 0, capsys.readouterr().err
    assert get_registry().get("adirehub").name == "Adire Hub"

    monkeypatch.setenv("OWNER_PW", "adire owner password")
    assert main(["users", "add", "adirehub", "Owner@Adire.test", "--role", "owner", "--password-env", "OWNER_PW"]) == 0
    client = app.test_client()
    assert login(client, "owner@adire.test", "adire owner password").status_code == 302
    assert "Adire Hub" in client.get("/").get_data(as_text=True)

    capsys.readouterr()
    assert main(["keys", "create", "adirehub"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert client.get("/api/v1/orders", headers={"X-API-Key": key}).get_json() == {"orders": []}


def test_bad_input_is_answered_and_nothing_is_made(web_env, capsys, monkeypatch):
    assert main(["tenants", "create", "Bad Id", "--name", "x"]) == 2
    assert "id:" in capsys.readouterr().err
    assert main(["tenants", "create", "halfdone", "--name", "Half"]) == 2
    assert "currency: missing" in capsys.readouterr().err and not get_registry().exists("halfdone")
    monkeypatch.setenv("PW", "long enough password")
    assert main(["users", "add", "nosuchshop", "a@b.test", "--role", "ops", "--password-env", "PW"]) == 2
    assert "unknown tenant" in capsys.readouterr().err
    assert main(["users", "add", "akanraby", "ops@akanraby.test", "--role", "ops", "--password-env", "PW"]) == 2
    assert "already has an account" in capsys.readouterr().err
    monkeypatch.setenv("SHORT", "short")
    assert main(["users", "add", "akanraby", "new@akanraby.test", "--role", "ops", "--password-env", "SHORT"]) == 2
    assert "at least 10" in capsys.readouterr().err
    assert main(["users", "add", "akanraby", "new@akanraby.test", "--role", "ops", "--password-env", "UNSET_X"]) == 2
    assert main(["keys", "create", "nosuchshop"]) == 2
