"""In a real browser against a real server: ops verifies a payment from its proof; the owner replaces the
catalog from a CSV file through the preview, then undoes it from the backups."""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from grace.store import session_scope
from grace.store.models import Payment
from grace.tenancy.registry import get_registry
from tests.helpers import free_port, log_in, screenshot
from tests.web.conftest import PASSWORD, make_order, pending_payment, png, send_proof
from tests.web.test_catalog_pages import catalog_text, edited


@pytest.fixture
def server(app):
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(timeout=5)


def test_ops_verifies_a_payment_in_the_browser(server, page):
    reference = make_order("akanraby", "+2348011111111", name="Ada <b>Obi</b>")
    payment_id = send_proof("akanraby", reference, "I sent 13,500 naira", image=png(240, 320, (90, 160, 220)))
    other_ref, _ = pending_payment("akanraby", "+2348022222222", name="Bola")
    log_in(page, server, "ops@akanraby.test", PASSWORD, "/payments")
    card = page.locator(f"#payment-{payment_id}")
    expect(card).to_contain_text(reference)
    expect(card).to_contain_text("Ada <b>Obi</b>")  # shown as text, not markup
    expect(card).to_contain_text("13,500")
    proof = card.locator("img")
    expect(proof).to_be_visible()
    assert proof.evaluate("img => img.complete && img.naturalWidth") == 240
    screenshot(page, "web_payments")
    card.get_by_role("button", name="Verify").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Payment for order {reference} verified")
    expect(page.locator(f"#payment-{payment_id}")).to_have_count(0)
    expect(page.locator("body")).to_contain_text(other_ref)
    with session_scope() as session:
        assert session.get(Payment, payment_id).status == "verified"


def test_owner_uploads_a_csv_sees_the_changes_applies_them_and_can_undo(server, page, grace_env, tmp_path):
    tenant = get_registry().get("akanraby")
    first, last = tenant.catalog.fabrics[0], tenant.catalog.fabrics[-1]
    before = catalog_text(grace_env)
    upload = tmp_path / "new catalog.csv"
    upload.write_bytes(edited(grace_env, price="9999", add="AK-NEW;Sunset Wax;ankara;orange;wax;5000;yard;1;12;;"))
    log_in(page, server, "owner@akanraby.test", PASSWORD, "/catalog")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("h1")).to_have_text("new catalog.csv")
    expect(page.locator("body")).to_contain_text("1 added, 1 removed, 1 price changes")
    expect(page.locator("body")).to_contain_text(f"{first.sku} {first.name}")
    expect(page.locator("body")).to_contain_text("AK-NEW Sunset Wax")
    assert catalog_text(grace_env) == before  # nothing changes on a preview
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator(".flash.ok")).to_contain_text("Catalog replaced: 1 added, 1 removed, 1 price changes")
    expect(page.locator("#fabric-AK-NEW")).to_contain_text("Sunset Wax")
    expect(page.locator(f"#fabric-{last.sku}")).to_have_count(0)
    assert get_registry().get("akanraby").catalog.fabrics[0].price_minor == 999900

    page.locator("#backups ~ table").get_by_role("button", name="Restore").first.click()
    expect(page.locator(".flash.ok")).to_contain_text("Catalog restored")
    expect(page.locator(f"#fabric-{last.sku}")).to_be_visible()
    expect(page.locator("#fabric-AK-NEW")).to_have_count(0)
    assert catalog_text(grace_env) == before
