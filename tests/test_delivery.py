"""Pickup or delivery: the zone a customer's words name, the fee, the deposit with and without it, the
question before the summary and the order that keeps the address (Lagos in NGN with a 50% deposit on the
whole total; Accra in GHS with a 30% deposit on the cloth only; Nairobi without a delivery block)."""
from __future__ import annotations

import io
from datetime import date

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from actions.deposit import ActionRecordPayment
from actions.fabrics import ActionCheckAvailability, ActionOfferFabrics
from actions.info import ActionAnswerFaq, ActionAnswerPolicy
from actions.ordering import ActionConfirmOrder, ActionOrderStatus
from actions.selection import ActionShowSummary, ActionUpdateSelection
from actions.support import ActionGraceFallback
from actions.yes_no import ActionAnswerYesNo
from grace.money import format_money
from grace.shop.customers import get_or_create_customer
from grace.shop.delivery import delivery_fee, find_place
from grace.shop.orders import DeliveryChoice, build_quote, place_order
from grace.store import session_scope
from grace.store.models import Notification, Order
from grace.tenancy.files import tenant_folder
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, texts

TODAY = date(2026, 3, 2)


def without_delivery(*tenant_ids: str) -> None:
    """These businesses as if their files had no delivery block (for tests of other things: prices, codes),
    the owner's comments kept; no question is asked and nothing is added to a total."""
    for tenant_id in tenant_ids:
        path = tenant_folder(tenant_id) / "tenant.yml"
        yml = YAML()
        yml.width = 4096  # type: ignore[assignment]
        yml.indent(mapping=2, sequence=4, offset=2)
        document = yml.load(path.read_text(encoding="utf-8"))
        document.pop("delivery", None)
        document.pop("deposit_includes_delivery", None)
        out = io.StringIO()
        yml.dump(document, out)
        path.write_text(out.getvalue(), encoding="utf-8")
        assert get_registry().get(tenant_id).delivery is None


def tenant(tenant_id: str):
    return get_registry().get(tenant_id)


def zone(tenant_id: str, name: str):
    delivery = tenant(tenant_id).delivery
    return next(z for z in delivery.zones if z.name == name)


# ---------------------------------------------------------------- the zone a customer's words name

@pytest.mark.parametrize(("tenant_id", "text", "expected"), [
    ("akanraby", "Lekki", "Lekki & Ajah"),
    ("akanraby", "lekki phase 1", "Lekki & Ajah"),
    ("akanraby", "I dey for Ajah", "Lekki & Ajah"),
    ("akanraby", "12 Admiralty Way, Lekki", "Lekki & Ajah"),
    ("akanraby", "Lekky", "Lekki & Ajah"),  # a typo
    ("akanraby", "deliver to ikejaa pls", "Mainland"),  # a typo inside a sentence
    ("akanraby", "Ibeju-Lekki", "Outer Lagos"),  # the longer name is the more specific place
    ("akanraby", "VI", "Lagos Island, VI & Ikoyi"),  # a part of the zone's own name
    ("akanraby", "Abuja", "Other states"),
    ("kentehouse", "East Legon", "East Legon & Spintex"),
    ("kentehouse", "east legin", "East Legon & Spintex"),
    ("kentehouse", "Tema comm 25", "Tema"),
    ("kentehouse", "Osu", "Central Accra"),
])
def test_a_place_is_found_in_its_zone(grace_env, tenant_id, text, expected):
    place = find_place(tenant(tenant_id).delivery, text)
    assert place is not None and place.zone.name == expected


@pytest.mark.parametrize(("tenant_id", "text"), [
    ("akanraby", "Sokoto"), ("akanraby", "yes"), ("akanraby", "I'll pick it up"), ("akanraby", "Lagos"),
    ("kentehouse", "my team will come"),  # "team" is not Tema: short names must be written right
    ("kentehouse", "Lome"),
])
def test_words_that_name_no_zone_find_none(grace_env, tenant_id, text):
    assert find_place(tenant(tenant_id).delivery, text) is None


def test_the_fee_is_the_zones_and_free_from_the_threshold(grace_env):
    lekki = zone("akanraby", "Lekki & Ajah")
    assert delivery_fee(lekki, 29_999_999, 30_000_000) == 450_000
    assert delivery_fee(lekki, 30_000_000, 30_000_000) == 0
    assert delivery_fee(lekki, 90_000_000, 0) == 450_000  # no threshold: never free


# ---------------------------------------------------------------- quotes and orders

def test_the_fee_is_part_of_the_total_and_of_a_deposit_on_the_whole_total(grace_env):
    lagos = tenant("akanraby")
    marigold = lagos.catalog.get("AK-001")
    quote = build_quote(lagos, [{"sku": "AK-001", "qty": 12}], None, TODAY,
                        delivery=DeliveryChoice("delivery", zone("akanraby", "Lekki & Ajah"), "Lekki"))
    fabric = marigold.unit_price_minor(12) * 12
    assert quote.delivery_fee_minor == 450_000 and quote.total_minor == fabric + 450_000
    assert quote.deposit_minor == (fabric + 450_000) // 2
    assert quote.deposit_minor + quote.balance_minor == quote.total_minor


def test_a_deposit_on_the_cloth_only_leaves_the_fee_to_the_balance(grace_env):
    accra = tenant("kentehouse")
    cheapest = min(accra.catalog.fabrics, key=lambda f: f.price_minor * f.min_qty)
    quote = build_quote(accra, [{"sku": cheapest.sku, "qty": cheapest.min_qty}], None, TODAY,
                        delivery=DeliveryChoice("delivery", zone("kentehouse", "Tema"), "Tema comm 25"))
    assert quote.delivery_fee_minor == 8_000
    assert quote.deposit_minor == round(quote.fabric_total_minor * 0.3)
    assert quote.balance_minor == quote.total_minor - quote.deposit_minor


def test_delivery_is_free_from_the_threshold_on_the_fabric_after_discount(grace_env):
    lagos = tenant("akanraby")
    lace = max(lagos.catalog.fabrics, key=lambda f: f.price_minor)
    qty = -(-30_000_000 // lace.unit_price_minor(1000))  # enough for ₦300,000 at any tier
    quote = build_quote(lagos, [{"sku": lace.sku, "qty": max(qty, lace.min_qty)}], None, TODAY,
                        delivery=DeliveryChoice("delivery", zone("akanraby", "Other states"), "Abuja"))
    assert quote.fabric_total_minor >= 30_000_000
    assert quote.delivery_fee_minor == 0 and quote.delivery_free_above
    assert quote.total_minor == quote.fabric_total_minor


def test_the_order_keeps_the_delivery_and_a_tenant_without_delivery_is_unchanged(grace_env):
    lagos, nairobi = tenant("akanraby"), tenant("kitengenairobi")
    with session_scope() as session:
        customer = get_or_create_customer(session, "akanraby", "+2348050000001", None)
        quote = build_quote(lagos, [{"sku": "AK-001", "qty": 12}], None, TODAY,
                            delivery=DeliveryChoice("delivery", zone("akanraby", "Lekki & Ajah"),
                                                    "12 Admiralty Way, Lekki"))
        order = place_order(session, lagos, customer, quote)
        assert (order.delivery_method, order.delivery_zone, order.delivery_address, order.delivery_fee_minor) == \
            ("delivery", "Lekki & Ajah", "12 Admiralty Way, Lekki", 450_000)
        assert order.total_minor == order.subtotal_minor + 450_000
        kenyan = get_or_create_customer(session, "kitengenairobi", "+254711000099", None)
        sku = nairobi.catalog.fabrics[0].sku
        asked = DeliveryChoice("delivery", zone("akanraby", "Lekki & Ajah"), "Lekki")  # ignored: no delivery block
        plain = build_quote(nairobi, [{"sku": sku, "qty": 4}], None, TODAY, delivery=asked)
        other = place_order(session, nairobi, kenyan, plain)
        assert other.delivery_method is None and other.delivery_fee_minor == 0
        assert other.total_minor == other.subtotal_minor
        assert other.deposit_minor == round(other.total_minor * 0.4)


# ---------------------------------------------------------------- the conversation

def to_summary(chat: Chat, browse: str = "show me ankara", pick: str = "number 1, 12 yards") -> str:
    chat.run(ActionOfferFabrics, browse, "browse")
    return texts(chat.run(ActionUpdateSelection, pick, "select_fabric"))


def stored_orders() -> list[Order]:
    with session_scope() as session:
        orders = session.execute(select(Order).order_by(Order.id)).scalars().all()
        session.expunge_all()
        return orders


def test_lagos_asks_pickup_or_delivery_before_the_total_and_a_zone_adds_its_fee(grace_env):
    chat = Chat("akanraby:+2348060000001")
    asked = to_summary(chat)
    first = tenant("akanraby").catalog.get(chat.slots["selection"][0]["sku"])
    fabric = first.unit_price_minor(12) * 12
    assert first.name in asked and "pick it up or shall we deliver" in asked
    assert "Shop 14, Adire Plaza" in asked and "Lekki & Ajah (₦4,500)" in asked and "₦300,000 or more" in asked
    assert "Total" not in asked and "Deposit" not in asked
    summary = texts(chat.run(ActionGraceFallback, "I dey for Ajah", "nlu_fallback", confidence=0.3))
    total = fabric + 450_000
    assert "🚚 Delivery to Lekki & Ajah (1-2 days): ₦4,500" in summary
    assert f"Total: {format_money(total, 'NGN')}" in summary
    assert f"(50%): *{format_money(total // 2, 'NGN')}*" in summary
    assert f"Balance before delivery: {format_money(total - total // 2, 'NGN')}" in summary
    placed = texts(chat.run(ActionAnswerYesNo, "yes", "affirm"))
    assert chat.slots["order_ref"] in placed and format_money(total // 2, "NGN") in placed
    [order] = stored_orders()
    assert (order.delivery_method, order.delivery_zone, order.delivery_address) == ("delivery", "Lekki & Ajah", "Ajah")
    assert order.delivery_fee_minor == 450_000 and order.total_minor == total
    assert chat.slots["delivery_method"] is None  # the next order is asked again
    chat.run(ActionRecordPayment, "I don pay", "inform_paid")
    with session_scope() as session:
        alert = session.execute(select(Notification.payload).where(Notification.kind == "payment_proof")).scalar_one()
    assert "; delivery to Lekki & Ajah (Ajah), fee ₦4,500" in alert["summary"]  # ops know where it goes


def test_pickup_is_free_and_shown_with_the_address(grace_env):
    chat = Chat("kentehouse:+233240000101")
    to_summary(chat, "show me batik", "number 1, 4 yards")
    summary = texts(chat.run(ActionAnswerPolicy, "I'll pick it up", "ask_delivery"))
    assert "🏬 Pickup at No. 7 Loom Lane, off Oxford Street, Osu" in summary and ": free" in summary
    first = tenant("kentehouse").catalog.get(chat.slots["selection"][0]["sku"])
    fabric = first.unit_price_minor(4) * 4
    assert f"Total: {format_money(fabric, 'GHS')}" in summary and "(30%)" in summary
    chat.run(ActionAnswerYesNo, "yes", "affirm")
    [order] = stored_orders()
    assert order.delivery_method == "pickup" and order.delivery_fee_minor == 0 and order.total_minor == fabric


def test_accra_takes_its_deposit_on_the_cloth_and_the_fee_goes_to_the_balance(grace_env):
    chat = Chat("kentehouse:+233240000102")
    to_summary(chat, "show me batik", "number 1, 4 yards")
    summary = texts(chat.run(ActionGraceFallback, "Tema comm 25", "nlu_fallback", confidence=0.3))
    first = tenant("kentehouse").catalog.get(chat.slots["selection"][0]["sku"])
    fabric = first.unit_price_minor(4) * 4
    deposit = round(fabric * 0.3)
    assert "🚚 Delivery to Tema (1-2 days): GH₵80" in summary
    assert f"Total: {format_money(fabric + 8_000, 'GHS')}" in summary
    assert f"Deposit to pay now (30% of the fabric): *{format_money(deposit, 'GHS')}*" in summary
    assert f"Balance before delivery: {format_money(fabric + 8_000 - deposit, 'GHS')}" in summary
    chat.run(ActionConfirmOrder, "yes", "affirm")
    [order] = stored_orders()
    assert order.deposit_minor == deposit and order.delivery_address == "Tema comm 25"


def test_delivery_is_free_above_the_threshold(grace_env):
    chat = Chat("kentehouse:+233240000103")
    chat.run(ActionOfferFabrics, "show me kente", "browse")
    kente = max((tenant("kentehouse").catalog.get(s) for s in chat.slots["offered_skus"]),
                key=lambda f: f.price_minor)
    qty = max(kente.min_qty, -(-300_000 // kente.price_minor))
    chat.run(ActionUpdateSelection, f"{qty} {kente.unit_plural(qty)} of {kente.name}", "select_fabric")
    summary = texts(chat.run(ActionGraceFallback, "East Legon", "nlu_fallback", confidence=0.3))
    assert "🚚 Delivery to East Legon & Spintex (1-2 days): free (orders of GH₵3,000 or more)" in summary


def test_an_area_in_no_zone_gets_where_we_deliver_and_the_question_stays(grace_env):
    chat = Chat("akanraby:+2348060000002")
    to_summary(chat)
    said = texts(chat.run(ActionCheckAvailability, "Sokoto", "check_availability", confidence=0.99))  # as NLU reads it
    assert "couldn't find “Sokoto”" in said and "don't carry" not in said
    assert "Other states (₦8,000)" in said and "pickup" in said
    assert "Total" not in said and chat.slots["delivery_asked"]
    refused = texts(chat.run(ActionAnswerYesNo, "yes", "affirm"))  # nothing is placed without the choice
    assert "pick it up or shall we deliver" in refused and stored_orders() == []
    said = texts(chat.run(ActionAnswerPolicy, "deliver to Kigali abeg", "ask_delivery"))
    assert "couldn't find “Kigali”" in said and chat.slots["delivery_asked"]
    which = texts(chat.run(ActionAnswerPolicy, "delivery pls", "ask_delivery"))
    assert "Which area" in which and "Mainland (₦3,500)" in which
    summary = texts(chat.run(ActionAnswerYesNo, "1", "affirm"))  # the first choice offered: pickup
    assert "🏬 Pickup at Shop 14" in summary and "Total" in summary


def test_the_choice_can_be_changed_at_the_summary(grace_env):
    chat = Chat("akanraby:+2348060000003")
    to_summary(chat)
    chat.run(ActionAnswerPolicy, "pickup", "ask_delivery")
    changed = texts(chat.run(ActionGraceFallback, "deliver to 5 Allen Avenue, Ikeja instead", "nlu_fallback",
                             confidence=0.3))
    assert "🚚 Delivery to Mainland (1-2 days): ₦3,500" in changed
    assert chat.slots["delivery_address"] == "5 Allen Avenue, Ikeja"
    again = texts(chat.run(ActionAnswerPolicy, "I'll pick up instead", "ask_delivery"))
    assert "🏬 Pickup at Shop 14" in again and "Delivery to" not in again


def test_a_clear_other_request_drops_the_question(grace_env):
    chat = Chat("akanraby:+2348060000004")
    to_summary(chat)
    said = texts(chat.run(ActionOrderStatus, "where is my order?", "order_status", confidence=0.99))
    assert chat.slots["delivery_asked"] is None and "couldn't find" not in said
    asked = texts(chat.run(ActionShowSummary, "send the summary", "ask_summary"))  # the next summary asks again
    assert "pick it up or shall we deliver" in asked and chat.slots["delivery_asked"]


def test_a_business_without_delivery_asks_nothing(grace_env):
    chat = Chat("kitengenairobi:+254711000101")
    summary = to_summary(chat, "show me kitenge", "number 1, 2 yards")
    assert "Total" in summary and "(40%)" in summary and "pick it up" not in summary and "Pickup" not in summary
    chat.run(ActionConfirmOrder, "yes", "affirm")
    [order] = stored_orders()
    assert order.delivery_method is None and order.delivery_fee_minor == 0


# The answers the conversation stories give (tests/stories/<business>/), with the intent the model reads them
# as: each is settled as the answer, whatever that intent's own action would have said.
STORY_ANSWERS = [
    ("akanraby", "I will pick it up at your shop", ActionAnswerFaq, "ask_faq", "🏬 Pickup at Shop 14, Adire Plaza"),
    ("akanraby", "I go pick am up for your shop", ActionAnswerFaq, "ask_faq", "🏬 Pickup at Shop 14"),
    ("akanraby", "self pickup", ActionAnswerFaq, "ask_faq", "🏬 Pickup at Shop 14"),
    ("akanraby", "I'll come and pick it up myself", ActionAnswerFaq, "ask_faq", "🏬 Pickup at Shop 14"),
    ("akanraby", "deliver it to 12 Admiralty Way, Lekki", ActionAnswerPolicy, "ask_delivery",
     "🚚 Delivery to Lekki & Ajah (1-2 days): ₦4,500"),
    ("akanraby", "deliver it to Lekki please", ActionAnswerPolicy, "ask_delivery", "Lekki & Ajah (1-2 days): ₦4,500"),
    ("akanraby", "deliver am to Ikeja", ActionAnswerPolicy, "ask_delivery",
     "🚚 Delivery to Mainland (1-2 days): ₦3,500"),
    ("akanraby", "send it to Surulere", ActionAnswerPolicy, "ask_delivery", "Delivery to Mainland (1-2 days): ₦3,500"),
    ("akanraby", "please deliver to my office in Victoria Island", ActionAnswerPolicy, "ask_delivery",
     "Delivery to Lagos Island, VI & Ikoyi (1-2 days): ₦3,000"),
    ("akanraby", "send am to Abuja", ActionAnswerPolicy, "ask_delivery", "Delivery to Other states (3-5 days): ₦8,000"),
    ("akanraby", "deliver to Sokoto abeg", ActionAnswerPolicy, "ask_delivery", "couldn't find “Sokoto”"),
    ("kentehouse", "I will pick it up at your shop", ActionAnswerFaq, "ask_faq", "🏬 Pickup at No. 7 Loom Lane"),
    ("kentehouse", "I'll come and pick it up myself", ActionAnswerFaq, "ask_faq", "🏬 Pickup at No. 7 Loom Lane"),
    ("kentehouse", "deliver it to Tema comm 25", ActionAnswerPolicy, "ask_delivery",
     "🚚 Delivery to Tema (1-2 days): GH₵80"),
    ("kentehouse", "please deliver to East Legon", ActionAnswerPolicy, "ask_delivery",
     "Delivery to East Legon & Spintex (1-2 days): GH₵60"),
    ("kentehouse", "deliver it to Kumasi", ActionAnswerPolicy, "ask_delivery",
     "Delivery to Regions (2-4 days): GH₵120"),
    ("kentehouse", "deliver to Lome please", ActionAnswerPolicy, "ask_delivery", "couldn't find “Lome”"),
]


@pytest.mark.parametrize(("tenant_id", "text", "action", "intent", "expected"), STORY_ANSWERS)
def test_the_stories_answers_are_read_as_the_answer(grace_env, tenant_id, text, action, intent, expected):
    chat = Chat(f"{tenant_id}:+10000000001")
    browse, pick = ("show me ankara", "number 1, 12 yards") if tenant_id == "akanraby" else \
        ("show me batik", "number 1, 4 yards")
    to_summary(chat, browse, pick)
    said = texts(chat.run(action, text, intent, confidence=0.99))
    assert expected in said
    assert ("Total" in said) == ("couldn't find" not in said)  # the total once chosen, else asked again


def test_a_big_lagos_order_goes_free_to_abuja_and_is_changed_to_ikeja(grace_env):
    chat = Chat("akanraby:+2348060000005")
    to_summary(chat, "show me ankara", "number 1, 70 yards")  # the story's order: ₦300,000 of ankara or more
    summary = texts(chat.run(ActionAnswerPolicy, "send am to Abuja", "ask_delivery", confidence=0.99))
    assert "🚚 Delivery to Other states (3-5 days): free (orders of ₦300,000 or more)" in summary
    changed = texts(chat.run(ActionAnswerPolicy, "deliver to Ikeja instead", "ask_delivery", confidence=0.99))
    assert "🚚 Delivery to Mainland (1-2 days): free" in changed
    chat.run(ActionAnswerYesNo, "yes go ahead", "affirm")
    [order] = stored_orders()
    assert (order.delivery_zone, order.delivery_address, order.delivery_fee_minor) == ("Mainland", "Ikeja", 0)
    assert order.total_minor == order.subtotal_minor - order.discount_minor


def test_another_fabric_while_asked_is_added_and_the_question_comes_with_the_new_lines(grace_env):
    chat = Chat("akanraby:+2348060000006")
    to_summary(chat)
    said = texts(chat.run(ActionUpdateSelection, "also add 6 yards of Coral Reef", "select_fabric", confidence=0.8))
    assert "couldn't find" not in said and "Coral Reef" in said and "pick it up or shall we deliver" in said
    assert len(chat.slots["selection"]) == 2 and chat.slots["delivery_asked"]


def test_a_set_slot_cannot_change_the_fee_or_store_a_huge_address(grace_env):
    # Rasa's API lets anyone with its token set slots: the zone must be one of the business's (its fee is
    # the tenant's), and the address stored for ops is text of an address's length.
    chat = Chat("akanraby:+2348060000009")
    to_summary(chat)
    chat.slots.update(delivery_method="delivery", delivery_zone="Nowhere Free Zone", delivery_address="x")
    assert "pick it up or shall we deliver" in texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    assert stored_orders() == []  # an unknown zone is no choice: asked again, nothing placed
    chat.slots.update(delivery_method="delivery", delivery_zone="Lekki & Ajah", delivery_address="A" * 5000)
    chat.run(ActionConfirmOrder, "yes", "affirm")
    [order] = stored_orders()
    assert order.delivery_fee_minor == 450_000 and len(order.delivery_address) == 300
