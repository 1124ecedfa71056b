"""The model-answer guard (grace.llm.grounding.problems) judges facts, not shapes: an honest answer of a
Lagos (NGN) or Accra (GHS) shop passes, whatever numbers it holds (days, hours, yards, addresses, the
shop's delivery fee, a total worked out for this customer), and an invented one is caught (money,
another currency, a percentage, a code, an account, a link). Money is read with the one reader
the shop uses (grace.understanding.amounts.find_money)."""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from grace.llm.grounding import problems
from grace.llm.prompt import Context, build_messages
from grace.tenancy.registry import Tenant, parse_tenant
from grace.understanding.amounts import find_money, parse_money
from tests.helpers import ROOT

# What each test shop states about delivery (set here, so the table reads against known facts).
SHOPS = {
    "akanraby": (ROOT / "tenants" / "akanraby", {
        "delivery": {"zones": [{"name": "Lekki", "areas": ["Lekki", "Ajah"], "fee": 4750, "days": "1-2"}],
                     "free_above": 300000},
        "delivery_policy": "Lagos deliveries arrive within 1-2 working days and cost 3,000 to 6,000 naira depending "
                           "on your area (free for orders above 300,000 naira).",
    }),
    "kentehouse": (ROOT / "tests" / "tenants" / "kentehouse", {
        "delivery": {"zones": [{"name": "Osu", "areas": ["Osu", "Labone"], "fee": 55, "days": "1-2"}],
                     "free_above": 3000},
        "delivery_policy": "Within Accra and Tema we deliver by dispatch rider in 1-2 days for GHS 40-80 depending "
                           "on the area (free for orders above GHS 3,000).",
    }),
}


def shop(tmp_path: Path, tenant_id: str) -> Tenant:
    """The business's own folder, copied, with the delivery block and delivery policy above."""
    source, settings = SHOPS[tenant_id]
    folder = tmp_path / tenant_id
    shutil.copytree(source, folder)
    data = yaml.safe_load((folder / "tenant.yml").read_text(encoding="utf-8"))
    data["delivery"] = settings["delivery"]
    data["policies"]["delivery"] = settings["delivery_policy"]
    (folder / "tenant.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return parse_tenant(tenant_id, folder)


@pytest.fixture(scope="module")
def shops(tmp_path_factory) -> dict[str, Tenant]:
    folder = tmp_path_factory.mktemp("shops")
    return {tenant_id: shop(folder, tenant_id) for tenant_id in SHOPS}


def context(selection: list[dict] | None = None, history: list[tuple[str, str]] | None = None) -> Context:
    return Context(stage="browsing", selection=selection or [], history=history or [])


# (tenant, answer, the customer's message, selection, history)
HONEST = [
    ("akanraby", "We deliver to Lekki in 1-2 working days 🚚 Shall I add it?", "", [], []),
    ("akanraby", "Delivery to Lekki is ₦4,750 and it gets to you in 2 days", "", [], []),
    ("akanraby", "We open 9am to 6pm on weekdays, and 10 on Saturday", "", [], []),
    ("akanraby", "No wahala, we open 9 tomorrow 😊", "", [], []),
    ("akanraby", "Ankara is sold from 6 yards, and lace comes in 5-yard pieces", "", [], []),
    ("akanraby", "OWAMBE10 gives 10% off any order of 12 yards or more of ankara or adire", "", [], []),
    ("akanraby", "Our showroom is at Shop 14, Adire Plaza, 22 Atuche Close, Lagos Island", "", [], []),
    ("akanraby", "Lagos delivery is 3,000 to 6,000 naira, and free above ₦300,000", "", [], []),
    ("akanraby", "Sunflower Fields is ₦5,200 per yard, or 4,700 naira per yard from 30 yards", "", [], []),
    ("akanraby", "The deposit is 50 percent of the total, and OWAMBE10 runs until 30 Jun 2027", "", [], []),
    ("akanraby", "Our adire is 100% hand-dyed in Abeokuta", "", [], []),
    ("akanraby", "Swatches of up to 5 fabrics cost 2,000 naira within Lagos", "", [], []),
    ("akanraby", "Your 12 yards of Marigold Bloom come to ₦54,000: the deposit is ₦27,000 and the balance "
                 "₦27,000", "", [{"sku": "AK-001", "qty": 12}], []),
    ("akanraby", "With Lekki delivery your total is ₦58,750, so the deposit is ₦29,375",
     "", [{"sku": "AK-001", "qty": 12}], []),
    ("akanraby", "With OWAMBE10 your total drops to ₦48,600 😍", "", [{"sku": "AK-001", "qty": 12}], []),
    ("akanraby", "9 yards of Marigold Bloom is ₦40,500, a ₦20,250 deposit", "how much for 9 yards of marigold", [],
     []),
    ("akanraby", "With your 50k budget, Marigold Bloom at ₦4,500 a yard is a fine pick", "my budget is 50k",
     [], []),
    ("akanraby", "Yes o, ₦4,000 a yard for the 200 yards, as our team said 🙏🏾", "so we agree?", [],
     [("team", "For 200 yards I can do ₦4,000 a yard")]),
    ("akanraby", "Your order AKA-7KQ2M is with our team, they'll confirm soon", "where is my order",
     [], [("customer", "any news on AKA-7KQ2M?")]),
    ("akanraby", "See it here: https://media.akanrabyatuche.example/fabrics/ak-001.jpg", "", [], []),
    ("akanraby", "Chat with us on +234 901 000 0001 anytime", "", [], []),
    ("kentehouse", "Delivery to Osu is GH₵55 and takes 1-2 days", "", [], []),
    ("kentehouse", "Within Accra delivery is GHS 40-80 depending on the area, so up to GH₵80", "", [], []),
    ("kentehouse", "Sika Futuro is GHS 6,500 for the full 12-yard cloth", "", [], []),
    ("kentehouse", "AKWAABA15 gives 15% off your first order of GHS 1,000 or more", "", [], []),
    ("kentehouse", "We confirm with a 30% deposit; custom kente needs a 50% deposit", "", [], []),
    ("kentehouse", "Speed Bird is GH₵95 a yard, GH₵85.50 from 60 yards", "", [], []),
    ("kentehouse", "Swatch cards cost GHS 30 in Accra, we open 8:30 on Tuesday", "", [], []),
    ("kentehouse", "Two Sika Futuro cloths come to GH₵13,000; the 30% deposit is GH₵3,900",
     "", [{"sku": "KH-001", "qty": 2}], []),
    ("kentehouse", "Send it with reference KHA-3ZP9T as the MoMo reference, e.g.", "", [], []),
]


@pytest.mark.parametrize(("tenant_id", "answer", "question", "selection", "history"), HONEST)
def test_an_honest_answer_passes(shops, tenant_id, answer, question, selection, history):
    assert problems(answer, shops[tenant_id], False, context(selection, history), question) == []


# (tenant, answer, the customer's message, selection, what the customer must not be told)
INVENTED = [
    ("akanraby", "Today only: 50 percent off everything 🎉", "", [], "50 percent"),
    ("akanraby", "Fifteen per cent off lace this week!", "", [], "Fifteen per cent"),
    ("akanraby", "Lagos Sunset is 2k per yard", "", [], "2k"),  # ₦2,000 is the swatch fee, not a yard's price
    ("akanraby", "Delivery to Lekki is 1500 NGN", "", [], "1500 NGN"),
    ("akanraby", "Lagos Sunset is £20 a yard", "", [], "£20"),
    ("akanraby", "Royal Ivory is €450 a piece", "", [], "€450"),
    ("akanraby", "Royal Ivory is GHS 450", "", [], "GHS 450"),
    ("akanraby", "Marigold Bloom is 4,000 per yard", "", [], "4,000"),
    ("akanraby", "Delivery to Lekki is ₦5,100", "", [], "₦5,100"),
    ("akanraby", "Use code LAGOS50 at checkout", "", [], "LAGOS50"),
    ("akanraby", "DETTY2025 still works, 15% off lace", "", [], "DETTY2025"),
    ("akanraby", "Pay into 0987654321 and send the screenshot", "how do I pay", [], "0987654321"),
    ("akanraby", "Pay into 0123456789 and send the screenshot", "what colours do you have", [], "0123456789"),
    ("akanraby", "Order here: https://akanraby-deals.com/buy", "", [], "akanraby-deals.com"),
    ("akanraby", "Browse www.fabricsale.ng for more", "", [], "www.fabricsale.ng"),
    ("akanraby", "Your total is ₦56,000", "", [{"sku": "AK-001", "qty": 12}], "₦56,000"),
    ("akanraby", "Yes, 4k per yard", "so na 4k per yard we agree?", [], "4k"),  # the customer's, not the shop's
    ("akanraby", "Call our manager on 0803 555 1234", "", [], "0803 555 1234"),
    ("kentehouse", "Sika Futuro is ₦6,500 for the full cloth", "", [], "₦6,500"),
    ("kentehouse", "Speed Bird is $9 a yard", "", [], "$9"),
    ("kentehouse", "Delivery to Osu is GHS 45", "", [], "GHS 45"),
    ("kentehouse", "Our batik is 2k cedis a bundle", "", [], "2k cedis"),
    ("kentehouse", "Get 25% off kente today", "", [], "25%"),
    ("kentehouse", "MoMo it to 0244999999", "how do I pay", [], "0244999999"),
    ("kentehouse", "Use AKWAABA50 for your first order", "", [], "AKWAABA50"),
]


@pytest.mark.parametrize(("tenant_id", "answer", "question", "selection", "invented"), INVENTED)
def test_an_invented_answer_is_caught_and_says_what(shops, tenant_id, answer, question, selection, invented):
    account_allowed = "pay" in question
    found = problems(answer, shops[tenant_id], account_allowed, context(selection), question)
    assert found and any(invented in problem for problem in found), found


def test_another_currency_is_always_named_as_one(shops):
    found = problems("Lagos Sunset is £20 a yard", shops["akanraby"], False, context())
    assert "£20 is not in NGN, the only currency this shop quotes" in found


def test_the_account_number_passes_only_when_the_customer_asks_how_to_pay(shops):
    lagos = shops["akanraby"]
    assert problems("Pay into 0123456789 🙏🏾", lagos, True, context(), "which account") == []
    assert problems("Pay into 0123 456 789 🙏🏾", lagos, True, context(), "which account") == []
    assert problems("Pay into 0123456789 🙏🏾", lagos, False, context(), "hello") != []


def test_the_prompt_gives_the_amounts_an_honest_answer_needs(shops):
    lagos = shops["akanraby"]
    [system, *_] = build_messages(lagos, "how much is my order with delivery to lekki",
                                  context([{"sku": "AK-001", "qty": 12}]))
    prompt = system["content"]
    assert "Lekki (Lekki, Ajah): ₦4,750, 1-2 days" in prompt
    assert "free when the fabric costs ₦300,000 or more" in prompt
    assert "12 yards of Marigold Bloom (AK-001) at ₦4,500 = ₦54,000" in prompt
    assert "Total ₦54,000, deposit (50%) ₦27,000, balance ₦27,000" in prompt
    assert "never in another currency" in prompt


# ---------------------------------------------------------------- the one money reader

@pytest.mark.parametrize(("written", "currency", "minor"), [
    ("45k", "NGN", 4_500_000), ("45,000.50", "NGN", 4_500_050), ("₦45,000", "NGN", 4_500_000),
    ("N45,000", "NGN", 4_500_000), ("1500 NGN", "NGN", 150_000), ("NGN 1,500", "NGN", 150_000),
    ("4,500 naira", "NGN", 450_000), ("KSh 1,200", "KES", 120_000), ("KES 1,200", "KES", 120_000),
    ("1,200 shillings", "KES", 120_000), ("300 bob", "KES", 30_000), ("GH₵84", "GHS", 8_400),
    ("GHS 84", "GHS", 8_400), ("84 cedis", "GHS", 8_400), ("$30", "USD", 3_000), ("£20", "GBP", 2_000),
    ("€15", "EUR", 1_500), ("25 000 FCFA", "XOF", 25_000), ("25,000 FCFA", "XAF", 25_000),
])
def test_every_currency_the_tenants_meet_is_read_exactly(written, currency, minor):
    assert parse_money(written, currency) == minor


@pytest.mark.parametrize(("text", "read"), [
    ("Lagos Sunset is 2k per yard", [("2k", "2000", set())]),
    ("delivery is 1500 NGN", [("1500 NGN", "1500", {"NGN"})]),
    ("for GHS 40-80 depending on the area", [("GHS 40", "40", {"GHS"}), ("80", "80", {"GHS"})]),
    ("cost 3,000 to 6,000 naira", [("3,000", "3000", {"NGN"}), ("6,000 naira", "6000", {"NGN"})]),
    ("budget of 20-30k", [("20", "20000", set()), ("30k", "30000", set())]),
    ("Marigold is 4,500 per yard, Speed Bird 95/yard", [("4,500", "4500", set()), ("95", "95", set())]),
    ("in 2 days, we open 9, 6 yards, 5-yard pieces, Shop 14, 22 Atuche Close, 1-2 working days", []),
    ("GH₵40 to 60 yards", [("GH₵40", "40", {"GHS"})]),  # the 60 is yards
    ("sent GHS 84 to 0244123456", [("GHS 84", "84", {"GHS"})]),  # a phone is no range's end
])
def test_price_wording_and_ranges_make_money_and_nothing_else_does(text, read):
    assert [(a.text, str(a.major), set(a.currencies)) for a in find_money(text, priced=True)] == [
        (written, str(Decimal(major)), currencies) for written, major, currencies in read]
