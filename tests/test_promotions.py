"""Promotion terms: which lines a code is for, minimum quantities and amounts, dates, first orders and
uses per customer; refused with what is missing, in the customer's terms, and dropped from the summary
(and given back) as the cart changes. Through the production actions with the real entity extractor, on
three businesses with different currencies and deposits (Lagos NGN 50%, Accra GHS 30%, Nairobi KES 40%);
every amount a customer sees is checked exactly."""
from __future__ import annotations

import html
import os
import re
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import select

from actions.base import GraceAction, Turn
from actions.feedback import upsell
from actions.ordering import ActionConfirmOrder
from actions.selection import ActionApplyPromo, ActionRemoveItem, ActionShowSummary, ActionUpdateSelection
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.store import session_scope
from grace.store.models import Order
from grace.tenancy.files import tenant_folder
from grace.tenancy.registry import Promotion, Tenant, get_registry
from grace.tenancy.settings import SettingsError, current_settings, history, update_settings
from tests.helpers import Chat, texts
from tests.test_delivery import without_delivery
from tests.web.conftest import app, client, csrf_token, login, web_env  # noqa: F401  (the dashboard's fixtures)

TODAY = datetime(2026, 11, 20, 12, 0)  # before OWAMBE10 ends (30 Jun 2027), before December
LAGOS, ACCRA, NAIROBI = "akanraby:+2348031230001", "kentehouse:+233241230001", "kitengenairobi:+254711230001"


@pytest.fixture
def shops(grace_env, monkeypatch):
    """The businesses, on a fixed day: promotions start and end on dates."""
    monkeypatch.setattr(Tenant, "now", lambda self: TODAY.replace(tzinfo=self.timezone))
    without_delivery("akanraby", "kentehouse")  # prices alone: pickup or delivery is tests/test_delivery.py's
    return grace_env


def summary(messages: list[dict]) -> str:
    """The order summary among an action's replies (the message with the confirm button)."""
    [found] = [m["text"] for m in messages if m.get("buttons")]
    return found


def orders(tenant_id: str) -> list[Order]:
    with session_scope() as session:
        return list(session.execute(select(Order).where(Order.tenant_id == tenant_id).order_by(Order.id)).scalars())


def set_status(reference: str, status: str) -> None:
    with session_scope() as session:
        session.execute(select(Order).where(Order.reference == reference)).scalar_one().status = status


PROMPT = "Reply *YES* to confirm, or tell me what to add, change or remove."


# ---------------------------------------------------------------- Lagos: OWAMBE10, 10% off 12+ yards of ankara/adire


def test_owambe10_discounts_only_ankara_and_adire_and_follows_the_cart(shops):
    chat = Chat(LAGOS)
    chat.run(ActionUpdateSelection, "12 yards of marigold", "select_fabric")
    applied = chat.run(ActionApplyPromo, "use code OWAMBE10", "apply_promo")
    assert "Code OWAMBE10 applied: 10% off" in texts(applied)
    assert summary(applied) == "\n".join([
        "🧾 *Your order*",
        "• Marigold Bloom (AK-001): 12 yards × ₦4,500 = ₦54,000",
        "Subtotal: ₦54,000",
        "Promo OWAMBE10 (-10%): -₦5,400",
        "*Total: ₦48,600*",
        "Deposit to pay now (50%): *₦24,300*",
        "Balance before delivery: ₦24,300",
        PROMPT])

    # Lace in the same order: the discount stays on the ankara, and the summary says so.
    with_lace = summary(chat.run(ActionUpdateSelection, "and 1 piece of royal ivory", "select_fabric"))
    assert with_lace == "\n".join([
        "🧾 *Your order*",
        "• Marigold Bloom (AK-001): 12 yards × ₦4,500 = ₦54,000",
        "• Royal Ivory (LC-001): 1 piece × ₦45,000 = ₦45,000",
        "Subtotal: ₦99,000",
        "Promo OWAMBE10 (-10% on Marigold Bloom): -₦5,400",
        "*Total: ₦93,600*",
        "Deposit to pay now (50%): *₦46,800*",
        "Balance before delivery: ₦46,800",
        PROMPT])

    # Fewer yards: the code no longer applies, says why, and is kept.
    lowered = summary(chat.run(ActionUpdateSelection, "make the marigold 8 yards", "select_fabric"))
    assert lowered == "\n".join([
        "🧾 *Your order*",
        "• Marigold Bloom (AK-001): 8 yards × ₦4,500 = ₦36,000",
        "• Royal Ivory (LC-001): 1 piece × ₦45,000 = ₦45,000",
        "⚠️ Code OWAMBE10 doesn't apply to this order as it stands: add 4 more yards of ankara or adire to use "
        "OWAMBE10. I've kept it for you: it applies as soon as the order qualifies.",
        "*Total: ₦81,000*",
        "Deposit to pay now (50%): *₦40,500*",
        "Balance before delivery: ₦40,500",
        PROMPT])
    assert chat.slots["promo_code"] == "OWAMBE10"

    # Adire counts with the ankara: it applies again, on both.
    again = summary(chat.run(ActionUpdateSelection, "6 yards of indigo river", "select_fabric"))
    assert again == "\n".join([
        "🧾 *Your order*",
        "• Marigold Bloom (AK-001): 8 yards × ₦4,500 = ₦36,000",
        "• Royal Ivory (LC-001): 1 piece × ₦45,000 = ₦45,000",
        "• Indigo River (AD-001): 6 yards × ₦6,500 = ₦39,000",
        "Subtotal: ₦120,000",
        "Promo OWAMBE10 (-10% on Marigold Bloom and Indigo River): -₦7,500",
        "*Total: ₦112,500*",
        "Deposit to pay now (50%): *₦56,250*",
        "Balance before delivery: ₦56,250",
        PROMPT])

    # A line removed: 6 yards left of what it is for.
    removed = summary(chat.run(ActionRemoveItem, "remove the marigold", "remove_item"))
    assert "add 6 more yards of ankara or adire to use OWAMBE10" in removed and "Promo OWAMBE10 (" not in removed
    assert "*Total: ₦84,000*" in removed and "*₦42,000*" in removed and "Balance before delivery: ₦42,000" in removed

    # Confirmed like that: no discount on the order either.
    chat.run(ActionConfirmOrder, "yes", "affirm")
    [order] = orders("akanraby")
    assert (order.promo_code, order.discount_minor, order.total_minor) == (None, 0, 8_400_000)
    assert (order.deposit_minor, order.balance_minor) == (4_200_000, 4_200_000)


def test_owambe10_is_refused_with_what_is_missing(shops):
    chat = Chat(LAGOS)
    chat.run(ActionUpdateSelection, "1 piece of royal ivory", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "use code OWAMBE10", "apply_promo"))
    assert "Sorry, I can't apply that code: OWAMBE10 is only for 12 yards or more of ankara or adire." in said
    assert chat.slots.get("promo_code") is None

    chat.run(ActionUpdateSelection, "8 yards of lagos sunset", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "OWAMBE10", "apply_promo"))
    assert "Sorry, I can't apply that code: add 4 more yards of ankara or adire to use OWAMBE10." in said
    assert chat.slots.get("promo_code") is None and "Promo" not in said

    chat.run(ActionUpdateSelection, "make the lagos sunset 12 yards", "select_fabric")
    shown = summary(chat.run(ActionApplyPromo, "OWAMBE10", "apply_promo"))
    assert "Promo OWAMBE10 (-10% on Lagos Sunset): -₦6,000" in shown and "*Total: ₦99,000*" in shown
    assert "Deposit to pay now (50%): *₦49,500*" in shown and "Balance before delivery: ₦49,500" in shown


def test_dates_a_code_that_has_not_started_and_one_that_ended(shops):
    path = shops / "tenants" / "akanraby" / "tenant.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("promotions:\n", (
        "promotions:\n  - code: XMAS5\n    description: \"5% off in December.\"\n    percent_off: 5\n"
        "    starts: 2026-12-01\n    valid_until: 2026-12-31\n"), 1), encoding="utf-8")
    chat = Chat(LAGOS)
    chat.run(ActionUpdateSelection, "12 yards of marigold", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "XMAS5", "apply_promo"))
    assert "can't apply that code: XMAS5 starts on 1 December." in said
    said = texts(chat.run(ActionApplyPromo, "use code DETTY2025", "apply_promo"))
    assert "can't apply that code: DETTY2025 expired on 15 Jan 2025." in said
    assert chat.slots.get("promo_code") is None


def test_a_code_before_any_fabric_is_kept_with_its_terms_and_applies_once_they_hold(shops):
    chat = Chat(LAGOS)
    said = texts(chat.run(ActionApplyPromo, "i get promo code owambe 10", "apply_promo"))
    assert "Code OWAMBE10 noted 🎉 10% off any order of 12 yards or more of ankara or adire" in said
    assert chat.slots["promo_code"] == "OWAMBE10"
    first = summary(chat.run(ActionUpdateSelection, "6 yards of marigold", "select_fabric"))
    assert "add 6 more yards of ankara or adire to use OWAMBE10" in first and "*Total: ₦27,000*" in first
    then = summary(chat.run(ActionUpdateSelection, "make it 12 yards", "select_fabric"))
    assert "Promo OWAMBE10 (-10%): -₦5,400" in then and "*Total: ₦48,600*" in then


def test_a_code_in_the_message_that_changes_the_cart_is_judged_on_the_cart_it_makes(shops):
    chat = Chat(LAGOS)
    chat.run(ActionUpdateSelection, "6 yards of marigold", "select_fabric")
    replies = chat.run(ActionUpdateSelection, "12 yards of marigold with code OWAMBE10", "select_fabric")
    assert "can't apply" not in texts(replies) and chat.slots["selection"] == [{"sku": "AK-001", "qty": 12}]
    shown = summary(replies)
    assert "Promo OWAMBE10 (-10%): -₦5,400" in shown and "*Total: ₦48,600*" in shown and "*₦24,300*" in shown
    replies = chat.run(ActionUpdateSelection, "6 yards of marigold, OWAMBE10", "select_fabric")
    assert "applied" not in texts(replies)  # never "applied" above a summary that says it does not apply
    assert "add 6 more yards of ankara or adire to use OWAMBE10" in summary(replies)


# ---------------------------------------------------------------- Accra: first orders, a minimum spent, amounts off


def test_akwaaba15_needs_gh1000_and_a_first_order(shops):
    chat = Chat(ACCRA)
    chat.run(ActionUpdateSelection, "10 yards of nsubra", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "I have a code AKWAABA15", "apply_promo"))
    assert "Sorry, I can't apply that code: spend GH₵150 more to use AKWAABA15." in said
    assert chat.slots.get("promo_code") is None

    chat.run(ActionUpdateSelection, "make it 12 yards", "select_fabric")
    applied = summary(chat.run(ActionApplyPromo, "AKWAABA15", "apply_promo"))
    assert applied == "\n".join([
        "🧾 *Your order*",
        "• Nsubra (KH-011): 12 yards × GH₵85 = GH₵1,020",
        "Subtotal: GH₵1,020",
        "Promo AKWAABA15 (-15%): -GH₵153",
        "*Total: GH₵867*",
        "Deposit to pay now (30%): *GH₵260.10*",
        "Balance before delivery: GH₵606.90",
        PROMPT])
    placed = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    assert "GH₵260.10" in placed
    [order] = orders("kentehouse")
    assert (order.promo_code, order.subtotal_minor, order.discount_minor, order.total_minor) == (
        "AKWAABA15", 102_000, 15_300, 86_700)
    assert (order.deposit_minor, order.balance_minor) == (26_010, 60_690)

    # The next order is not a first order; a cancelled one never happened.
    chat.run(ActionUpdateSelection, "12 yards of nsubra", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "akwaaba 15", "apply_promo"))
    assert "Sorry, I can't apply that code: AKWAABA15 is for first orders only." in said
    set_status(order.reference, "cancelled")
    shown = summary(chat.run(ActionApplyPromo, "akwaaba 15", "apply_promo"))
    assert "Promo AKWAABA15 (-15%): -GH₵153" in shown and "*GH₵260.10*" in shown


def test_a_first_order_code_gives_nothing_once_another_order_is_placed_meanwhile(shops):
    chat = Chat(ACCRA)
    chat.run(ActionUpdateSelection, "12 yards of nsubra", "select_fabric")
    chat.run(ActionApplyPromo, "AKWAABA15", "apply_promo")
    assert chat.slots["promo_code"] == "AKWAABA15"
    tenant = get_registry().get("kentehouse")
    with session_scope() as session:  # an order by the same customer from elsewhere (the dashboard, a retry)
        customer = get_or_create_customer(session, "kentehouse", ACCRA.split(":", 1)[1], None)
        session.flush()
        place_order(session, tenant, customer, build_quote(tenant, [{"sku": "KH-012", "qty": 2}], None,
                                                           TODAY.date()))
    shown = summary(chat.run(ActionShowSummary, "show me my order", "show_summary"))
    assert "AKWAABA15 is for first orders only" in shown and "*Total: GH₵1,020*" in shown
    assert "Deposit to pay now (30%): *GH₵306*" in shown and "Balance before delivery: GH₵714" in shown
    with session_scope() as session:  # and placing the order checks again, whatever the quote said
        customer = get_or_create_customer(session, "kentehouse", ACCRA.split(":", 1)[1], None)
        quote = build_quote(tenant, [{"sku": "KH-011", "qty": 12}], "AKWAABA15", TODAY.date())
        assert quote.discount_minor == 15_300  # this quote knew nothing of the customer
        order = place_order(session, tenant, customer, quote)
        assert (order.promo_code, order.discount_minor, order.total_minor, order.deposit_minor) == (
            None, 0, 102_000, 30_600)


def test_a_yes_after_the_code_stopped_applying_to_the_customer_places_nothing_at_another_price(shops):
    chat = Chat(ACCRA)
    chat.run(ActionUpdateSelection, "12 yards of nsubra", "select_fabric")
    chat.run(ActionApplyPromo, "AKWAABA15", "apply_promo")  # the summary shows GH₵260.10 to pay
    tenant = get_registry().get("kentehouse")
    with session_scope() as session:  # meanwhile, another order of theirs is placed
        customer = get_or_create_customer(session, "kentehouse", ACCRA.split(":", 1)[1], None)
        session.flush()
        place_order(session, tenant, customer, build_quote(tenant, [{"sku": "KH-012", "qty": 2}], None,
                                                           TODAY.date()))
    said = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    assert "AKWAABA15 is for first orders only" in said
    assert "Without it, the total is GH₵1,020 and the deposit GH₵306. Reply *YES* to confirm" in said
    assert len(orders("kentehouse")) == 1 and chat.slots["promo_code"] is None
    placed = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))
    assert "GH₵306" in placed and len(orders("kentehouse")) == 2


def test_the_soft_upsell_offers_a_code_the_customer_can_still_use_in_its_own_terms(shops):
    tenant = get_registry().get("kentehouse")
    chat = Chat(ACCRA)
    with session_scope() as session:
        customer = get_or_create_customer(session, "kentehouse", ACCRA.split(":", 1)[1], None)
        session.flush()
        place_order(session, tenant, customer, build_quote(tenant, [{"sku": "KH-012", "qty": 2}], None,
                                                           TODAY.date()))

    class Upsell(GraceAction):
        action_name = "action_test_upsell"

        def act(self, turn: Turn) -> None:
            upsell(turn, None)  # no order to match fabrics to: the upsell falls back to a code

    said = texts(chat.run(Upsell))
    assert "AKWAABA15" not in said  # first orders only: this customer has one
    assert "use code *AYEKOO150* for GH₵150 off your next order" in said


def test_ayekoo150_takes_gh150_off_ten_stoles_twice_per_customer(shops):
    chat = Chat(ACCRA)
    chat.run(ActionUpdateSelection, "10 pieces of nyankonton stole and 4 yards of swallows fly", "select_fabric")
    shown = chat.run(ActionApplyPromo, "AYEKOO150", "apply_promo")
    assert "Code AYEKOO150 applied: GH₵150 off" in texts(shown)
    assert summary(shown) == "\n".join([
        "🧾 *Your order*",
        "• Nyankonton Stole (KH-006): 10 pieces × GH₵280 = GH₵2,800",
        "• Swallows Fly (KH-013): 4 yards × GH₵90 = GH₵360",
        "Subtotal: GH₵3,160",
        "Promo AYEKOO150 (GH₵150 off Nyankonton Stole): -GH₵150",
        "*Total: GH₵3,010*",
        "Deposit to pay now (30%): *GH₵903*",
        "Balance before delivery: GH₵2,107",
        PROMPT])
    chat.run(ActionConfirmOrder, "yes", "affirm")
    chat.run(ActionUpdateSelection, "12 pieces of adehye stole", "select_fabric")
    shown = summary(chat.run(ActionApplyPromo, "AYEKOO150", "apply_promo"))
    assert "Promo AYEKOO150 (GH₵150 off): -GH₵150" in shown and "*Total: GH₵2,010*" in shown
    assert "*GH₵603*" in shown and "Balance before delivery: GH₵1,407" in shown
    chat.run(ActionConfirmOrder, "yes", "affirm")
    first, second = orders("kentehouse")
    assert (first.discount_minor, first.total_minor, second.discount_minor) == (15_000, 301_000, 15_000)

    chat.run(ActionUpdateSelection, "10 pieces of adehye stole", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "AYEKOO150", "apply_promo"))
    assert "Sorry, I can't apply that code: you've already used AYEKOO150 2 times, as many as it allows." in said
    set_status(first.reference, "expired")  # an order that lapsed unpaid is no use
    shown = summary(chat.run(ActionApplyPromo, "AYEKOO150", "apply_promo"))
    assert "Promo AYEKOO150 (GH₵150 off): -GH₵150" in shown and "*Total: GH₵1,650*" in shown


# ---------------------------------------------------------------- Nairobi: an amount off a minimum spent on kitenge


def test_shangwe500_needs_ksh5000_of_kitenge_and_comes_off_the_kitenge(shops):
    chat = Chat(NAIROBI)
    said = texts(chat.run(ActionApplyPromo, "nina code SHANGWE500", "apply_promo"))
    assert "Code SHANGWE500 noted 🎉 KES 500 off when you spend KES 5,000 or more on kitenge or wax print" in said
    short = summary(chat.run(ActionUpdateSelection, "12 yards of mama mboga", "select_fabric"))
    assert short == "\n".join([
        "🧾 *Your order*",
        "• Mama Mboga (KC-001): 12 yards × KSh 380 = KSh 4,560",
        "⚠️ Code SHANGWE500 doesn't apply to this order as it stands: spend KSh 440 more on kitenge or wax print "
        "to use SHANGWE500. I've kept it for you: it applies as soon as the order qualifies.",
        "*Total: KSh 4,560*",
        "Deposit to pay now (40%): *KSh 1,824*",
        "Balance before delivery: KSh 2,736",
        PROMPT])
    # Kanga does not count towards it.
    with_kanga = summary(chat.run(ActionUpdateSelection, "2 pairs of pendo kanga", "select_fabric"))
    assert "spend KSh 440 more on kitenge or wax print" in with_kanga and "*Total: KSh 6,260*" in with_kanga
    assert "*KSh 2,504*" in with_kanga and "Balance before delivery: KSh 3,756" in with_kanga
    enough = summary(chat.run(ActionUpdateSelection, "make the mama mboga 14 yards", "select_fabric"))
    assert enough == "\n".join([
        "🧾 *Your order*",
        "• Mama Mboga (KC-001): 14 yards × KSh 380 = KSh 5,320",
        "• Pendo Kanga (KC-011): 2 pairs × KSh 850 = KSh 1,700",
        "Subtotal: KSh 7,020",
        "Promo SHANGWE500 (KSh 500 off Mama Mboga): -KSh 500",
        "*Total: KSh 6,520*",
        "Deposit to pay now (40%): *KSh 2,608*",
        "Balance before delivery: KSh 3,912",
        PROMPT])
    chat.run(ActionConfirmOrder, "yes", "affirm")
    [order] = orders("kitengenairobi")
    assert (order.promo_code, order.discount_minor, order.total_minor, order.deposit_minor) == (
        "SHANGWE500", 50_000, 652_000, 260_800)

    chat.run(ActionUpdateSelection, "2 pairs of pendo kanga", "select_fabric")
    said = texts(chat.run(ActionApplyPromo, "SHANGWE500", "apply_promo"))
    assert "you've already used SHANGWE500" in said
    said = texts(chat.run(ActionApplyPromo, "JAMHURI24", "apply_promo"))
    assert "JAMHURI24 expired on 31 Dec 2024" in said


def test_orders_at_another_business_are_not_this_ones(shops):
    phone = "+254711230001"
    lagos = Chat(f"akanraby:{phone}")
    lagos.run(ActionUpdateSelection, "12 yards of marigold", "select_fabric")
    lagos.run(ActionConfirmOrder, "yes", "affirm")
    assert len(orders("akanraby")) == 1
    chat = Chat(f"kitengenairobi:{phone}")
    chat.run(ActionUpdateSelection, "8 yards of nairobi nights", "select_fabric")
    shown = summary(chat.run(ActionApplyPromo, "KARIBU10", "apply_promo"))
    assert "Promo KARIBU10 (-10%): -KSh 360" in shown and "*Total: KSh 3,240*" in shown
    assert "*KSh 1,296*" in shown and "Balance before delivery: KSh 1,944" in shown


# ---------------------------------------------------------------- the arithmetic


def test_an_amount_off_is_capped_at_the_lines_it_is_for_and_percents_round_half_up(shops):
    tenant = get_registry().get("kentehouse")
    big = Promotion(code="BIG", description="", percent_off=0, valid_until=date(2030, 1, 1),
                    amount_off_minor=1_000_000, categories=("kente stole",))
    shop = replace(tenant, promotions=(big,))
    quote = build_quote(shop, [{"sku": "KH-007", "qty": 1}, {"sku": "KH-011", "qty": 2}], "big", TODAY.date())
    assert (quote.subtotal_minor, quote.discount_minor, quote.total_minor) == (35_000, 18_000, 17_000)
    assert (quote.deposit_minor, quote.balance_minor) == (5_100, 11_900)

    quarter = Promotion(code="Q", description="", percent_off=0.25, valid_until=date(2030, 1, 1))
    quote = build_quote(replace(tenant, promotions=(quarter,)), [{"sku": "KH-011", "qty": 2}], "Q", TODAY.date())
    assert (quote.discount_minor, quote.total_minor) == (43, 16_957)  # 0.25% of GH₵170 is 42.5 pesewas
    assert (quote.deposit_minor, quote.balance_minor) == (5_087, 11_870)
    assert quote.deposit_minor + quote.balance_minor == quote.total_minor


# ---------------------------------------------------------------- settings


def tenant_yml(tenant_id: str = "akanraby"):
    return tenant_folder(tenant_id) / "tenant.yml"


GOOD = {"code": "LACE5000", "description": "N5,000 off lace", "amount_off": "5,000", "valid_until": "2027-01-31"}


@pytest.mark.parametrize("changes, field, problem", [
    ({"percent_off": "10"}, "promotions[0].amount_off", "not both"),
    ({"amount_off": "", "percent_off": "150"}, "promotions[0].percent_off", "from 0.01 to 100"),
    ({"amount_off": "-500"}, "promotions[0].amount_off", "more than 0"),
    ({"min_total": "-1"}, "promotions[0].min_total", "negative"),
    ({"min_qty": "2.5"}, "promotions[0].min_qty", "whole number"),
    ({"categories": "lace\nvelvet"}, "promotions[0].categories", "velvet: not a category"),
    ({"skus": "LC-001, LC-999"}, "promotions[0].skus", "LC-999: not in your catalog"),
    ({"starts": "2027-02-01"}, "promotions[0].starts", "after valid_until"),
    ({"max_uses_per_customer": "0"}, "promotions[0].max_uses_per_customer", "from 1"),
    ({"first_order_only": "maybe"}, "promotions[0].first_order_only", "yes or no"),
    ({"amount_off": "", "percent_off": ""}, "promotions[0].percent_off", "missing"),
])
def test_a_bad_promotion_is_refused_with_the_reason_and_the_file_kept(shops, changes, field, problem):
    before = tenant_yml().read_bytes()
    with pytest.raises(SettingsError) as refused:
        update_settings("akanraby", {"promotions": [GOOD | changes]}, by="ada")
    assert problem in refused.value.errors.get(field, ""), refused.value.errors
    assert tenant_yml().read_bytes() == before and history("akanraby") == []


def test_a_promotion_with_terms_is_saved_read_and_sent_back_unchanged(shops):
    owambe = current_settings("akanraby")["promotions"][0]
    assert owambe["min_qty"] == 12 and owambe["categories"] == ["ankara", "adire"]
    tenant = update_settings("akanraby", {"promotions": [owambe, GOOD | {
        "min_total": "50000", "categories": "lace, George", "skus": "", "starts": "2026-12-01",
        "max_uses_per_customer": "1", "first_order_only": "yes", "min_qty": ""}]}, by="ada")
    lace = tenant.promotion("lace5000")
    assert (lace.amount_off_minor, lace.min_total_minor, lace.categories, lace.skus) == (
        500_000, 5_000_000, ("lace", "george"), ())
    assert (lace.starts, lace.max_uses_per_customer, lace.first_order_only, lace.min_qty) == (
        date(2026, 12, 1), 1, True, 0)
    assert tenant.promotion("OWAMBE10") == get_registry().get("akanraby").promotion("OWAMBE10")
    assert "# AkanrabyAtuche" in tenant_yml().read_text(encoding="utf-8")  # the owner's comments are kept
    before = tenant_yml().read_bytes()
    update_settings("akanraby", current_settings("akanraby"), by="ada")  # sent back unchanged: nothing written
    assert tenant_yml().read_bytes() == before and len(history("akanraby")) == 1


def test_a_hand_edit_with_a_bad_promotion_keeps_the_last_good_version_serving(shops):
    registry = get_registry()
    assert registry.get("akanraby").promotion("OWAMBE10").min_qty == 12
    path = tenant_yml()
    path.write_text(path.read_text(encoding="utf-8").replace("    percent_off: 10\n",
                                                             "    percent_off: 10\n    amount_off: 1000\n", 1),
                    encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert registry.get("akanraby").promotion("OWAMBE10").percent_off == 10
    error = registry.error("akanraby")
    assert error is not None and error.field == "promotions[0].amount_off" and "not both" in error.problem


# ---------------------------------------------------------------- the dashboard's form


def form_of(web) -> dict[str, str]:
    """The settings form as a browser would send it unchanged (checked boxes included)."""
    page = web.get("/settings").get_data(as_text=True)
    form = page.split('action="/settings"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'<input type="text" name="([^"]+)" value="([^"]*)"', form))
    fields |= dict(re.findall(r'<textarea name="([^"]+)" rows="\d+">([^<]*)</textarea>', form))
    fields |= dict(re.findall(r'<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>', form))
    return {k: html.unescape(v) for k, v in fields.items()}


def test_the_settings_form_edits_a_promotions_terms(client, shops):  # noqa: F811
    login(client, "owner@akanraby.test")
    form = form_of(client)
    assert form["promotions.0.code"] == "OWAMBE10" and form["promotions.0.min_qty"] == "12"
    assert form["promotions.0.categories"] == "ankara\nadire" and "promotions.0.first_order_only" not in form
    row = next(i for i in range(20) if f"promotions.{i}.code" in form and not form[f"promotions.{i}.code"])
    new = {"code": "FIRSTLACE", "description": "N5,000 off your first lace", "amount_off": "5000",
           "min_total": "40,000", "categories": "lace", "valid_until": "2027-03-31", "first_order_only": "yes"}
    form |= {f"promotions.{row}.{k}": v for k, v in new.items()}
    saved = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    assert saved.status_code == 302, re.findall(r"Nothing was saved[^<]*", saved.get_data(as_text=True))
    lace = get_registry().get("akanraby").promotion("FIRSTLACE")
    assert (lace.amount_off_minor, lace.min_total_minor, lace.categories, lace.first_order_only) == (
        500_000, 4_000_000, ("lace",), True)
    assert get_registry().get("akanraby").promotion("OWAMBE10").categories == ("ankara", "adire")
    assert form_of(client)[f"promotions.{row}.first_order_only"] == "yes"

    before = tenant_yml().read_bytes()
    form = form_of(client) | {f"promotions.{row}.percent_off": "10"}
    refused = client.post("/settings", data={**form, "csrf_token": csrf_token(client, "/settings")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "give percent_off or amount_off, not both" in page
    box = page.split(f'name="promotions.{row}.amount_off"', 1)[1].split("</label>", 1)[0]
    assert "field-error" in box  # said beside the box to fix
    assert tenant_yml().read_bytes() == before
