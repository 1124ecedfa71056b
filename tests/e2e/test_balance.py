"""The balance end to end over WhatsApp: after the deposit is verified the order does not ship; ops request
the balance, the customer reads what is due and how to pay, sends the transfer's screenshot, which is the
balance proof (ops alerted, not a style picture), ops verify it and the customer is told the order is
fully paid; then it ships."""
from __future__ import annotations

import re

from grace.money import format_money
from tests.e2e.test_twilio_whatsapp import PNG, body_with

OPS = "+2349010000009"  # akanraby's ops number


def order_and_send_proof(grace, me: str) -> str:
    """A WhatsApp customer orders (for pickup when the business asks how it reaches them), confirms by
    number and sends the deposit's screenshot; returns the reference."""
    grace.whatsapp(me, "hello")
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.whatsapp(me, "number 1, 12 yards")
    sent = grace.wait_whatsapp(me, "Your order")
    if "pick it up" in sent[-1]["Body"]:
        grace.whatsapp(me, "1")  # the first choice: pickup
    sent = grace.wait_whatsapp(me, "Deposit")
    assert re.search(r"^1\. Yes, confirm", sent[-1]["Body"], re.M)
    grace.whatsapp(me, "1")  # the first choice of the list: confirm
    placed = body_with(grace.wait_whatsapp(me, "*AKA-", after=len(sent))[len(sent):], "*AKA-")
    reference = re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1)
    before = len(grace.sent_to(me))
    assert grace.whatsapp(me, "", media=[(grace.twilio.add_media(PNG, "image/png"), "image/png")]).status_code == 200
    assert reference in body_with(grace.wait_whatsapp(me, "payment proof", after=before), "payment proof")
    return reference


def test_the_balance_is_requested_proved_verified_and_then_the_order_ships(grace):
    me = "+2348100000031"
    reference = order_and_send_proof(grace, me)
    assert grace.grace_cli("payments", "verify", reference).returncode == 0
    grace.wait_whatsapp(me, "confirmed")
    [(total, paid)] = grace.store(f"SELECT total_minor, amount_paid_minor FROM orders WHERE reference = '{reference}'")
    due = format_money(total - paid, "NGN")
    assert 0 < paid < total

    refused = grace.grace_cli("orders", "status", reference, "shipped")
    assert refused.returncode == 2 and f"balance of {due} due" in refused.stderr

    before = len(grace.sent_to(me))
    asked = grace.grace_cli("orders", "request-balance", reference)
    assert asked.returncode == 0, asked.stderr
    request = body_with(grace.wait_whatsapp(me, "balance", after=before)[before:], "balance")
    assert reference in request and f"*{due}*" in request and "0123456789" in request

    grace.whatsapp(OPS, "hi")  # ops wrote today: the alert goes to them as free text
    grace.wait_whatsapp(OPS, "APPROVE")
    before = len(grace.sent_to(me))
    screenshot = grace.twilio.add_media(PNG + b"balance transfer", "image/png")
    assert grace.whatsapp(me, "", media=[(screenshot, "image/png")]).status_code == 200
    received = body_with(grace.wait_whatsapp(me, "balance", after=before)[before:], "balance")
    assert reference in received and "verify" in received
    assert not any("Beautiful" in m["Body"] for m in grace.sent_to(me)[before:])
    alert = body_with(grace.wait_whatsapp(OPS, "BALANCE proof"), "BALANCE proof")
    assert reference in alert and f"balance due {due}" in alert
    assert grace.store(f"SELECT p.kind, p.status FROM payments p JOIN orders o ON o.id = p.order_id "
                       f"WHERE o.reference = '{reference}' ORDER BY p.id") == [("deposit", "verified"),
                                                                                ("balance", "pending")]

    before = len(grace.sent_to(me))
    assert grace.grace_cli("payments", "verify", reference).returncode == 0
    told = body_with(grace.wait_whatsapp(me, "fully paid", after=before)[before:], "fully paid")
    assert reference in told and due in told and format_money(total, "NGN") in told
    assert grace.store(f"SELECT status, amount_paid_minor FROM orders WHERE reference = '{reference}'") == [
        ("deposit_paid", total)]

    shipped = grace.grace_cli("orders", "status", reference, "shipped")
    assert shipped.returncode == 0, shipped.stderr
