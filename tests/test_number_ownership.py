"""Which business answers a WhatsApp number is the platform operator's decision: a number two tenants
claim reaches neither, an owner cannot take another's number, and the CLI assigns only free numbers."""
from __future__ import annotations

import pytest
import yaml

from grace.run.cli import main
from grace.tenancy.registry import get_registry
from grace.tenancy.settings import SettingsError, assign_number, update_settings

AKANRABY_NUMBER, KENTE_NUMBER = "+2349010000001", "+233200000001"


def tenant_file(tenant_id: str):
    return get_registry().root / tenant_id / "tenant.yml"


def test_an_owner_cannot_claim_another_business_number_and_the_file_is_kept(grace_env):
    before = tenant_file("kentehouse").read_text()
    with pytest.raises(SettingsError) as refused:
        update_settings("kentehouse", {"whatsapp_numbers": [KENTE_NUMBER, AKANRABY_NUMBER]}, by="kofi")
    assert "platform operator" in refused.value.errors["whatsapp_numbers"]
    assert tenant_file("kentehouse").read_text() == before
    assert get_registry().by_whatsapp_number(f"whatsapp:{AKANRABY_NUMBER}").id == "akanraby"


def test_a_number_claimed_twice_in_the_files_reaches_neither_and_check_names_both(grace_env, capsys):
    data = yaml.safe_load(tenant_file("kentehouse").read_text())
    data["whatsapp_numbers"] = [KENTE_NUMBER, AKANRABY_NUMBER]  # edited by hand on the server
    tenant_file("kentehouse").write_text(yaml.safe_dump(data))
    registry = get_registry()
    assert registry.by_whatsapp_number(f"whatsapp:{AKANRABY_NUMBER}") is None
    assert registry.by_whatsapp_number(f"whatsapp:{KENTE_NUMBER}").id == "kentehouse"  # the rest keeps serving
    assert main(["tenants", "check"]) == 1
    out = capsys.readouterr().out
    assert f"{AKANRABY_NUMBER} is claimed by akanraby and kentehouse" in out


def test_the_cli_assigns_a_free_number_and_refuses_a_taken_one(grace_env, capsys):
    assert main(["numbers", "assign", "kentehouse", "--whatsapp", AKANRABY_NUMBER]) == 2
    assert "belongs to another business (akanraby)" in capsys.readouterr().err
    assert get_registry().by_whatsapp_number(AKANRABY_NUMBER).id == "akanraby"

    assert main(["numbers", "assign", "kentehouse", "--whatsapp", "+233200000002"]) == 0
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002").id == "kentehouse"
    assert main(["numbers", "release", "kentehouse", "--whatsapp", "+233200000002"]) == 0
    assert get_registry().by_whatsapp_number("whatsapp:+233200000002") is None


def test_meta_phone_number_ids_are_unique_too(grace_env):
    akanraby_meta = get_registry().get("akanraby").extra["meta_phone_number_id"]
    with pytest.raises(SettingsError) as refused:
        assign_number("kentehouse", meta_id=akanraby_meta)
    assert "akanraby" in refused.value.errors["meta_phone_number_id"]
    assert get_registry().by_meta_phone_number_id(akanraby_meta).id == "akanraby"
    assign_number("kentehouse", meta_id="233000000000777")
    assert get_registry().by_meta_phone_number_id("233000000000777").id == "kentehouse"
    assign_number("kentehouse", meta_id="233000000000777", release=True)
    assert get_registry().by_meta_phone_number_id("233000000000777") is None


def test_routing_follows_the_files_as_they_change_after_a_lookup(grace_env):
    registry = get_registry()
    assert registry.by_whatsapp_number(AKANRABY_NUMBER).id == "akanraby"  # the routing table is now known
    data = yaml.safe_load(tenant_file("kentehouse").read_text())
    data["whatsapp_numbers"] = [KENTE_NUMBER, "+233200000009"]  # edited in place by hand
    tenant_file("kentehouse").write_text(yaml.safe_dump(data))
    assert registry.by_whatsapp_number("+233200000009").id == "kentehouse"

    copy = registry.root / "kentecopy"  # a business added by copying a folder: its number is now shared
    copy.mkdir()
    (copy / "tenant.yml").write_text(yaml.safe_dump(data))
    (copy / "catalog.csv").write_bytes((registry.root / "kentehouse" / "catalog.csv").read_bytes())
    assert registry.by_whatsapp_number(KENTE_NUMBER) is None
    (copy / "tenant.yml").unlink()
    (copy / "catalog.csv").unlink()
    copy.rmdir()
    assert registry.by_whatsapp_number(KENTE_NUMBER).id == "kentehouse"
