"""Wholesale tiers: a catalog column `tiers` ("30:4700;100:4300": from 30 units the unit price is 4,700,
from 100 it is 4,300, in major units like `price`). The quote prices each line at the tier its quantity
reaches and promotions apply to those prices; the summary names the tier used and, when the next tier is
close (at most 20% more units, and in stock), what it would save; every price a customer is shown
mentions the tiers. Uploads refuse a bad tiers cell with the row and the reason and keep the old catalog.

Through the production actions with the real entity extractor, on the three businesses (Lagos NGN 50%,
Accra GHS 30% with a tier in pesewas, Nairobi KES 40%); every amount a customer sees is checked exactly."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, time, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from actions.fabrics import ActionAnswerPrice, ActionCheckAvailability, ActionOfferFabrics
from actions.ordering import ActionConfirmOrder
from actions.selection import ActionApplyPromo, ActionUpdateSelection
from grace.llm.grounding import problems
from grace.shop.catalog_import import apply_upload, check_upload, export_catalog_csv, update_fabric
from grace.store import session_scope
from grace.store.models import Order
from grace.tenancy.catalog import CatalogError, Tier, parse_catalog
from grace.tenancy.files import backups, catalog_path
from grace.tenancy.registry import Tenant, get_registry
from tests.helpers import Chat, texts
from tests.test_delivery import without_delivery
from tests.web.conftest import app, client, csrf_token, login, post_form, web_env  # noqa: F401  (dashboard fixtures)

TODAY = datetime(2026, 11, 20, 12, 0)  # OWAMBE10 and SHANGWE500 are live
LAGOS, ACCRA, NAIROBI = "akanraby:+2348031240001", "kentehouse:+233241240001", "kitengenairobi:+254711240001"
PROMPT = "Reply *YES* to confirm, or tell me what to add, change or remove."
HEADER = ["sku", "name", "category", "colors", "pattern", "price", "unit", "min_qty", "stock", "image_url",
          "description"]


@pytest.fixture
def shops(grace_env, monkeypatch):
    monkeypatch.setattr(Tenant, "now", lambda self: TODAY.replace(tzinfo=self.timezone))
    without_delivery("akanraby", "kentehouse")  # prices alone: pickup or delivery is tests/test_delivery.py's
    return grace_env


def tenant(tenant_id: str = "akanraby") -> Tenant:
    return get_registry().get(tenant_id)


def summary(messages: list[dict]) -> str:
    """The order summary among an action's replies (the message with the confirm button)."""
    [found] = [m["text"] for m in messages if m.get("buttons")]
    return found


def lines(*parts: str) -> str:
    return "\n".join(["🧾 *Your order*", *parts, PROMPT])


# ---------------------------------------------------------------- the catalog column


def test_the_tier_for_a_quantity_and_catalogs_without_the_column():
    text = ",".join(HEADER) + ",tiers\n" + (
        "AK-1,Sun,ankara,yellow,floral,5200,yard,6,140,,x,30:4700;100:4300\n"
        "AK-2,Plain,ankara,red,,4500,yard,6,10,,x,\n"
        "KH-1,Bird,wax print,navy,,95,yard,2,90,,x, 60 : 85.50 ;\n")
    catalog = parse_catalog(text, "GHS")
    sun = catalog.get("AK-1")
    assert sun.tiers == (Tier(30, 470_000), Tier(100, 430_000))
    assert [sun.unit_price_minor(q) for q in (6, 29, 30, 99, 100, 500)] == [
        520_000, 520_000, 470_000, 470_000, 430_000, 430_000]
    assert (sun.tier_for(29), sun.tier_for(30), sun.next_tier(29), sun.next_tier(30), sun.next_tier(100)) == (
        None, Tier(30, 470_000), Tier(30, 470_000), Tier(100, 430_000), None)
    assert catalog.get("AK-2").tiers == () and catalog.get("AK-2").unit_price_minor(1000) == 450_000
    assert catalog.get("KH-1").tiers == (Tier(60, 8_550),)  # GH₵85.50 in pesewas

    old = parse_catalog(",".join(HEADER) + "\nAK-1,Sun,ankara,yellow,floral,5200,yard,6,140,,x\n", "NGN")
    assert old.get("AK-1").tiers == () and old.get("AK-1").unit_price_minor(100) == 520_000


def test_the_three_businesses_sell_some_fabrics_wholesale(grace_env):
    assert tenant("akanraby").catalog.get("AK-010").tiers == (Tier(30, 470_000), Tier(100, 430_000))
    assert tenant("kentehouse").catalog.get("KH-016").tiers == (Tier(60, 8_550),)
    assert tenant("kitengenairobi").catalog.get("KC-014").tiers == (Tier(10, 99_000),)
    for business in ("akanraby", "kentehouse", "kitengenairobi"):
        assert len([f for f in tenant(business).catalog.fabrics if f.tiers]) == 3


# ---------------------------------------------------------------- the summary and the order


def test_lagos_summary_uses_the_tier_says_what_the_next_one_saves_and_the_order_keeps_it(shops):
    chat = Chat(LAGOS)
    far = summary(chat.run(ActionUpdateSelection, "24 yards of sunflower fields", "select_fabric"))
    assert far == lines(
        "• Sunflower Fields (AK-010): 24 yards × ₦5,200 = ₦124,800",
        "*Total: ₦124,800*",
        "Deposit to pay now (50%): *₦62,400*",
        "Balance before delivery: ₦62,400")  # 30 is 25% more than 24: not close enough to mention

    close = summary(chat.run(ActionUpdateSelection, "26 yards of sunflower fields", "select_fabric"))
    assert close == lines(
        "• Sunflower Fields (AK-010): 26 yards × ₦5,200 = ₦135,200",
        "*Total: ₦135,200*",
        "Deposit to pay now (50%): *₦67,600*",
        "Balance before delivery: ₦67,600",
        "💡 Add 4 more yards of Sunflower Fields for ₦4,700 a yard: you'd save ₦15,000 on 30 yards.")

    closer = summary(chat.run(ActionUpdateSelection, "28 yards of sunflower fields", "select_fabric"))
    assert closer == lines(
        "• Sunflower Fields (AK-010): 28 yards × ₦5,200 = ₦145,600",
        "*Total: ₦145,600*",
        "Deposit to pay now (50%): *₦72,800*",
        "Balance before delivery: ₦72,800",
        "💡 Add 2 more yards of Sunflower Fields for ₦4,700 a yard: 30 yards cost ₦141,000, "
        "less than your 28 yards now (₦145,600).")

    wholesale = summary(chat.run(ActionUpdateSelection, "30 yards of sunflower fields", "select_fabric"))
    assert wholesale == lines(
        "• Sunflower Fields (AK-010): 30 yards × ₦4,700 (wholesale from 30) = ₦141,000",
        "*Total: ₦141,000*",
        "Deposit to pay now (50%): *₦70,500*",
        "Balance before delivery: ₦70,500")

    # OWAMBE10 (10% off 12+ yards of ankara or adire) comes off the wholesale price, beside a line at retail.
    chat.run(ActionUpdateSelection, "and 12 yards of marigold", "select_fabric")
    promo = summary(chat.run(ActionApplyPromo, "use code OWAMBE10", "apply_promo"))
    assert promo == lines(
        "• Sunflower Fields (AK-010): 30 yards × ₦4,700 (wholesale from 30) = ₦141,000",
        "• Marigold Bloom (AK-001): 12 yards × ₦4,500 = ₦54,000",
        "Subtotal: ₦195,000",
        "Promo OWAMBE10 (-10%): -₦19,500",
        "*Total: ₦175,500*",
        "Deposit to pay now (50%): *₦87,750*",
        "Balance before delivery: ₦87,750")

    chat.run(ActionConfirmOrder, "yes", "affirm")
    with session_scope() as session:
        order = session.execute(select(Order).where(Order.tenant_id == "akanraby")).scalar_one()
        assert (order.subtotal_minor, order.discount_minor, order.total_minor, order.deposit_minor,
                order.balance_minor) == (19_500_000, 1_950_000, 17_550_000, 8_775_000, 8_775_000)
        assert [(line.sku, line.quantity, line.unit_price_minor, line.line_total_minor) for line in order.lines] == [
            ("AK-010", 30, 470_000, 14_100_000), ("AK-001", 12, 450_000, 5_400_000)]


def test_the_next_tier_is_offered_only_when_the_stock_allows_it(shops):
    chat = Chat(LAGOS)
    second = summary(chat.run(ActionUpdateSelection, "85 yards of sunflower fields", "select_fabric"))
    assert second == lines(
        "• Sunflower Fields (AK-010): 85 yards × ₦4,700 (wholesale from 30) = ₦399,500",
        "*Total: ₦399,500*",
        "Deposit to pay now (50%): *₦199,750*",
        "Balance before delivery: ₦199,750",
        "💡 Add 15 more yards of Sunflower Fields for ₦4,300 a yard: you'd save ₦40,000 on 100 yards.")

    update_fabric(tenant(), "AK-010", {"stock": "99"})  # 100 yards can no longer be sold
    shown = summary(chat.run(ActionUpdateSelection, "85 yards of sunflower fields", "select_fabric"))
    assert "💡" not in shown and "*Total: ₦399,500*" in shown


def test_accra_a_tier_in_pesewas_and_a_deposit_of_30_percent(shops):
    chat = Chat(ACCRA)
    close = summary(chat.run(ActionUpdateSelection, "55 yards of speed bird", "select_fabric"))
    assert close == lines(
        "• Speed Bird (KH-016): 55 yards × GH₵95 = GH₵5,225",
        "*Total: GH₵5,225*",
        "Deposit to pay now (30%): *GH₵1,567.50*",
        "Balance before delivery: GH₵3,657.50",
        "💡 Add 5 more yards of Speed Bird for GH₵85.50 a yard: 60 yards cost GH₵5,130, "
        "less than your 55 yards now (GH₵5,225).")

    wholesale = summary(chat.run(ActionUpdateSelection, "61 yards of speed bird", "select_fabric"))
    assert wholesale == lines(
        "• Speed Bird (KH-016): 61 yards × GH₵85.50 (wholesale from 60) = GH₵5,215.50",
        "*Total: GH₵5,215.50*",
        "Deposit to pay now (30%): *GH₵1,564.65*",
        "Balance before delivery: GH₵3,650.85")


def test_nairobi_tiers_by_the_pair_and_by_the_yard_with_an_amount_off(shops):
    chat = Chat(NAIROBI)
    close = summary(chat.run(ActionUpdateSelection, "9 pairs of harusi kanga", "select_fabric"))
    assert close == lines(
        "• Harusi Kanga (KC-014): 9 pairs × KSh 1,100 = KSh 9,900",
        "*Total: KSh 9,900*",
        "Deposit to pay now (40%): *KSh 3,960*",
        "Balance before delivery: KSh 5,940",
        "💡 Add 1 more pair of Harusi Kanga for KSh 990 a pair: you'd save KSh 1,100 on 10 pairs.")

    chat.run(ActionUpdateSelection, "10 pairs of harusi kanga", "select_fabric")
    chat.run(ActionUpdateSelection, "30 yards of safari rally", "select_fabric")
    shown = summary(chat.run(ActionApplyPromo, "nina code SHANGWE500", "apply_promo"))
    assert shown == lines(
        "• Harusi Kanga (KC-014): 10 pairs × KSh 990 (wholesale from 10) = KSh 9,900",
        "• Safari Rally (KC-025): 30 yards × KSh 380 (wholesale from 30) = KSh 11,400",
        "Subtotal: KSh 21,300",
        "Promo SHANGWE500 (KSh 500 off Safari Rally): -KSh 500",
        "*Total: KSh 20,800*",
        "Deposit to pay now (40%): *KSh 8,320*",
        "Balance before delivery: KSh 12,480")
    chat.run(ActionConfirmOrder, "yes", "affirm")
    with session_scope() as session:
        order = session.execute(select(Order).where(Order.tenant_id == "kitengenairobi")).scalar_one()
        assert (order.total_minor, order.deposit_minor, order.balance_minor) == (2_080_000, 832_000, 1_248_000)
        assert [(line.sku, line.unit_price_minor) for line in order.lines] == [("KC-014", 99_000), ("KC-025", 38_000)]


# ---------------------------------------------------------------- prices shown elsewhere


def test_price_answers_options_and_availability_mention_the_tiers(shops):
    lagos = Chat(LAGOS)
    said = texts(lagos.run(ActionAnswerPrice, "how much is sunflower fields", "ask_price"))
    assert said.split("\n")[0] == ("*Sunflower Fields* (AK-010) is ₦5,200 per yard; ₦4,700 from 30 yards, "
                                   "₦4,300 from 100 yards. Minimum 6 yards.")
    plain = texts(lagos.run(ActionAnswerPrice, "how much is marigold", "ask_price"))
    assert plain.split("\n")[0] == "*Marigold Bloom* (AK-001) is ₦4,500 per yard, minimum 6 yards."

    options = lagos.run(ActionOfferFabrics, "show me brocade", "browse")
    [caption] = [m["text"] for m in options if "BR-001" in (m.get("text") or "")]
    assert caption.split("\n")[1] == "₦6,500 per yard; ₦6,000 from 30 yards, ₦5,600 from 60 yards · minimum 10 yards"

    nairobi = Chat(NAIROBI)
    [shown] = [m["text"] for m in nairobi.run(ActionCheckAvailability, "do you have harusi kanga?",
                                              "check_availability") if "KC-014" in (m.get("text") or "")]
    assert shown.split("\n")[1] == "KSh 1,100 per pair; KSh 990 from 10 pairs · minimum 1 pair"

    accra = Chat(ACCRA)
    said = texts(accra.run(ActionAnswerPrice, "how much is speed bird", "ask_price"))
    assert said.split("\n")[0] == "*Speed Bird* (KH-016) is GH₵95 per yard; GH₵85.50 from 60 yards. Minimum 2 yards."


def test_the_model_may_quote_a_tier_price_but_not_an_invented_one(shops):
    lagos = tenant()
    assert problems("Sunflower Fields is ₦5,200 a yard, or ₦4,700 from 30 yards and ₦4,300 from 100.", lagos,
                    False) == []
    assert problems("From 30 yards Sunflower Fields is ₦4,650.", lagos, False) == [
        "price ₦4,650 is not in the catalog"]
    assert problems("Speed Bird is GH₵85.50 a yard from 60 yards.", tenant("kentehouse"), False) == []


# ---------------------------------------------------------------- uploads, edits and downloads


def shipped_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(catalog_path("akanraby").read_text(encoding="utf-8"))))


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("cell, problem", [  # Marigold Bloom: ₦4,500 a yard, minimum 6 yards
    ("30:4000;20:3800", "the quantities must go up: 20 comes after 30"),
    ("30:4000;30:3800", "the quantities must go up: 30 comes after 30"),
    ("30:4000;100:4000", "the price from 100 (₦4,000) must be below the one from 30 (₦4,000)"),
    ("30:4600", "the price from 30 (₦4,600) must be below the price (₦4,500)"),
    ("4:4000", "from 4 is not above the minimum order (6): every order would pay it; change the price instead"),
    ("6:4000", "from 6 is not above the minimum order (6): every order would pay it; change the price instead"),
    ("thirty:4000", "'thirty:4000' is not quantity:price (write them like 30:4000;100:3600)"),
    ("30:cheap", "'30:cheap' is not quantity:price (write them like 30:4000;100:3600)"),
    ("30", "'30' is not quantity:price (write them like 30:4000;100:3600)"),
    ("2.5:4000", "'2.5:4000' is not quantity:price (write them like 30:4000;100:3600)"),
    ("30:0", "the price from 30 must be more than 0"),
    ("30:3999.555", "the price from 30: '3999.555' has more decimals than NGN allows"),
    ("200000:4000", "from 200000: quantities go up to 100000"),
])
def test_a_bad_tiers_cell_is_refused_with_the_row_and_reason_and_the_old_catalog_kept(shops, cell, problem):
    rows = shipped_rows()
    at = rows[0].index("tiers")
    assert rows[1][0] == "AK-001"
    rows[1][at] = cell
    rows[2][5] = "5100"  # another change in the same file: nothing of it is applied either
    before = catalog_path("akanraby").read_bytes()

    report = apply_upload(tenant(), as_csv(rows), "catalog.csv")

    assert not report.ok and report.changes is None
    assert [(e.line, e.sku, e.column, e.problem) for e in report.errors] == [(2, "AK-001", "tiers", problem)]
    assert catalog_path("akanraby").read_bytes() == before and not backups("akanraby")
    assert tenant().catalog.get("AK-002").price_minor == 500_000 and tenant().catalog.get("AK-001").tiers == ()


def test_a_bad_tiers_cell_in_a_workbook_names_the_sheet_row(shops):
    data = xlsx([HEADER + ["tiers"],
                 ["XL-1", "Sheet Star", "ankara", "blue", "stars", 4000, "yard", 6, 240, None, "Nice", "30:3600"],
                 ["XL-2", "Sheet Moon", "ankara", "", "", 5000, "yard", 6, 80, None, None, "100:4500;50:4800"]])
    before = catalog_path("akanraby").read_bytes()
    report = apply_upload(tenant(), data, "catalog.xlsx")
    assert [(e.line, e.sku, e.column, e.problem) for e in report.errors] == [
        (3, "XL-2", "tiers", "the quantities must go up: 50 comes after 100")]
    assert catalog_path("akanraby").read_bytes() == before


def test_tiers_are_uploaded_as_owners_type_them_kept_in_downloads_and_backups(shops):
    rows = shipped_rows()
    at = rows[0].index("tiers")
    rows[1][at] = " 30 : ₦4,200 ; 100: N3,900.00 ;"
    before = catalog_path("akanraby").read_text(encoding="utf-8")
    report = apply_upload(tenant(), as_csv(rows), "catalog.csv")
    assert report.ok, report.errors
    assert report.to_dict()["changes"]["other_changes"] == [{"sku": "AK-001", "name": "Marigold Bloom",
                                                            "fields": ["tiers"]}]
    assert tenant().catalog.get("AK-001").tiers == (Tier(30, 420_000), Tier(100, 390_000))
    [kept] = backups("akanraby")
    assert kept.read_text(encoding="utf-8") == before and "30:4700;100:4300" in before  # the backup has them

    exported = list(csv.reader(io.StringIO(export_catalog_csv(tenant()).lstrip("\ufeff"))))
    assert exported[0][-1] == "tiers" and exported[1][-1] == "30:4200;100:3900"
    assert {r[0]: r[-1] for r in exported[1:]}["AK-010"] == "30:4700;100:4300"
    again = check_upload(tenant(), export_catalog_csv(tenant()).encode("utf-8"), "export.csv")
    assert again.ok and again.changes.summary()["unchanged"] == len(tenant().catalog.fabrics)


def test_workbooks_and_json_carry_tiers_too(shops):
    # Excel turns a lone "10:40" into a time of day and "30:45" into a duration; both are read as typed.
    data = xlsx([HEADER + ["tiers"],
                 ["XL-1", "Star", "ankara", "blue", "stars", 4000, "yard", 6, 240, None, "Nice", "30:3600;100:3300"],
                 ["XL-2", "Stole", "kente stole", "gold", "", 50, "piece", 1, 80, None, None, time(10, 40)],
                 ["XL-3", "Wax", "wax print", "", "", 50, "yard", 2, 80, None, None, timedelta(hours=30, minutes=45)]])
    report = apply_upload(tenant("kentehouse"), data, "catalog.xlsx")
    assert report.ok, report.errors
    catalog = tenant("kentehouse").catalog
    assert catalog.get("XL-1").tiers == (Tier(30, 360_000), Tier(100, 330_000))
    assert (catalog.get("XL-2").tiers, catalog.get("XL-3").tiers) == ((Tier(10, 4_000),), (Tier(30, 4_500),))

    fabrics = [{"sku": "JS-1", "name": "Jade", "category": "ankara", "price": 4500, "unit": "yard", "min_qty": 6,
                "stock": 12, "tiers": {"30": 4000, "100": "3,600"}},
               {"sku": "JS-2", "name": "Ruby", "category": "lace", "price": 120, "unit": "piece", "stock": 4,
                "tiers": "5:110"},
               {"sku": "JS-3", "name": "Opal", "category": "lace", "price": 120, "unit": "piece", "stock": 4}]
    assert apply_upload(tenant("kentehouse"), json.dumps(fabrics).encode(), "fabrics.json").ok
    catalog = tenant("kentehouse").catalog
    assert catalog.get("JS-1").tiers == (Tier(30, 400_000), Tier(100, 360_000))
    assert (catalog.get("JS-2").tiers, catalog.get("JS-3").tiers) == ((Tier(5, 11_000),), ())


def test_an_old_catalog_without_the_column_keeps_working_and_gets_it_when_a_fabric_is_given_tiers(shops):
    rows = [row[:len(HEADER)] for row in shipped_rows()]
    assert rows[0] == HEADER
    assert apply_upload(tenant(), as_csv(rows), "old.csv").ok
    assert not [f for f in tenant().catalog.fabrics if f.tiers]
    update_fabric(tenant(), "AK-002", {"stock": "170", "tiers": ""})  # the edit form sends every column
    assert catalog_path("akanraby").read_text(encoding="utf-8").split("\n")[0] == ",".join(HEADER)

    fabric = update_fabric(tenant(), "AK-002", {"tiers": "30:4600"})
    assert fabric.tiers == (Tier(30, 460_000),) and tenant().catalog.get("AK-002").tiers == (Tier(30, 460_000),)
    assert catalog_path("akanraby").read_text(encoding="utf-8").split("\n")[0] == ",".join(HEADER + ["tiers"])

    before = catalog_path("akanraby").read_bytes()
    with pytest.raises(CatalogError) as refused:
        update_fabric(tenant(), "AK-002", {"tiers": "3:4600"})
    assert [(e.column, e.problem) for e in refused.value.errors] == [
        ("tiers", "from 3 is not above the minimum order (6): every order would pay it; change the price instead")]
    with pytest.raises(CatalogError) as refused:
        update_fabric(tenant(), "AK-002", {"price": "4500"})  # now below the wholesale price
    assert [(e.column, e.problem) for e in refused.value.errors] == [
        ("tiers", "the price from 30 (₦4,600) must be below the price (₦4,500)")]
    assert catalog_path("akanraby").read_bytes() == before


def test_the_dashboard_lists_tiers_and_refuses_a_bad_edit_with_the_reason(client, shops):  # noqa: F811
    login(client, "owner@akanraby.test")
    page = client.get("/catalog").get_data(as_text=True)
    assert "tiers" in page.split('name="file"')[0]  # the upload names the optional column
    row = page.split('id="fabric-AK-010"')[1].split("</tr>")[0]
    assert "₦4,700 from 30" in row and "₦4,300 from 100" in row

    bad = post_form(client, "/catalog/fabric/AK-010", {"tiers": "30:4700;100:4800"}, page="/catalog")
    assert bad.status_code == 422
    assert re.search(r"the price from 100 \(₦4,800\) must be below the one from 30 \(₦4,700\)",
                     bad.get_data(as_text=True).replace("&#39;", "'"))
    assert tenant().catalog.get("AK-010").tiers[1].price_minor == 430_000
    good = post_form(client, "/catalog/fabric/AK-010", {"tiers": "40:4600"}, page="/catalog")
    assert good.status_code == 302 and tenant().catalog.get("AK-010").tiers == (Tier(40, 460_000),)
