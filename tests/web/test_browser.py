"""In a real browser against a real server: ops logs in, sees the proof, verifies, and the payment leaves the list."""
from __future__ import annotations

import os
import tempfile
import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from grace.store import session_scope
from grace.store.models import Payment
from tests.helpers import free_port
from tests.web.conftest import PASSWORD, make_order, pending_payment, png, send_proof

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(app):
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(timeout=5)


def test_ops_verifies_a_payment_in_the_browser(server):
    reference = make_order("akanraby", "+2348011111111", name="Ada <b>Obi</b>")
    payment_id = send_proof("akanraby", reference, "I sent 13,500 naira", image=png(240, 320, (90, 160, 220)))
    other_ref, _ = pending_payment("akanraby", "+2348022222222", name="Bola")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{server}/payments")
            page.fill("input[name=email]", "ops@akanraby.test")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/payments")
            card = page.locator(f"#payment-{payment_id}")
            expect(card).to_contain_text(reference)
            expect(card).to_contain_text("Ada <b>Obi</b>")  # shown as text, not markup
            expect(card).to_contain_text("13,500")
            proof = card.locator("img")
            expect(proof).to_be_visible()
            assert proof.evaluate("img => img.complete && img.naturalWidth") == 240
            page.screenshot(path=os.path.join(tempfile.gettempdir(), "grace_payments.png"), full_page=True)
            card.get_by_role("button", name="Verify").click()
            expect(page.locator(".flash.ok")).to_contain_text(f"Payment for order {reference} verified")
            expect(page.locator(f"#payment-{payment_id}")).to_have_count(0)
            expect(page.locator("body")).to_contain_text(other_ref)
        finally:
            browser.close()
    with session_scope() as session:
        assert session.get(Payment, payment_id).status == "verified"
