"""Dialogue that follows the customer: availability, promo codes said on the way, a feedback question
that yields to a real request, order status by reference, references to fabrics in context and the
summary on request. Through the production actions, with the entities Rasa's pipeline would find."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from actions.deposit import ActionHandleImage, ActionPaymentVerified
from actions.fabrics import ActionAnswerPrice, ActionCheckAvailability, ActionOfferFabrics
from actions.feedback import ActionAskFeedbackText
from actions.greeting import ActionThank
from actions.info import ActionAnswerHours
from actions.ordering import ActionConfirmOrder, ActionOrderStatus
from actions.selection import ActionShowSummary, ActionUpdateSelection
from actions.support import ActionHandoff
from actions.yes_no import ActionAnswerYesNo
from grace.shop.payments import record_proof, verify_payment
from grace.store import session_scope
from grace.store.models import Feedback, Order
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts


def orders_of(chat: Chat) -> list[Order]:
    with session_scope() as session:
        return session.execute(select(Order).order_by(Order.id)).scalars().all()


def summary_of(chat: Chat, text: str = "number 1, 12 yards") -> None:
    chat.run(ActionOfferFabrics, "I want red ankara with flowers", "describe_fabric")
    chat.run(ActionUpdateSelection, text, "select_fabric")
    chat.pick_up()


def test_a_fabric_in_stock_gets_price_minimum_picture_and_how_to_order_then_it_can_be_ordered(grace_env):
    chat = Chat()
    [answer] = chat.run(ActionCheckAvailability, "good evening pls do u still have marigld bloom?",
                        "check_availability")
    assert "Marigold Bloom" in answer["text"] and "₦4,500" in answer["text"] and "minimum 6 yards" in answer["text"]
    assert answer["image"].endswith("ak-001.jpg") and "To order" in answer["text"]
    summary = texts(chat.run(ActionUpdateSelection, "ok I'll take 12 yards of it", "select_fabric"))
    assert "Marigold Bloom" in summary and "₦54,000" in summary and "couldn't tell" not in summary


def test_a_sold_out_fabric_is_said_so_with_the_closest_alternatives(grace_env):
    chat = Chat("kentehouse:+233240000001")
    replies = chat.run(ActionCheckAvailability, "Adwini Asa dey?", "check_availability")
    said = texts(replies)
    assert "Adwini Asa" in said and "sold out" in said
    shown = [r for r in replies if r.get("image")]
    assert shown and all("KH-004" not in r["text"] for r in shown)
    assert all("GH₵" in r["text"] for r in shown)  # the Accra shop's prices, in cedis


def test_a_fabric_the_shop_does_not_carry_is_named_and_the_closest_offered(grace_env):
    chat = Chat("kitengenairobi:+254711000001")
    said = texts(chat.run(ActionCheckAvailability, "mnayo velvet?", "check_availability"))
    assert "don't carry velvet" in said and "Kitenge Corner" in said
    assert "which fabric you mean" not in said and "number from my list" not in said


def test_a_code_said_with_yes_is_applied_and_shown_before_anything_is_placed(grace_env):
    chat = Chat()
    summary_of(chat)
    fresh = texts(chat.run(ActionAnswerYesNo, "ok use owambe10 then", "affirm", confidence=0.58))
    assert "OWAMBE10 applied" in fresh and "Promo OWAMBE10 (-10%)" in fresh and "YES* to confirm" in fresh
    assert orders_of(chat) == []  # never placed at full price while a code was in the message
    placed = texts(chat.run(ActionAnswerYesNo, "yes confirm", "affirm"))
    assert "reference" in placed
    [order] = orders_of(chat)
    assert order.promo_code == "OWAMBE10" and order.discount_minor > 0


def test_an_expired_code_with_yes_is_refused_with_the_reason_and_nothing_is_placed(grace_env):
    chat = Chat()
    summary_of(chat)
    said = texts(chat.run(ActionAnswerYesNo, "yes pls and use DETTY2025", "affirm"))
    assert "can't apply" in said and "expired" in said
    assert orders_of(chat) == []


def test_a_question_while_feedback_is_pending_is_answered_not_saved(grace_env):
    chat = Chat()
    summary_of(chat)
    chat.run(ActionConfirmOrder, "yes", "affirm")
    reference = chat.slots["order_ref"]
    tenant = get_registry().get("akanraby")
    with session_scope() as session:
        order = session.execute(select(Order).where(Order.reference == reference)).scalar_one()
        record_proof(session, tenant, order, proof_url="https://example.test/p.png", content_type="image/png",
                     text="")
        verify_payment(session, tenant, reference)
    chat.run(ActionPaymentVerified, "", "EXTERNAL_payment_verified",
             entities=[{"entity": "order_ref", "value": reference}])
    assert "1 to 5" in texts(chat.run(ActionAskFeedbackText))
    status = texts(chat.run(ActionOrderStatus, "where is my order?", "order_status", confidence=0.99))
    assert reference in status and "Thank you for the feedback" not in status
    with session_scope() as session:
        assert session.execute(select(Feedback)).scalars().all() == []
    thanked = texts(chat.run(ActionThank, "thanks dear", "thank"))
    assert "Thank you for the feedback" not in thanked  # the question was dropped, not asked forever


def test_order_status_by_reference_is_the_customers_own_only_and_several_open_orders_are_listed(grace_env):
    me, other = Chat("akanraby:+2348040000001"), Chat("akanraby:+2348040000002")
    summary_of(me)
    me.run(ActionConfirmOrder, "yes", "affirm")
    first = me.slots["order_ref"]
    me.slots["selection"] = []
    summary_of(me, "number 1, 6 yards")
    me.run(ActionConfirmOrder, "yes", "affirm")
    second = me.slots["order_ref"]
    by_reference = texts(me.run(ActionOrderStatus, f"what's the status of {first.lower()}", "order_status"))
    assert first in by_reference and second not in by_reference and "deposit" in by_reference
    both = texts(me.run(ActionOrderStatus, "where are my orders", "order_status"))
    assert first in both and second in both and "2 orders" in both
    stranger = texts(other.run(ActionOrderStatus, f"status of {first}", "order_status"))
    assert "can't find an order" in stranger and "deposit" not in stranger


def test_the_second_one_then_it_reads_the_fabric_in_context(grace_env):
    chat = Chat()
    chat.run(ActionOfferFabrics, "show me ankara", "browse")
    second = get_registry().get("akanraby").catalog.get(chat.slots["offered_skus"][1])
    price = texts(chat.run(ActionAnswerPrice, "how much is the second one", "ask_price"))
    assert second.name in price
    summary = texts(chat.run(ActionUpdateSelection, "I'll take 12 yards of it", "select_fabric"))
    assert second.name in summary and "couldn't tell" not in summary


def test_the_summary_on_request_at_any_time(grace_env):
    chat = Chat("kentehouse:+233240000002")
    assert "haven't picked" in texts(chat.run(ActionShowSummary, "send the summary", "ask_summary"))
    chat.run(ActionOfferFabrics, "show me batik", "browse")
    chat.run(ActionUpdateSelection, "number 1, 4 yards", "select_fabric")
    chat.pick_up()
    summary = texts(chat.run(ActionShowSummary, "that's all, send the summary", "ask_summary"))
    assert "(30%)" in summary and "GH₵84" in summary and "Aburi Indigo" in summary


def test_a_described_need_gets_fabrics_that_fit_it_with_the_reason(grace_env):
    chat = Chat("kitengenairobi:+254711000002")
    replies = chat.run(ActionOfferFabrics, "which of your fabrics would survive a beach wedding in the rainy season?",
                       "describe_fabric")
    said = texts(replies)
    assert "a wedding" in said and "rain" in said  # the question is answered, not three generic favourites
    options = [r for r in replies if r.get("image")]
    assert options and all("👉" in r["text"] for r in options)
    assert all("KSh" in r["text"] for r in options)


def test_bad_input_still_gets_a_reply(grace_env):
    folder = get_registry().root / "kentehouse" / "catalog.csv"
    folder.write_text(folder.read_text().splitlines()[0] + "\n")  # an empty catalog
    chat = Chat("kentehouse:+233240000009")
    for action, text, intent in ((ActionCheckAvailability, "do you have " + "kente " * 1000, "check_availability"),
                                 (ActionOfferFabrics, "😍😍🔥", "describe_fabric"),
                                 (ActionCheckAvailability, "X" * 200 + "?", "check_availability"),
                                 (ActionShowSummary, "", "ask_summary")):
        assert texts(chat.run(action, text, intent)).strip(), (action, text[:20])


def test_two_requests_in_one_message_get_both_answers(grace_env):
    chat = Chat()
    both = texts(chat.run(ActionAnswerPrice,
                          "are you open today and how much is the marigold bloom?", "ask_price"))
    assert "Marigold Bloom" in both and "₦4,500" in both
    assert "open" in both.lower() or "closed" in both.lower()
    hours_first = texts(chat.run(ActionAnswerHours, "what time una dey close? and do you still have lagos sunset",
                                 "ask_hours"))
    assert "Lagos Sunset" in hours_first and "we have it" in hours_first


def test_one_customer_cannot_hold_stock_with_endless_unpaid_orders(grace_env):
    chat = Chat("kitengenairobi:+254711000003")  # the business allows 2 unpaid orders (the default)
    for _ in range(2):
        chat.run(ActionOfferFabrics, "show me kitenge", "browse")
        chat.run(ActionUpdateSelection, "number 1, 2 yards", "select_fabric")
        assert "reference" in texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    chat.run(ActionUpdateSelection, "number 1, 2 yards", "select_fabric")
    third = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    assert "already have 2 orders waiting for payment" in third
    assert len(orders_of(chat)) == 2
    with session_scope() as session:  # one hold lapses; the sweep has not come by yet
        first = session.execute(select(Order).order_by(Order.id)).scalars().first()
        first.hold_expires_at = first.created_at - timedelta(minutes=1)
    assert "reference" in texts(chat.run(ActionConfirmOrder, "yes", "affirm"))


def test_praise_misread_as_a_request_while_feedback_is_pending_is_kept_as_feedback(grace_env):
    chat = Chat()
    summary_of(chat)
    chat.run(ActionConfirmOrder, "yes", "affirm")
    chat.slots["funnel_stage"] = "paid"
    chat.run(ActionAskFeedbackText)
    said = texts(chat.run(ActionHandoff, "The adire is even finer in person", "human_handoff", confidence=0.78))
    assert "Thank you for the feedback" in said and "team" not in said.split("feedback")[0]
    with session_scope() as session:
        assert [f.text for f in session.execute(select(Feedback)).scalars()] == ["The adire is even finer in person"]


def test_a_kind_several_categories_share_shows_all_of_them(grace_env):
    catalog = get_registry().get("kentehouse").catalog
    chat = Chat("kentehouse:+233240000011")
    said = texts(chat.run(ActionOfferFabrics, "show me kente", "browse"))
    shown = [catalog.get(sku) for sku in chat.slots["offered_skus"]]
    assert "Here are some kente" in said and "closest" not in said  # asante and ewe kente are kente
    assert shown and all("kente" in f.category for f in shown)
    chat.run(ActionOfferFabrics, "any ewe kente with stripes?", "describe_fabric")
    assert catalog.get(chat.slots["offered_skus"][-1]).category == "ewe kente"


def test_a_picture_s_caption_is_read_like_a_message(grace_env):
    chat = Chat()
    said = chat.run(ActionHandleImage, "", "share_image",
                    metadata={"media": [{"url": "file:///style.jpg", "content_type": "image/jpeg"}],
                              "caption": "i want this style in lace abeg"})
    offered = [get_registry().get("akanraby").catalog.get(s) for s in chat.slots["offered_skus"]]
    assert offered and all(f.category == "lace" for f in offered), texts(said)


def test_how_many_is_answered_by_a_number_alone_and_dropped_by_another_request(grace_env):
    chat = Chat("kentehouse:+233240000012")
    chat.run(ActionOfferFabrics, "show me batik", "browse")
    first = chat.slots["offered_skus"][0]
    asked = texts(chat.run(ActionUpdateSelection, "number 1, 0 yards", "select_fabric"))
    assert "How many yards" in asked and "Reply with the number" not in asked
    summary = texts(chat.run(ActionUpdateSelection, "ok 6 pls", "select_fabric"))
    assert chat.slots["selection"] == [{"sku": first, "qty": 6}] and "GH₵" in summary
    chat.run(ActionUpdateSelection, "number 2, 1 yard", "select_fabric")  # below the minimum: asked again
    assert chat.slots["quantity_asked"] == chat.slots["offered_skus"][1]
    chat.run(ActionAnswerHours, "what time do you close today", "ask_hours")
    assert chat.slots["quantity_asked"] is None  # they moved on; a later "12" is no answer to it
    texts(chat.run(ActionUpdateSelection, "12", "select_fabric"))
    assert chat.slots["selection"] == [{"sku": first, "qty": 6}]
