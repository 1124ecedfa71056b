"""The inbox in a real browser against a real server: a new customer message appears in the list and in the
open conversation without reloading (the page's own script polls the app), and a person takes over, replies
(the local WhatsApp API receives it) and hands back."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from tests.helpers import log_in, screenshot
from tests.test_takeover import Grace, customer_writes
from tests.web.conftest import PASSWORD
from tests.web.test_api_conversations import ADA, ADA_ID, BOLA_ID, MARCH, named, talk
from tests.web.test_browser import server  # noqa: F401

FAST = 60_000  # ms: a few polls of POLL_SECONDS on a loaded machine


def off_page(work, *args) -> None:
    """Run `work` (the connector taking a customer's message, Rasa's tracker store saving turns) in a thread
    of its own: Playwright's synchronous API keeps an event loop running in this one."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), f"{work.__name__} did not finish within 60 s"
    if failure:
        raise failure[0]


def test_new_messages_appear_and_a_person_takes_over_replies_and_hands_back(server, page, rasa, twilio):  # noqa: F811
    grace = Grace()
    off_page(customer_writes, twilio, grace, "hello")  # the 24-hour window opens
    named("akanraby", ADA, "Ada Obi")
    off_page(talk, ADA_ID, [("customer", "hello"), ("grace", "Welcome to AkanrabyAtuche")], MARCH)
    log_in(page, server, "ops@akanraby.test", PASSWORD, "/inbox")
    expect(page.locator(f"[id='c-{ADA_ID}']")).to_contain_text("Ada Obi")

    off_page(talk, BOLA_ID, [("customer", "is the <b>marigold</b> still available?")], MARCH + 60)
    row = page.locator(f"[id='c-{BOLA_ID}']")
    expect(row).to_contain_text("is the <b>marigold</b> still available?", timeout=FAST)  # as text, not markup
    expect(page.locator("#inbox tbody tr").first).to_have_id(f"c-{BOLA_ID}")

    page.locator(f"[id='c-{ADA_ID}'] a").click()
    page.get_by_role("button", name="Take over from Grace").click()
    expect(page.locator("#holder")).to_contain_text("ops@akanraby.test has this conversation")
    off_page(customer_writes, twilio, grace, "can you hold it till Friday?")
    expect(page.locator("#messages")).to_contain_text("can you hold it till Friday?", timeout=FAST)
    assert grace.turns == ["hello"]  # Grace did not answer it

    page.fill("textarea[name=text]", "Yes Ada, till Friday. Ngozi")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Yes Ada, till Friday. Ngozi")
    assert twilio.messages[-1]["Body"] == "Yes Ada, till Friday. Ngozi"
    screenshot(page, "web_inbox_conversation")
    page.get_by_role("button", name="Hand back to Grace").click()
    expect(page.locator(".flash.ok")).to_contain_text("Handed back")
    off_page(customer_writes, twilio, grace, "thank you")
    assert grace.turns == ["hello", "thank you"]  # Grace answers the next message
