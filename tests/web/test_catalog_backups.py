"""Earlier catalogs on the catalog page: listed for everyone, restored by owners, a restore undone."""
from __future__ import annotations

import csv
import io
import re

from grace.shop.catalog_import import apply_upload
from grace.tenancy.files import backups
from grace.tenancy.registry import get_registry
from tests.web.conftest import login, post_form
from tests.web.test_catalog_pages import catalog_text, edited


def replace_catalog(grace_env, price: str) -> str:
    """A catalog swap as an upload makes it; the catalog text now in use."""
    report = apply_upload(get_registry().get("akanraby"), edited(grace_env, price=price), "catalog.csv")
    assert report.ok
    return catalog_text(grace_env)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def backup_names(page: str) -> list[str]:
    return re.findall(r'action="/catalog/backups/([^/"]+)/restore"', page)


def first_price() -> int:
    return get_registry().get("akanraby").catalog.fabrics[0].price_minor


def test_owner_restores_an_earlier_catalog_and_can_undo_the_restore(client, grace_env):
    original = catalog_text(grace_env)
    original_price = first_price()
    uploaded = replace_catalog(grace_env, "9999")
    assert first_price() == 999900
    login(client, "owner@akanraby.test")
    [name] = backup_names(client.get("/catalog").get_data(as_text=True))

    restored = post_form(client, f"/catalog/backups/{name}/restore", page="/catalog")
    assert restored.status_code == 302
    page = client.get("/catalog").get_data(as_text=True)
    assert "Catalog restored" in page and "to undo this" in page
    assert catalog_text(grace_env) == original and first_price() == original_price

    newest = backup_names(page)[0]  # the catalog the restore replaced
    assert (grace_env / "tenants" / "akanraby" / ".history" / newest).read_text(encoding="utf-8") == uploaded
    post_form(client, f"/catalog/backups/{newest}/restore", page="/catalog")
    assert catalog_text(grace_env) == uploaded and first_price() == 999900


def test_everyone_sees_and_downloads_backups_but_only_owners_restore(client, app, grace_env):
    original = catalog_text(grace_env)
    uploaded = replace_catalog(grace_env, "9999")
    [path] = backups("akanraby")
    for role in ("ops", "viewer"):
        reader = app.test_client()
        login(reader, f"{role}@akanraby.test")
        page = reader.get("/catalog").get_data(as_text=True)
        assert f"/catalog/backups/{path.name}" in page and "Restore</button>" not in page
        download = reader.get(f"/catalog/backups/{path.name}")
        assert download.status_code == 200 and rows(download.get_data(as_text=True)) == rows(original)
        assert post_form(reader, f"/catalog/backups/{path.name}/restore", page="/catalog").status_code == 403
    assert catalog_text(grace_env) == uploaded


def test_another_tenants_backups_and_other_files_are_not_found(client, grace_env):
    uploaded = replace_catalog(grace_env, "9999")
    [path] = backups("akanraby")
    login(client, "owner@kentehouse.test")
    assert "No earlier catalogs yet" in client.get("/catalog").get_data(as_text=True)
    assert client.get(f"/catalog/backups/{path.name}").status_code == 404
    assert post_form(client, f"/catalog/backups/{path.name}/restore", page="/catalog").status_code == 404
    for name in ("..%2Fcatalog.csv", "catalog.csv", "tenant.yml"):
        assert client.get(f"/catalog/backups/{name}").status_code == 404, name
    assert catalog_text(grace_env) == uploaded


def test_a_backup_edited_by_hand_downloads_with_no_cell_that_runs_as_a_formula(client, grace_env):
    replace_catalog(grace_env, "9999")
    [path] = backups("akanraby")
    path.write_text(path.read_text(encoding="utf-8").replace("Marigold Bloom", '=HYPERLINK("http://x.test")', 1),
                    encoding="utf-8")
    login(client, "viewer@akanraby.test")
    cells = [cell for row in rows(client.get(f"/catalog/backups/{path.name}").get_data(as_text=True)) for cell in row]
    assert "'=HYPERLINK(\"http://x.test\")" in cells and not any(c.startswith(("=", "+", "@")) for c in cells)
