"""The ops relay against a running Grace: an ops number answers a customer from its own WhatsApp with
`R <ref> <text>`, the customer's reply is relayed to it by the outbox worker while Grace stays quiet, and
`DONE <ref>` gives the customer back to Grace, who answers the next message."""
from __future__ import annotations

OPS = "+2349010000009"  # AkanrabyAtuche's ops number (tenant.yml)


def test_ops_answer_a_customer_from_whatsapp_then_hand_back(grace):
    me = "+2348100000088"
    grace.whatsapp(me, "hello", profile_name="Bisi")
    greeted = len(grace.wait_whatsapp(me, "Grace", timeout=60))
    ops_before = len(grace.sent_to(OPS))

    grace.whatsapp(OPS, f"R {me} Hi Bisi, Ngozi from AkanrabyAtuche here. How many yards do you need?")
    grace.wait_whatsapp(OPS, "Sent to Bisi", after=ops_before, timeout=60)
    sent = grace.wait_whatsapp(me, "Ngozi from AkanrabyAtuche", after=greeted, timeout=30)
    assert sent[-1]["From"] == "whatsapp:+2349010000001"  # from the business number
    before = len(sent)

    grace.whatsapp(me, "about 20 yards for my sisters' wedding")
    relayed = grace.wait_whatsapp(OPS, "about 20 yards", after=ops_before + 1, timeout=60)
    assert "Bisi" in relayed[-1]["Body"] and f"DONE {me}" in relayed[-1]["Body"]
    assert len(grace.sent_to(me)) == before  # Grace said nothing to the customer meanwhile

    grace.whatsapp(OPS, f"DONE {me}")
    grace.wait_whatsapp(OPS, "back with me", after=len(relayed), timeout=60)
    grace.whatsapp(me, "show me red ankara with flowers")
    grace.wait_whatsapp(me, "number and quantity", after=before, timeout=60)  # Grace answers again
