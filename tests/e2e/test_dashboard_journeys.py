"""The dashboard's main journeys in headless Chromium against a running Grace (trained model, Rasa,
action server, outbox worker): the owner fixes a catalog upload and Grace offers the new fabric in the
chat simulator; ops verifies a proof a customer sent and reads Grace's confirmation in that customer's
conversation; analytics draws its charts. Screenshots of each key page go to results/screenshots/."""
from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from grace.analytics import STAGES
from grace.messaging.media import save_media
from grace.run import local
from grace.tenancy.files import atomic_write, locked
from tests.helpers import ROOT, free_port, log_in, screenshot
from tests.web.conftest import png

PASSWORD = "journeys through the dashboard"
OWNER, OPS = "owner@akanraby.test", "ops@akanraby.test"
# A fabric the shipped catalog lacks: no other lace is lilac, so asking for "lilac lace" can only find it.
NEW_FABRIC = ("LC-009,Lilac Dream,lace,lilac;purple,floral,{price},piece,1,25,,"
              "Soft lilac cord lace with tiny flowers for bridesmaids")


@pytest.fixture(scope="module")
def dashboard(grace):
    """`python -m web` on a free port, on the stack's store, tenants and Rasa; its URL."""
    port = free_port()
    env = {**grace.env, "GRACE_WEB_PORT": str(port), "GRACE_RASA_URL": grace.base, "GRACE_WEB_PASSWORD": PASSWORD}
    for email, role in ((OWNER, "owner"), (OPS, "ops")):
        added = subprocess.run([sys.executable, "-m", "grace.run.cli", "users", "add", "akanraby", email,
                                "--role", role,
                                "--password-env", "GRACE_WEB_PASSWORD"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=120)
        assert added.returncode == 0, added.stderr + added.stdout
    log = open(grace.var_dir / "logs" / "dashboard-journeys.log", "ab")
    web = subprocess.Popen([sys.executable, "-m", "web"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert local.wait_until_up(f"{url}/health", web, 60), f"the dashboard did not start: see {log.name}"
        yield url
    finally:
        local.stop([web])
        log.close()


@pytest.fixture
def catalog_kept(grace):
    """The tenant's catalog as the other end-to-end tests expect it, put back afterwards."""
    path = grace.tenants / "akanraby" / "catalog.csv"
    original = path.read_text(encoding="utf-8")
    yield original
    with locked(path):
        atomic_write(path, original)


def reload_until(page: Page, selector: str, *texts: str, timeout: float = 30) -> None:
    """Reload the page until the element shows every text (the page itself never refreshes)."""
    deadline = time.monotonic() + timeout
    while not all(text in page.locator(selector).inner_text() for text in texts):
        assert time.monotonic() < deadline, f"{texts} not shown in {selector}: {page.locator(selector).inner_text()}"
        time.sleep(0.5)
        page.reload()


def test_owner_fixes_a_bad_catalog_row_then_grace_offers_the_new_fabric(grace, dashboard, page, catalog_kept,
                                                                         tmp_path):
    upload = tmp_path / "catalog with lilac.csv"
    upload.write_text(catalog_kept.rstrip("\n") + "\n" + NEW_FABRIC.format(price="abc") + "\n", encoding="utf-8")
    bad_line = len(upload.read_text(encoding="utf-8").splitlines())
    log_in(page, dashboard, OWNER, PASSWORD, "/catalog")

    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".flash.error")).to_contain_text("1 problem(s): nothing was changed")
    problems = page.locator("table.errors tbody tr")
    expect(problems).to_have_count(1)
    line, sku, column, problem = problems.first.locator("td").all_inner_texts()
    assert (line, sku, column) == (str(bad_line), "LC-009", "price") and problem
    expect(page.get_by_role("button", name="Apply these changes")).to_have_count(0)
    screenshot(page, "catalog_report_bad_row")
    assert (grace.tenants / "akanraby" / "catalog.csv").read_text(encoding="utf-8") == catalog_kept

    upload.write_text(catalog_kept.rstrip("\n") + "\n" + NEW_FABRIC.format(price="27000") + "\n", encoding="utf-8")
    page.goto(f"{dashboard}/catalog")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("h1")).to_have_text("catalog with lilac.csv")
    expect(page.locator("main")).to_contain_text("1 added, 0 removed, 0 price changes, 0 other changes")
    expect(page.locator("main li", has_text="LC-009 Lilac Dream")).to_contain_text("27,000")
    screenshot(page, "catalog_preview")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator(".flash.ok")).to_contain_text("Catalog replaced: 1 added, 0 removed")
    expect(page.locator("#fabric-LC-009")).to_contain_text("Lilac Dream")
    screenshot(page, "catalog_applied")

    page.get_by_role("link", name="Chat simulator").click()
    page.fill("input[name=message]", "I'm looking for lilac lace")
    page.get_by_role("button", name="Send").click()
    offered = page.locator(".chat .turn.grace", has_text="Lilac Dream")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("LC-009")
    expect(offered).to_contain_text("27,000")
    screenshot(page, "simulator_offers_new_fabric")


def test_ops_verifies_a_proof_and_sees_the_confirmation_in_the_conversation(grace, dashboard, page):
    me, name = "+2348100000021", "Ngozi Journeys"
    assert "AkanrabyAtuche" in grace.say(me, "good morning", customer_name=name)
    assert any(m.get("image") for m in grace.send(me, "show me red ankara with flowers").json())
    assert "shall we deliver" in grace.say(me, "number 1, 12 yards")
    assert "Deposit" in grace.say(me, "I will pick it up at your shop")
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", grace.say(me, "yes")).group(1)
    # The screenshot is kept as a WhatsApp connector keeps one (grace.messaging.media), then sent by URL.
    proof = save_media("akanraby", png(240, 320, (60, 170, 110)), "image/png")
    assert reference in grace.say(me, "", media=[{"url": proof.url, "content_type": proof.content_type}])

    log_in(page, dashboard, OPS, PASSWORD, "/payments")
    card = page.locator(".payment", has_text=reference)
    expect(card).to_contain_text(name)
    expect(card).not_to_contain_text("share_image")  # a picture alone: no intent literal shown as their words
    picture = card.locator(".proof img")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 240
    screenshot(page, "payments_pending_proof")
    card.get_by_role("button", name="Verify").click()
    expect(page.locator(".flash.ok")).to_contain_text(
        f"Payment for order {reference} verified; the customer was told.")
    expect(page.locator(".payment", has_text=reference)).to_have_count(0)
    screenshot(page, "payments_verified")

    page.get_by_role("link", name="Customers").click()
    page.locator("tr", has_text=me).get_by_role("link", name=name).click()
    expect(page.locator("h1")).to_have_text(name)
    reload_until(page, ".chat", f"order {reference} is confirmed")  # *bold* on WhatsApp, bold on the page
    conversation = page.locator(".chat").inner_text()
    # The customer's own turns only: their picture (no "/share_image"), no trigger Grace sent herself.
    assert "share_image" not in conversation and "EXTERNAL" not in conversation
    expect(page.locator(".chat .turn.customer img.picture")).to_have_count(1)
    expect(page.locator("main li", has_text=reference)).to_contain_text("deposit paid")
    screenshot(page, "customer_conversation_confirmed")


def test_analytics_for_a_range_including_today_shows_the_charts(grace, dashboard, page):
    grace.say("+2348100000022", "hello")  # at least one conversation in the range, whatever ran before
    log_in(page, dashboard, OWNER, PASSWORD, "/analytics")
    today = date.fromisoformat(page.locator("input[name=end]").input_value())  # the business's today
    page.fill("input[name=start]", (today - timedelta(days=6)).isoformat())
    page.fill("input[name=end]", today.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"start={today - timedelta(days=6)}&end={today}"))

    charts = page.locator(".charts img")
    expect(charts.first).to_be_visible()
    names = [src.split(" chart")[0] for src in charts.evaluate_all("imgs => imgs.map(i => i.alt)")]
    assert {"conversations", "funnel", "deposits"} <= set(names)
    assert all(charts.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"))  # each one drawn
    funnel = base64.b64decode(page.locator("img.chart-funnel").get_attribute("src").split(",", 1)[1]).decode()
    assert funnel.lstrip().startswith("<svg") and "<script" not in funnel
    assert all(label in funnel for _, label in STAGES)
    # Every deposit verified in this run (all today) is counted, no more.
    [(verified,)] = grace.store("SELECT count(*) FROM payments WHERE tenant_id = 'akanraby' AND status = 'verified' "
                                "AND kind = 'deposit'")  # a balance is no new sale
    expect(page.locator(".tiles")).to_contain_text(f"in {verified} verified deposits")
    assert int(page.locator(".tile strong").first.inner_text()) >= 1  # conversations
    screenshot(page, "analytics")
