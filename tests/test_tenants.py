"""Tenant files: validation that names file and field, hot reload, last good version kept."""
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from grace.errors import TenantFileError, UnknownTenant
from grace.tenancy.catalog import CatalogError, parse_catalog
from grace.tenancy.hours import days_mentioned, describe_opening
from grace.tenancy.registry import get_registry
from grace.tenancy.wording import Wording

HEADER = "sku,name,category,colors,pattern,price,unit,min_qty,stock,image_url,description\n"


def test_shipped_tenant_is_valid_and_rich(grace_env):
    tenant = get_registry().get("akanraby")
    assert tenant.deposit_percent == 50 and tenant.currency == "NGN"
    assert len(tenant.catalog.fabrics) >= 20
    assert {"ankara", "adire", "kente", "lace", "aso-oke"} <= tenant.catalog.categories
    assert all(f.image_url.startswith("https://") for f in tenant.catalog.fabrics)
    assert tenant.payment.sample is True


def test_unknown_and_path_like_tenant_ids_are_refused(grace_env):
    for bad in ("nope", "../tenants/akanraby", "AKANRABY", ""):
        if bad == "":
            assert get_registry().get(bad).id == "akanraby"  # empty means the default
            continue
        with pytest.raises(UnknownTenant):
            get_registry().get(bad)


def test_an_edit_takes_effect_without_restart(grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    assert get_registry().get("akanraby").deposit_percent == 50
    path.write_text(path.read_text().replace("deposit_percent: 50", "deposit_percent: 40"))
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert get_registry().get("akanraby").deposit_percent == 40


def test_a_bad_edit_names_file_and_field_and_the_last_good_version_serves(grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    registry = get_registry()
    good = registry.get("akanraby")
    path.write_text(path.read_text().replace('mon: "09:00-18:00"', 'mon: "9 till 6"'))
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert registry.get("akanraby") is good
    problem = registry.error("akanraby")
    assert "tenant.yml" in str(problem) and "hours.mon" in str(problem)


def test_a_broken_tenant_never_loaded_raises_with_the_field(grace_env):
    folder = grace_env / "tenants" / "newshop"
    folder.mkdir()
    (folder / "tenant.yml").write_text("name: New Shop\ncurrency: NAIRA\n")
    with pytest.raises(TenantFileError) as err:
        get_registry().get("newshop")
    assert err.value.field == "currency" and err.value.path.endswith("tenant.yml")


def test_catalog_errors_name_every_bad_row_and_column():
    text = HEADER + (
        "AK-1,Good,ankara,red,floral,4500,yard,6,10,a.jpg,ok\n"
        "AK-1,Dup,ankara,red,floral,4500,yard,6,10,a.jpg,dup sku\n"
        "AK-2,Bad price,ankara,red,floral,abc,yard,6,10,a.jpg,x\n"
        "AK-3,Bad stock,ankara,red,floral,100,yard,6,-1,javascript:alert(1),x\n"
    )
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "NGN")
    found = {(e.line, e.column) for e in err.value.errors}
    assert {(3, "sku"), (4, "price"), (5, "stock"), (5, "image_url")} <= found


def test_catalog_with_excel_bom_parses():
    catalog = parse_catalog("\ufeff" + HEADER + "AK-1,A,Ankara,Red; Gold,floral,4500,yard,6,10,a.jpg,x\n",
                            "NGN", "https://img.example/")
    fabric = catalog.get("ak-1")
    assert fabric.colors == ("red", "gold") and fabric.image_url == "https://img.example/a.jpg"


def test_opening_hours_in_the_tenant_timezone(grace_env):
    hours = get_registry().get("akanraby").hours
    lagos = ZoneInfo("Africa/Lagos")
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=lagos)
    saturday_night = datetime(2026, 11, 28, 21, 0, tzinfo=lagos)
    assert hours.is_open(monday_noon)
    assert not hours.is_open(saturday_night)
    assert describe_opening(saturday_night, hours.next_opening(saturday_night)) == "on Monday at 9am"
    assert days_mentioned("una dey open for satide?") == ["sat"]
    assert "Sunday: closed" in hours.describe_week()


def test_a_tenant_can_override_any_message(grace_env):
    path = grace_env / "tenants" / "akanraby" / "tenant.yml"
    path.write_text(path.read_text() + '\nmessages:\n  thank: "You too sweet, {business}!"\n')
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    tenant = get_registry().get("akanraby")
    assert Wording(tenant)("thank") == f"You too sweet, {tenant.name}!"
    assert "Sorry" in Wording(tenant)("fallback")
