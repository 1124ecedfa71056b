"""Reading a receipt's text: the amount sent among balances and fees, the date, the order reference,
the receiving account, and the verdict ops see. Texts as Tesseract reads the drawn receipts (₦ comes
out as "#" or a quote), then a few drawn receipts read end to end."""
from __future__ import annotations

import pytest

from grace.money import format_money
from grace.shop.proof_check import ocr_text, open_picture
from grace.understanding.receipts import judge, order_reference, read_receipt
from tests.receipts import SHOPS, make_receipt

MOMO = """MobileMoney
Payment made for GHS 84.00 to
KENTE HOUSE ENTERPRISE
0244000001. Current Balance: GHS
30,249.44. Available Balance: GHS
30,249.44. Reference: KHA-3ZP9T.
Transaction ID: 06690743915. Fee
charged: GHS 0.00 TAX charged: GHS
0.12. Date: 04/04/2026 1:41 PM."""

MPESA = """MPESA
QK12AB34CD Confirmed. Ksh12,600.00
sent to KITENGE CORNER NAIROBI
for account KCN-M4WX8 on 2/10/26 at
8:59 AM New M-PESA balance is
Ksh3,866.96. Transaction cost,
Ksh0.00. Amount you can transact
within the day is 499,489.00."""

BANK = """Transfer Successful
"45,000.00
Amount NGN 45,000.00
BeneficianAKANRABYATUCHE FABRICS LTD
Beneficiary Account 0123456789
Narration AKA-7KQ2M
Transaction Date 07 Apr 2026, 9:53 PM
Session ID 62328601290404796669"""


def naira(minor: int) -> str:
    return format_money(minor, "NGN")


def test_a_momo_confirmation_gives_the_amount_sent_not_the_balance_or_tax():
    reading = read_receipt(MOMO, "GHS", order_prefix="KHA")
    assert (reading.amount_minor, reading.reference, reading.account, reading.date) == (
        8400, "KHA-3ZP9T", "0244000001", "2026-04-04")


def test_an_mpesa_message_gives_the_amount_sent_and_the_account_field():
    reading = read_receipt(MPESA, "KES", order_prefix="KCN")
    assert (reading.amount_minor, reading.reference, reading.date) == (1_260_000, "KCN-M4WX8", "2026-10-02")
    assert reading.account is None  # the transaction code and the limit are no account


def test_a_bank_receipt_with_the_naira_sign_misread():
    reading = read_receipt(BANK, "NGN", order_prefix="AKA")
    assert (reading.amount_minor, reading.reference, reading.account, reading.date) == (
        4_500_000, "AKA-7KQ2M", "0123456789", "2026-04-07")
    assert reading.narration == "AKA-7KQ2M"


def test_an_amount_in_another_currency_is_not_read_as_this_one():
    assert read_receipt(MPESA, "NGN", order_prefix="AKA").amount_minor is None


def verdict(text: str, expected: int, reference: str = "AKA-7KQ2M", account: str = "0123456789"):
    reading = read_receipt(text, "NGN", order_prefix="AKA")
    return judge(reading, expected_minor=expected, reference=reference, account_number=account, money=naira)


def test_verdicts_as_ops_read_them():
    assert verdict(BANK, 4_500_000).verdict == "match"
    wrong = verdict(BANK, 5_000_000)
    assert wrong.verdict == "mismatch" and wrong.reasons == ["the receipt says ₦45,000, ₦50,000 was expected"]
    elsewhere = verdict(BANK.replace("0123456789", "2098765432"), 4_500_000)
    assert elsewhere.verdict == "mismatch" and "2098765432" in elsewhere.reasons[0]
    # The reference alone is enough (an M-Pesa paybill prints no account), and so is the account alone.
    assert verdict(BANK.replace("Beneficiary Account 0123456789", ""), 4_500_000).verdict == "match"
    assert verdict(BANK.replace("AKA-7KQ2M", "school fees"), 4_500_000).verdict == "match"
    # Right amount, nothing tying it to this business or order: ops look at the picture.
    bare = BANK.replace("Beneficiary Account 0123456789", "").replace("AKA-7KQ2M", "school fees")
    assert verdict(bare, 4_500_000).verdict == "unreadable"
    assert verdict("a photo of a dress", 4_500_000).verdict == "unreadable"


@pytest.mark.parametrize("seed,style", [(3, "nigerian_bank"), (4, "opay_card"), (1, "momo_confirmation"),
                                        (2, "mpesa_sms"), (5, "dark_mode")])
def test_drawn_receipts_read_end_to_end(seed, style):
    receipt = make_receipt(seed, style)
    text = ocr_text(open_picture(receipt.image))
    reading = read_receipt(text, receipt.currency, order_prefix=SHOPS[receipt.tenant_id].prefix)
    assert reading.amount_minor == receipt.amount_minor, text
    assert reading.date == receipt.date, text


@pytest.mark.parametrize(("printed", "expected", "read"), [
    ("Reference KCN-UXHSS8", "KCN-UXHS8", "KCN-UXHS8"),  # a letter doubled (dark mode, seen in a run)
    ("Reference KCN-PANS}", "KCN-PANSJ", "KCN-PANSJ"),  # the J read as a brace
    ("Ref: kcn uxh8", "KCN-UXHS8", "KCN-UXHS8"),  # a letter dropped
    ("Narration KCN-UX HS8", "KCN-UXHS8", "KCN-UXHS8"),  # split in two where the glyphs sit apart
    ("Narration KCN-UXHS8 paid", "KCN-UXHS8", "KCN-UXHS8"),  # written against the next word
    ("Narration KCN-UX HS8 paid", "KCN-UXHS8", "KCN-UXHS8"),
    ("Narration KCN-UX fabric", "KCN-UXHS8", None),  # a piece of it is not it
    ("Remark KCN-C8FOW", "KCN-C8F9W", "KCN-C8F9W"),  # a 9 read as an O still looks like a reference
    ("Reference KCN-UXHSS8", None, None),  # without the order's own reference, no guess
    ("Reference KCN-ABQXYZ", "KCN-UXHS8", None),  # not this order's: more than one slip away
    ("Reference KCN-ABQXY", "KCN-UXHS8", "KCN-ABQXY"),  # another order's, read as printed (ops see it differs)
])
def test_the_orders_own_reference_is_recognised_through_one_ocr_slip(printed, expected, read):
    assert order_reference(f"Transfer successful\n{printed}\nAmount KSh 12,345", "KCN", expected) == read
