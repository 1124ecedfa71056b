"""The sales funnel through the production actions, on a real SQLite store."""
from __future__ import annotations

from sqlalchemy import select

from actions.deposit import ActionHandleImage, ActionPaymentVerified, ActionRecordPayment
from actions.fabrics import ActionMoreFabrics, ActionOfferFabrics
from actions.feedback import ActionAskFeedbackText
from actions.greeting import ActionGreet, ActionThank
from actions.ordering import ActionConfirmOrder, ActionOrderStatus
from actions.selection import ActionApplyPromo, ActionRemoveItem, ActionUpdateSelection
from grace.shop.payments import verify_payment
from grace.store import session_scope
from grace.store.models import Customer, Feedback, Notification, Order, Payment
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts


def pick_up(chat: Chat) -> list[dict]:
    """The answer to "pickup or delivery?" (Lagos and Accra ask it before the total), as NLU reads it."""
    return chat.run(ActionUpdateSelection, "I'll pick it up", "select_fabric", confidence=0.71)


def place_order(chat: Chat, selection_text: str = "number 1, 12 yards") -> str:
    chat.run(ActionOfferFabrics, "I want red ankara with flowers", "describe_fabric")
    chat.run(ActionUpdateSelection, selection_text, "select_fabric")
    pick_up(chat)
    chat.run(ActionConfirmOrder, "yes", "affirm")
    return chat.slots["order_ref"]


def test_whole_funnel_from_greeting_to_verified_deposit(grace_env):
    tenant = get_registry().get("akanraby")
    chat = Chat()
    greeting = texts(chat.run(ActionGreet, "good morning", "greet"))
    assert "Grace" in greeting and tenant.name in greeting

    options = chat.run(ActionOfferFabrics, "abeg show me red ankara with flowers", "describe_fabric")
    images = [m for m in options if m.get("image")]
    assert 1 <= len(images) <= 3
    for message in images:
        sku = message["text"].split("(")[1].split(")")[0]
        fabric = tenant.catalog.get(sku)
        assert fabric.category == "ankara" and "red" in fabric.colors and fabric.stock > 0
        assert message["image"] == fabric.image_url and "₦" in message["text"] and "minimum" in message["text"]

    first = tenant.catalog.get(chat.slots["offered_skus"][0])
    asked = texts(chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric"))
    assert first.name in asked and "pick it up or shall we deliver" in asked and "Deposit" not in asked
    summary = texts(pick_up(chat))
    total = first.price_minor * 12
    assert "Pickup at Shop 14, Adire Plaza" in summary
    assert f"₦{total // 100:,}" in summary
    assert f"₦{total // 200:,}" in summary and "Deposit" in summary and "Balance" in summary
    assert chat.slots["funnel_stage"] == "reviewing"

    placed = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    reference = chat.slots["order_ref"]
    assert reference.startswith("AKA-") and reference in placed
    assert tenant.payment.account_number in placed and tenant.payment.bank_name in placed
    assert chat.slots["selection"] == [] and chat.slots["funnel_stage"] == "awaiting_payment"

    proof = {"media": [{"url": "https://example.test/proof.png", "content_type": "image/png"}]}
    received = texts(chat.run(ActionHandleImage, "/share_image", "share_image", metadata=proof))
    assert reference in received and "verify" in received
    with session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert payment.status == "pending" and payment.proof_url == "https://example.test/proof.png"
        assert payment.expected_minor == total // 2
        ops = session.execute(select(Notification).where(Notification.audience == "ops")).scalar_one()
        assert ops.kind == "payment_proof" and reference in ops.payload["summary"]
        assert ops.recipients == list(tenant.ops)
        verify_payment(session, tenant, reference)

    confirmed = texts(chat.run(ActionPaymentVerified, "", "EXTERNAL_payment_verified",
                               entities=[{"entity": "order_ref", "value": reference}]))
    assert "confirmed" in confirmed and reference in confirmed
    assert "1 to 5" in texts(chat.run(ActionAskFeedbackText))
    after = texts(chat.run(ActionThank, "una try well, 5 stars", "thank"))  # the answer, whatever its intent
    assert "Thank you for the feedback" in after
    with session_scope() as session:
        feedback = session.execute(select(Feedback)).scalar_one()
        assert feedback.rating == 5 and feedback.order_id is not None


def test_returning_customer_is_greeted_by_name_with_what_they_liked(grace_env):
    chat = Chat("akanraby:+2348022222222")
    chat.run(ActionGreet, "hi", "greet", metadata={"customer_name": "Adaeze Okafor"})
    place_order(chat)
    liked = get_registry().get("akanraby").catalog.get(chat.slots.get("last_sku") or "").name

    again = Chat("akanraby:+2348022222222")  # a new conversation: nothing in the tracker
    greeting = texts(again.run(ActionGreet, "hello", "greet"))
    assert "Welcome back, Adaeze" in greeting and liked in greeting


def test_same_phone_with_two_businesses_is_two_customers(grace_env):
    phone = "+2348033333333"
    place_order(Chat(f"akanraby:{phone}"))
    greeting = texts(Chat(f"kentehouse:{phone}").run(ActionGreet, "hi", "greet"))
    assert "Kente House Accra" in greeting and "Welcome back" not in greeting
    with session_scope() as session:
        customers = session.execute(select(Customer).where(Customer.phone == phone)).scalars().all()
        assert sorted(c.tenant_id for c in customers) == ["akanraby", "kentehouse"]
        orders = session.execute(select(Order)).scalars().all()
        assert [o.tenant_id for o in orders] == ["akanraby"]


def test_bad_quantities_and_unknown_fabrics_keep_the_selection(grace_env):
    chat = Chat()
    chat.run(ActionOfferFabrics, "show me ankara", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    kept = list(chat.slots["selection"])
    fabric = get_registry().get("akanraby").catalog.get(kept[0]["sku"])
    for text, expected in [
        ("number 1, 2 yards", f"minimum for {fabric.name} is {fabric.min_qty}"),
        ("number 1, 0 yards", "isn't a quantity"),
        ("number 1, -5 yards", "isn't a quantity"),
        ("number 1, 99999 yards", "whole market"),
        ("10 yards of the Zebra Queen", "couldn't tell which fabric"),
    ]:
        reply = texts(chat.run(ActionUpdateSelection, text, "select_fabric"))
        assert expected in reply, (text, reply)
        assert "unchanged" in reply
        assert chat.slots["selection"] == kept


def test_an_unknown_fabric_before_any_list_is_not_asked_for_by_number(grace_env):
    reply = texts(Chat().run(ActionUpdateSelection, "10 yards of the Zebra Queen", "select_fabric"))
    assert "couldn't tell which fabric" in reply and "from my list" not in reply and "name or its code" in reply


def test_quantities_go_to_the_fabric_written_nearest_and_numbers_count_in_the_cart_when_removing(grace_env):
    chat = Chat()
    chat.run(ActionUpdateSelection, "12yds lagos sunset and 6 yards coral reef, also marigold x 20", "select_fabric")
    names = {"lagos": "AK-002", "coral": "AK-009", "marigold": "AK-001"}
    assert chat.slots["selection"] == [{"sku": names["lagos"], "qty": 12}, {"sku": names["coral"], "qty": 6},
                                       {"sku": names["marigold"], "qty": 20}]
    reply = texts(chat.run(ActionRemoveItem, "remove number 2 abeg", "remove_item"))
    assert "Coral" in reply.split("\n")[0]
    assert [i["sku"] for i in chat.slots["selection"]] == [names["lagos"], names["marigold"]]
    chat.run(ActionUpdateSelection, "make it 30 yards", "select_fabric")  # the last fabric chosen
    assert chat.slots["selection"][-1] == {"sku": names["marigold"], "qty": 30}


def test_a_kind_of_cloth_names_the_one_fabric_of_that_kind_in_play(grace_env):
    catalog = get_registry().get("akanraby").catalog
    lace = next(f for f in catalog.fabrics if f.category == "lace" and f.stock > 0)
    ankara = next(f for f in catalog.fabrics if f.category == "ankara" and f.stock > 0)
    chat = Chat()
    chat.run(ActionUpdateSelection, f"{ankara.sku} {ankara.min_qty} yards and {lace.sku} {lace.min_qty} pieces",
             "select_fabric")
    texts(chat.run(ActionRemoveItem, "take out the lace", "remove_item"))
    assert [i["sku"] for i in chat.slots["selection"]] == [ankara.sku]


def test_sold_out_fabric_is_never_offered_nor_sold(grace_env):
    catalog = get_registry().get("akanraby").catalog
    sold_out = [f for f in catalog.fabrics if f.stock == 0]
    assert sold_out
    chat = Chat()
    for fabric in sold_out:
        shown = chat.run(ActionOfferFabrics, f"I want {fabric.category}", "describe_fabric")
        assert fabric.sku not in texts(shown)
        more = chat.run(ActionMoreFabrics, "more", "more_options")
        assert fabric.sku not in texts(more)
        reply = texts(chat.run(ActionUpdateSelection, f"{fabric.min_qty} yards of {fabric.sku}", "select_fabric"))
        assert "sold out" in reply


def test_selection_by_name_with_typo_then_change_and_remove(grace_env):
    chat = Chat()
    chat.run(ActionOfferFabrics, "show me your fabrics", "browse")
    catalog = get_registry().get("akanraby").catalog
    marigold = next(f for f in catalog.fabrics if f.name.lower().startswith("marigold"))
    typo = marigold.name.lower().replace("marigold", "marigod")
    chat.run(ActionUpdateSelection, f"12 yards of the {typo}", "select_fabric")
    assert chat.slots["selection"] == [{"sku": marigold.sku, "qty": 12}]
    chat.run(ActionUpdateSelection, "make it 20 yards", "select_fabric")
    assert chat.slots["selection"] == [{"sku": marigold.sku, "qty": 20}]
    chat.run(ActionUpdateSelection, "make it 20 yards", "select_fabric")  # a repeated message
    assert chat.slots["selection"] == [{"sku": marigold.sku, "qty": 20}]
    reply = texts(chat.run(ActionRemoveItem, "remove the marigold", "remove_item"))
    assert "taken out" in reply and chat.slots["selection"] == []


def test_promo_codes_valid_expired_and_unknown(grace_env):
    chat = Chat()
    chat.run(ActionOfferFabrics, "ankara", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    pick_up(chat)
    assert "expired on 15 Jan 2025" in texts(chat.run(ActionApplyPromo, "use code DETTY2025", "apply_promo"))
    assert "not one of our codes" in texts(chat.run(ActionApplyPromo, "apply FREE100 pls", "apply_promo"))
    assert chat.slots.get("promo_code") is None
    applied = texts(chat.run(ActionApplyPromo, "I have a promo code owambe10", "apply_promo"))
    assert "10% off" in applied and "Promo OWAMBE10" in applied
    chat.run(ActionConfirmOrder, "yes", "affirm")
    with session_scope() as session:
        order = session.execute(select(Order)).scalar_one()
        assert order.promo_code == "OWAMBE10"
        assert order.discount_minor == round(order.subtotal_minor * 0.10)
        assert order.deposit_minor + order.balance_minor == order.total_minor


def test_payment_claims_without_an_order_get_a_helpful_answer(grace_env):
    reply = texts(Chat().run(ActionRecordPayment, "I don pay", "inform_paid"))
    assert "can't find an order" in reply
    with session_scope() as session:
        assert session.execute(select(Payment)).first() is None


def test_text_payment_claim_records_the_stated_amount(grace_env):
    chat = Chat()
    reference = place_order(chat)
    reply = texts(chat.run(ActionRecordPayment, "I have paid 45,000 naira", "inform_paid"))
    assert reference in reply
    status = texts(chat.run(ActionOrderStatus, "where is my order", "order_status"))
    assert "verification" in status
    with session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert payment.stated_amount_minor == 4_500_000 and payment.proof_url is None


def test_a_broken_tenant_still_gets_a_reply(grace_env):
    broken = grace_env / "tenants" / "broken"
    broken.mkdir()
    (broken / "tenant.yml").write_text("name: Broken\nhours: {mon: '9-5'}\n")
    messages = Chat("broken:+2348044444444").run(ActionGreet, "hi", "greet")
    assert messages and "something went wrong" in texts(messages)
    # the other tenants keep working
    assert "Grace" in texts(Chat().run(ActionGreet, "hi", "greet"))


def test_unsure_turns_are_logged_for_trainers_and_sure_ones_are_not(grace_env):
    from actions.support import ActionGraceFallback
    from grace.store.models import FallbackLog

    chat = Chat()
    chat.run(ActionGreet, "hello", "greet", confidence=0.98)
    chat.run(ActionOfferFabrics, "abeg wetin una get for owambe", "browse", confidence=0.45)
    chat.run(ActionGraceFallback, "my cousin's goat ate the receipt", "smalltalk", confidence=0.2)
    with session_scope() as session:
        rows = session.scalars(select(FallbackLog).order_by(FallbackLog.id)).all()
        logged = [(r.text, r.intent, r.answered_by, r.funnel_stage) for r in rows]
    assert logged == [
        ("abeg wetin una get for owambe", "browse", "flow:action_offer_fabrics", "start"),
        ("my cousin's goat ate the receipt", "smalltalk", "library", "browsing"),
    ]


def test_yes_and_no_mean_what_the_stage_says(grace_env):
    from actions.yes_no import ActionAnswerYesNo

    fresh = Chat("akanraby:+2348055500001")
    assert "picture" in texts(fresh.run(ActionAnswerYesNo, "yes o", "affirm"))  # yes to "buying?": ask the style
    chat = Chat("akanraby:+2348055500002")
    chat.run(ActionOfferFabrics, "red ankara", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    pick_up(chat)
    chat.run(ActionAnswerYesNo, "no wait", "deny")
    assert chat.slots["funnel_stage"] == "reviewing" and "order_ref" not in chat.slots  # no: nothing placed
    placed = texts(chat.run(ActionAnswerYesNo, "yes confirm", "affirm"))
    assert chat.slots["order_ref"] in placed and chat.slots["funnel_stage"] == "awaiting_payment"


def test_a_confirmation_run_again_for_the_same_message_places_one_order(grace_env):
    """A sender retries a message whose turn ran on a replica that died before Rasa saved it: the
    action runs again for the same message id, and must not place a second order."""
    chat = Chat()
    chat.run(ActionOfferFabrics, "I want red ankara with flowers", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    pick_up(chat)
    before = dict(chat.slots)
    first = texts(chat.run(ActionConfirmOrder, "yes", "affirm", metadata={"message_id": "SM-confirm-1"}))
    reference = chat.slots["order_ref"]
    chat.slots = dict(before)  # the dead replica's slots were never saved
    again = texts(chat.run(ActionConfirmOrder, "yes", "affirm", metadata={"message_id": "SM-confirm-1"}))
    assert chat.slots["order_ref"] == reference and reference in first and reference in again
    chat.slots = dict(before)
    chat.run(ActionConfirmOrder, "yes", "affirm", metadata={"message_id": "SM-confirm-2"})  # a new message: a new order
    with session_scope() as session:
        references = session.scalars(select(Order.reference).order_by(Order.id)).all()
    assert references[0] == reference and len(references) == 2
