"""The catalog page and PUT /api/v1/catalog: check, preview, apply; edits; pictures; nothing half-done."""
from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor

from grace.tenancy.registry import get_registry
from tests.web.conftest import PNG, csrf_token, login, post_form


def catalog_text(grace_env, tenant_id: str = "akanraby") -> str:
    return (grace_env / "tenants" / tenant_id / "catalog.csv").read_text(encoding="utf-8-sig")


def edited(grace_env, price: str = "9999", drop_last: bool = True, add: str = "") -> bytes:
    """The current catalog with the first fabric's price changed, the last fabric removed, a row added;
    written the way Excel does it in Nigeria: BOM, semicolons, CRLF."""
    rows = list(csv.reader(io.StringIO(catalog_text(grace_env))))
    rows[1][5] = price
    rows = rows[:-1] if drop_last else rows
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return "\ufeff".encode() + out.getvalue().encode() + (add.encode() + b"\r\n" if add else b"")


def upload(client, path: str, data: bytes, filename: str = "catalog.csv", field: str = "file",
           content_type: str = "text/csv"):
    form = {field: (io.BytesIO(data), filename, content_type), "csrf_token": csrf_token(client, "/catalog")}
    return client.post(path, data=form, content_type="multipart/form-data")


def test_check_shows_every_bad_row_and_changes_nothing(client, grace_env):
    before = catalog_text(grace_env)
    bad = edited(grace_env, price="lots", add="AK-NEW;=HYPERLINK(\"x\");ankara;red;plain;100;yard;1;5;;")
    login(client, "owner@akanraby.test")
    response = upload(client, "/catalog/check", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was changed" in page
    first_sku = list(csv.reader(io.StringIO(before)))[1][0]
    assert re.search(rf"<td>2</td><td>{first_sku}</td><td>price</td>", page)
    assert re.search(r"<td>AK-NEW</td><td>name</td>", page)
    assert "Apply these changes" not in page
    assert catalog_text(grace_env) == before


def test_preview_then_apply_swaps_the_catalog_for_the_next_message(client, grace_env):
    tenant = get_registry().get("akanraby")
    first, last = tenant.catalog.fabrics[0], tenant.catalog.fabrics[-1]
    login(client, "owner@akanraby.test")
    preview = upload(client, "/catalog/check", edited(grace_env))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "1 removed, 1 price changes" in page
    assert f"{first.sku} {first.name}" in page and "9,999" in page and last.sku in page
    assert get_registry().get("akanraby").catalog.get(last.sku) is not None  # not yet
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    applied = post_form(client, "/catalog/apply", {"token": token}, page="/catalog")
    assert applied.status_code == 302
    assert "Catalog replaced: 0 added, 1 removed, 1 price changes" in client.get("/catalog").get_data(as_text=True)
    now = get_registry().get("akanraby").catalog
    assert now.get(last.sku) is None and now.get(first.sku).price_minor == 999_900
    again = post_form(client, "/catalog/apply", {"token": token}, page="/catalog")
    assert again.status_code == 302
    assert "expired or was already applied" in client.get("/catalog").get_data(as_text=True)


def test_a_preview_of_one_tenant_cannot_be_applied_by_another(client, app, grace_env):
    login(client, "owner@akanraby.test")
    page = upload(client, "/catalog/check", edited(grace_env)).get_data(as_text=True)
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    other = app.test_client()
    login(other, "owner@kentehouse.test")
    before = catalog_text(grace_env, "kentehouse")
    post_form(other, "/catalog/apply", {"token": token}, page="/catalog")
    assert "expired" in other.get("/catalog").get_data(as_text=True)
    assert catalog_text(grace_env, "kentehouse") == before


def test_wrong_type_or_too_large_is_refused_with_a_reason(client, app, grace_env):
    login(client, "owner@akanraby.test")
    upload(client, "/catalog/check", b"GIF89a....", filename="catalog.gif")
    assert "is not a CSV, JSON or XLSX file" in client.get("/catalog").get_data(as_text=True)
    too_big = upload(client, "/catalog/check", b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert too_big.status_code == 413 and "MB" in too_big.get_data(as_text=True)


def test_only_the_owner_changes_the_catalog(client, grace_env):
    sku = get_registry().get("akanraby").catalog.fabrics[0].sku
    for role in ("ops", "viewer"):
        login(client, f"{role}@akanraby.test")
        assert client.get("/catalog").status_code == 200
        assert upload(client, "/catalog/check", edited(grace_env)).status_code == 403
        assert post_form(client, f"/catalog/fabric/{sku}/sold-out", page="/catalog").status_code == 403
        assert client.get(f"/catalog/fabric/{sku}").status_code == 403
        post_form(client, "/logout")


def test_edit_one_fabric_and_mark_one_sold_out(client):
    first, second = get_registry().get("akanraby").catalog.fabrics[:2]
    login(client, "owner@akanraby.test")
    form = client.get(f"/catalog/fabric/{first.sku}").get_data(as_text=True)
    assert f'value="{first.name}"' in form
    bad = post_form(client, f"/catalog/fabric/{first.sku}", {"price": "abc"}, page="/catalog")
    assert bad.status_code == 422 and 'class="field-error"' in bad.get_data(as_text=True)
    post_form(client, f"/catalog/fabric/{first.sku}", {"name": "Marigold <Deluxe>", "price": "5200"}, page="/catalog")
    post_form(client, f"/catalog/fabric/{second.sku}/sold-out", page="/catalog")
    catalog = get_registry().get("akanraby").catalog
    assert catalog.get(first.sku).name == "Marigold <Deluxe>" and catalog.get(first.sku).price_minor == 520_000
    assert catalog.get(second.sku).stock == 0
    page = client.get("/catalog").get_data(as_text=True)
    assert "Marigold &lt;Deluxe&gt;" in page and "sold out" in page
    assert client.get("/catalog/fabric/NOPE-1").status_code == 404


def test_export_cannot_run_formulas_in_excel(client):
    sku = get_registry().get("akanraby").catalog.fabrics[0].sku
    login(client, "owner@akanraby.test")
    post_form(client, f"/catalog/fabric/{sku}", {"description": "+cmd|' /C calc'!A0"}, page="/catalog")
    export = client.get("/catalog/export.csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    text = export.get_data(as_text=True)
    assert "'+cmd|" in text and ",+cmd" not in text


def test_a_fabric_picture_is_public_at_the_url_grace_sends(client, monkeypatch):
    monkeypatch.setenv("GRACE_MEDIA_BASE_URL", "https://shop.example.test/media")
    sku = get_registry().get("akanraby").catalog.fabrics[0].sku
    login(client, "owner@akanraby.test")
    upload(client, f"/catalog/fabric/{sku}/image", PNG, filename="bloom.png", field="image", content_type="image/png")
    url = get_registry().get("akanraby").catalog.get(sku).image_url
    assert url.startswith("https://shop.example.test/media/akanraby/")
    anonymous = client.application.test_client()
    picture = anonymous.get(url.removeprefix("https://shop.example.test"))
    assert picture.status_code == 200 and picture.data == PNG
    upload(client, f"/catalog/fabric/{sku}/image", b"not an image", filename="x.txt", field="image",
           content_type="text/plain")
    assert "must be a JPEG, PNG or WebP" in client.get("/catalog").get_data(as_text=True)


def test_put_catalog_through_the_api(client, web_env, grace_env):
    key = web_env["akanraby"].api_key
    before = catalog_text(grace_env)
    bad = client.put("/api/v1/catalog", data=edited(grace_env, price="lots"), headers={"X-API-Key": key},
                     content_type="text/csv")
    body = bad.get_json()
    assert bad.status_code == 422 and body["rows"][0]["column"] == "price" and body["rows"][0]["line"] == 2
    assert catalog_text(grace_env) == before
    assert client.put("/api/v1/catalog", data=b"x", content_type="text/csv").status_code == 401
    good = client.put("/api/v1/catalog", data=edited(grace_env), headers={"X-API-Key": key}, content_type="text/csv")
    assert good.status_code == 200 and good.get_json()["summary"]["removed"] == 1
    assert catalog_text(grace_env, "kentehouse") != catalog_text(grace_env)


def test_two_owners_applying_at_once_leave_one_whole_catalog(client, app, grace_env):
    second = app.test_client()
    login(client, "owner@akanraby.test")
    login(second, "owner@akanraby.test")
    everything = len(get_registry().get("akanraby").catalog.fabrics)
    files = {"cheap": edited(grace_env, price="1000", drop_last=False), "dear": edited(grace_env, price="8000")}
    tokens = {}
    for (name, data), who in zip(files.items(), (client, second), strict=True):
        page = upload(who, "/catalog/check", data).get_data(as_text=True)
        tokens[name] = (who, re.search(r'name="token" value="([0-9a-f]+)"', page).group(1))
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda item: post_form(item[0], "/catalog/apply", {"token": item[1]}, page="/catalog")
                              .status_code, tokens.values()))
    assert codes == [302, 302]
    catalog = get_registry().get("akanraby").catalog
    # One file or the other, whole: the cheap one kept every fabric, the dear one dropped the last.
    assert (catalog.fabrics[0].price_minor, len(catalog.fabrics)) in ((100_000, everything), (800_000, everything - 1))
