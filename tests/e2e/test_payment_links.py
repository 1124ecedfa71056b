"""Payment links end to end: a WhatsApp customer orders, the summary carries Paystack's checkout link, the
customer pays, and Paystack's signed webhook (to the running Grace) gets the order verified with Paystack and
the customer told on WhatsApp. A forged webhook is refused and changes nothing; a repeated one changes nothing
and sends nothing."""
from __future__ import annotations

import re

from tests.e2e.test_twilio_whatsapp import body_with


def order_on_whatsapp(grace, me: str) -> tuple[str, str]:
    """The customer orders red ankara for pickup and says yes: (order reference, summary text)."""
    grace.whatsapp(me, "hello")
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.whatsapp(me, "number 1, 12 yards")
    sent = grace.wait_whatsapp(me, "pick it up")  # pickup or delivery, asked before the total
    grace.whatsapp(me, "pickup")
    sent = grace.wait_whatsapp(me, "Yes, confirm", after=len(sent))
    grace.whatsapp(me, "1")
    placed = body_with(grace.wait_whatsapp(me, "order reference is", after=len(sent))[len(sent):], "order reference is")
    return re.search(r"\*(AKA-[A-Z0-9]{5})\*", placed).group(1), placed


def test_paying_the_link_confirms_the_order_on_whatsapp_once_and_a_forged_webhook_changes_nothing(grace):
    me = "+2348100000041"
    reference, summary = order_on_whatsapp(grace, me)
    url = re.search(r"https://checkout\.paystack\.com/\S+", summary).group(0)
    assert "Account number" in summary  # the bank details stay beside the link
    [(ours, amount)] = grace.store(f"SELECT l.reference, l.amount_minor FROM payment_links l JOIN orders o "
                                   f"ON o.id = l.order_id WHERE o.reference = '{reference}' AND l.url = '{url}'")
    event = grace.paystack.pay(ours)
    webhook = f"{grace.base}/webhooks/paystack/akanraby"

    forged = grace.paystack.send_webhook(webhook, event, secret_key="sk_test_guessed")
    assert forged[0] == 401
    assert grace.paystack.verifications == []
    assert grace.store(f"SELECT status FROM orders WHERE reference = '{reference}'") == [("awaiting_payment",)]
    assert grace.store(f"SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                       f"WHERE o.reference = '{reference}'") == [(0,)]

    before = len(grace.sent_to(me))
    assert grace.paystack.send_webhook(webhook, event) == (200, '{"status":"verified"}')
    assert grace.paystack.verifications == [ours]  # Paystack itself was asked before anything was marked paid
    told = grace.wait_whatsapp(me, "confirmed", after=before)[before:]
    assert reference in body_with(told, "confirmed")
    assert grace.store(f"SELECT o.status, p.status, p.provider, p.stated_amount_minor FROM orders o JOIN payments p "
                       f"ON p.order_id = o.id WHERE o.reference = '{reference}'") == \
        [("deposit_paid", "verified", "paystack", amount)]

    assert grace.paystack.send_webhook(webhook, event) == (200, '{"status":"repeat"}')
    assert grace.paystack.verifications == [ours]
    # A later message is answered after anything the repeat could have sent: then count the confirmations.
    after_repeat = len(grace.sent_to(me))
    grace.whatsapp(me, "thank you")
    grace.wait_whatsapp(me, "", after=after_repeat)
    assert sum("confirmed" in m["Body"] and reference in m["Body"] for m in grace.sent_to(me)) == 1
    assert grace.store(f"SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                       f"WHERE o.reference = '{reference}'") == [(1,)]
