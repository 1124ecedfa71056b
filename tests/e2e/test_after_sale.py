"""After the deposit, end to end over WhatsApp: production and shipping are told by the outbox worker,
delivery inside the conversation, which then asks for feedback and stores the answer."""
from __future__ import annotations

from tests.e2e.test_twilio_whatsapp import PNG, body_with, order_and_send_proof


def test_shipping_and_delivery_reach_the_customer_and_feedback_is_kept(grace):
    me = "+2348100000012"
    reference = order_and_send_proof(grace, me)
    assert grace.grace_cli("payments", "verify", reference).returncode == 0
    grace.wait_whatsapp(me, "confirmed")
    before = len(grace.sent_to(me))
    grace.whatsapp(me, "Everything was smooth, 5 stars")  # the first feedback question
    grace.wait_whatsapp(me, "Thank", after=before)

    # the order ships once its balance is paid (tests/e2e/test_balance.py has the request and refusal)
    before = len(grace.sent_to(me))
    grace.whatsapp(me, "", media=[(grace.twilio.add_media(PNG + b"balance", "image/png"), "image/png")])
    grace.wait_whatsapp(me, "balance", after=before)
    assert grace.grace_cli("payments", "verify", reference).returncode == 0
    grace.wait_whatsapp(me, "fully paid", after=before)

    before = len(grace.sent_to(me))
    shipped = grace.grace_cli("orders", "status", reference, "shipped")
    assert shipped.returncode == 0, shipped.stderr
    assert reference in body_with(grace.wait_whatsapp(me, "on its way", after=before)[before:], "on its way")

    before = len(grace.sent_to(me))
    delivered = grace.grace_cli("orders", "status", reference, "delivered")
    assert delivered.returncode == 0, delivered.stderr
    told = grace.wait_whatsapp(me, "delivered", after=before)[before:]
    assert reference in body_with(told, "delivered")
    asked = grace.wait_whatsapp(me, "1 to 5", after=before)[before:]
    assert "How do you like your fabric" in body_with(asked, "1 to 5")

    before = len(grace.sent_to(me))
    grace.whatsapp(me, "The adire is even finer in person")
    grace.wait_whatsapp(me, "Thank", after=before)
    kept = grace.store("SELECT f.text FROM feedback f JOIN customers c ON c.id = f.customer_id "
                       f"WHERE c.phone = '{me}' ORDER BY f.id")
    assert kept == [("Everything was smooth, 5 stars",), ("The adire is even finer in person",)]
    again = grace.grace_cli("orders", "status", reference, "shipped")
    assert again.returncode == 2 and "already delivered" in again.stderr
