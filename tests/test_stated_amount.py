"""The amount a customer says they paid, as ops see it beside the expected deposit (grace.shop.payments
stated_amount), and money in the model's answers (grace.llm.grounding): one reader of amounts,
grace.understanding.amounts.find_money.

Messages as customers in Lagos, Accra and Nairobi send them with a proof of payment: Pidgin, Yoruba,
Twi, Sheng and Swahili mixes, bank alerts and receipts pasted in, MoMo and M-Pesa confirmations. The
amount is exact, in minor units of the order's currency (kobo, pesewas, cents); never an account,
phone, date, time, order reference or transaction id; None rather than a guess.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.deposit import ActionRecordPayment
from actions.fabrics import ActionOfferFabrics
from actions.ordering import ActionConfirmOrder
from actions.selection import ActionUpdateSelection
from grace.llm.grounding import problems
from grace.shop.payments import stated_amount
from grace.store import session_scope
from grace.store.models import Notification, Payment
from grace.tenancy.registry import get_registry
from tests.helpers import Chat

MPESA_SENT = ("QHX7Y8Z9 Confirmed. Ksh12,600.00 sent to KITENGE CORNER for account KCN8KDZ5 on 28/11/26 at 3:14 PM "
              "New M-PESA balance is Ksh1,230.50")
MPESA_PAYBILL = ("RKT4ABC123 Confirmed. Ksh6,300.00 sent to KITENGE CORNER for account KCN-M4WX8 on 28/11/26 at "
                 "10:05 AM New M-PESA balance is Ksh2,001.00. Transaction cost, Ksh0.00.Amount you can transact "
                 "within the day is 493,700.00. Save frequent paybills for quick payment on M-PESA app")
MPESA_TILL = ("SKL2M3N4P5 Confirmed. Ksh6,300.00 paid to KITENGE CORNER. on 28/11/26 at 10:05 AM.New M-PESA balance "
              "is Ksh2,001.00. Transaction cost, Ksh0.00. Amount you can transact within the day is 493,700.00.")
MTN_MOMO = ("Payment made for GHS 84.00 to KENTE HOUSE ENTERPRISE. Current Balance: GHS 120.50. Available Balance: "
            "GHS 120.50. Reference: KHA-3ZP9T. Transaction ID: 41234567890. Fee charged: GHS 0.00 TAX charged: "
            "GHS 0.00.")
TELECEL_CASH = ("You have sent GHS84.00 to 0201234567 KENTE HOUSE on 28/11/2026 at 15:14. Your balance is GHS16.50. "
                "Fee GHS0.84, E-levy GHS0.00. Transaction ID: 0000012345.")
GTBANK_ALERT = ("GTBank Alert [DR] Acct: 012****789 Amt: NGN45,000.00 Desc: TRF TO AKANRABY FABRICS/0123456789 "
                "Date: 28-Nov-2026 15:14 Avail Bal: NGN123,456.78")
OPAY_RECEIPT = ("Transfer Successful\n₦45,000.00\nRecipient: AKANRABY FABRICS\nMoniepoint | 8012345678\n"
                "Transaction No.: 231128010100123456789\nSession ID: 100004231128151415123456789012\n"
                "28 Nov 2026, 15:14:07")
FIRSTBANK_ALERT = ("Txn: Debit Acct: 30****6789 Amt: NGN 45,000.00 Desc: NIP/AKANRABY FABRICS/AKA-7KQ2M "
                   "Bal: NGN 1,230.50 Date: 28/11/2026 3:14PM")


@pytest.mark.parametrize(("currency", "message", "minor"), [
    # Lagos: Pidgin, Yoruba, bank alerts and receipts
    ("NGN", "Transfer of N45,000 to 0123456789", 4_500_000),
    ("NGN", "I don pay 45k", 4_500_000),
    ("NGN", "I don pay 45K o, abeg confirm am", 4_500_000),
    ("NGN", "Ma I have sent ₦45,000 to your GTB account 0123456789, order AKA-7KQ2M", 4_500_000),
    ("NGN", "Oga I don transfer 22.5k, na the deposit for AKA-7KQ2M", 2_250_000),
    ("NGN", "#45,000 don enter your account sir, check am", 4_500_000),
    ("NGN", "I paid 45000", 4_500_000),
    ("NGN", "Mo ti san 22,500 naira, e jo e check", 2_250_000),
    ("NGN", "Na 20k I send now, balance 25k I go pay tomorrow", 2_000_000),
    ("NGN", "paid 45k for order AKA-7KQ2M at 3:14pm on 28/11/26", 4_500_000),
    ("NGN", "I paid N 45,000 from my Kuda, session ID 100004231128151415123456789012", 4_500_000),
    ("NGN", "Transferred ₦45,000.50, sorry the 50 kobo na bank charge", 4_500_050),
    ("NGN", "I sent 2.5m for the bulk order, call me on 08031234567", 250_000_000),
    ("NGN", "payment of NGN45,000.00 to AKANRABY FABRICS was successful. Fee: NGN10.75", 4_500_000),
    ("NGN", "sent 45k and 5k, the 5k na for delivery", 4_500_000),
    ("NGN", GTBANK_ALERT, 4_500_000),
    ("NGN", OPAY_RECEIPT, 4_500_000),
    ("NGN", FIRSTBANK_ALERT, 4_500_000),
    # Accra: Twi and Ghanaian Pidgin, MoMo confirmations
    ("GHS", "sent GHS 84 via momo ref 7751234", 8_400),
    ("GHS", "Mede GH₵84 akɔ wo momo so, mesrɛ wo hwɛ", 8_400),
    ("GHS", "Charley I don send 84 cedis", 8_400),
    ("GHS", "Matua sika no, 84.50 cedis", 8_450),
    ("GHS", "paid ghc 1,250 for the kente, ref KHA-3ZP9T", 125_000),
    ("GHS", "Me de GH¢ 100 ama wo, balance GH¢ 68 next week", 10_000),
    ("GHS", "Paid 1.2k, please check", 120_000),
    ("GHS", "I paid 84", 8_400),
    ("GHS", "Transfer of GHS 84 from 0244123456", 8_400),
    ("GHS", MTN_MOMO, 8_400),
    ("GHS", TELECEL_CASH, 8_400),
    # Nairobi: Sheng and Swahili, M-Pesa confirmations
    ("KES", "paid 12,600 bob, mpesa code QHX7Y8Z9", 1_260_000),
    ("KES", "Nimetuma 12k kwa mpesa", 1_200_000),
    ("KES", "Nimelipa KES 6,300 deposit", 630_000),
    ("KES", "Boss nimesend 6300/= saa hii", 630_000),
    ("KES", "Nimetuma 6k, 300 bob nitatuma kesho", 600_000),
    ("KES", "sent 12,600/=", 1_260_000),
    ("KES", "Paid Sh 12,600 to till 5123456", 1_260_000),
    ("KES", "Nimekutumia Ksh. 6,300 kwa till number 5123456", 630_000),
    ("KES", "nimelipa 12600", 1_260_000),
    ("KES", MPESA_SENT, 1_260_000),
    ("KES", MPESA_PAYBILL, 630_000),
    ("KES", MPESA_TILL, 630_000),
])
def test_the_amount_the_customer_paid_in_minor_units(currency, message, minor):
    assert stated_amount(message, currency) == minor


@pytest.mark.parametrize(("currency", "message"), [
    # no amount at all: numbers that are accounts, phones, dates, times, references
    ("NGN", "paid"),
    ("NGN", ""),
    ("NGN", "Hello ma, how far? I don pay"),
    ("NGN", "I don pay, see the screenshot 🙏🏾"),
    ("NGN", "paid on 28/11/2026"),
    ("NGN", "Paid. Acct 0123456789"),
    ("NGN", "sent it at 3:14pm today"),
    ("NGN", "+234 803 123 4567 na my number, I don pay"),
    ("NGN", "I paid for AKA-7KQ2M"),
    ("GHS", "momo no akɔ, ref 7751234"),
    ("KES", "nimetuma, code QHX7Y8Z9"),
    ("KES", "nimelipa paybill 000111 account KCN-M4WX8"),
    # a bare number beside other numbers, or too small to be a payment: not guessed
    ("NGN", "I paid 45000 to 0123456789"),
    ("NGN", "I paid 5"),
    ("GHS", "I paid 84 at 15:14"),
    ("KES", "Till number 5123456, nimelipa 12600"),
    # only a balance or a fee
    ("NGN", "Avail Bal: NGN123,456.78"),
    ("GHS", "Fee charged: GHS 0.00"),
    # another currency than the order's: never converted
    ("NGN", "Paid $30"),
    ("NGN", "I don send GHS 84"),
    ("GHS", "Sent ₦45,000"),
    ("KES", "paid $100 via wise"),
    ("KES", "Nimetuma UGX 50,000"),
    ("NGN", "I paid £20, my sister sent it from London"),
])
def test_no_amount_rather_than_a_wrong_one(currency, message):
    assert stated_amount(message, currency) is None


def place_order(chat: Chat) -> str:
    chat.run(ActionOfferFabrics, "I want red ankara with flowers", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    chat.pick_up()
    chat.run(ActionConfirmOrder, "yes", "affirm")
    return chat.slots["order_ref"]


def test_ops_see_the_amount_paid_not_the_account_number(grace_env):
    chat = Chat()
    reference = place_order(chat)
    chat.run(ActionRecordPayment, "Transfer of N45,000 to 0123456789", "inform_paid")
    with session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert payment.stated_amount_minor == 4_500_000
        ops = session.execute(select(Notification).where(Notification.audience == "ops")).scalar_one()
        assert ops.payload["stated_minor"] == 4_500_000
        assert "customer says ₦45,000" in ops.payload["summary"] and "123,456,789" not in ops.payload["summary"]
        assert reference in ops.payload["summary"]


def test_ops_see_no_amount_when_the_customer_states_none(grace_env):
    chat = Chat()
    place_order(chat)
    chat.run(ActionRecordPayment, "I don pay, acct 0123456789", "inform_paid")
    with session_scope() as session:
        assert session.execute(select(Payment)).scalar_one().stated_amount_minor is None
        ops = session.execute(select(Notification).where(Notification.audience == "ops")).scalar_one()
        assert ops.payload["stated_minor"] is None and "customer says" not in ops.payload["summary"]


# ---------------------------------------------------------------- the same reader in the answer guard

@pytest.mark.parametrize(("tenant_id", "answer", "wrong"), [
    ("akanraby", "Marigold Bloom (AK-001) is ₦4,500 per yard 🌼", []),
    ("akanraby", "Royal Ivory lace is 45k per piece, N45,000 exactly", []),
    ("akanraby", "Marigold Bloom is just 4k per yard today!", ["price 4k is not in the catalog"]),
    ("akanraby", "Marigold Bloom is ₦4,500.99 per yard", ["price ₦4,500.99 is not in the catalog"]),
    ("akanraby", "We deliver in 3 days 🚚 and you can pick 2 colours", []),
    ("akanraby", "Option #2 is Lagos Sunset", []),
    ("akanraby", "Lagos Sunset is about $30 per yard", ["price $30 is not in the catalog"]),
    ("kentehouse", "Sika Futuro is GH¢ 6,500 for the full cloth", []),
    ("kentehouse", "Sika Futuro is GH¢ 650 for the full cloth", ["price GH¢ 650 is not in the catalog"]),
    ("kitengenairobi", "Mama Mboga ni 380 bob per yard", []),
    ("kitengenairobi", "Mama Mboga ni 320/= per yard", ["price 320/= is not in the catalog"]),
    ("kitengenairobi", "A swatch pack is 300/= within Nairobi", []),  # the FAQ says KES 300
])
def test_the_guard_reads_money_in_answers_as_customers_do(grace_env, tenant_id, answer, wrong):
    tenant = get_registry().get(tenant_id)
    assert [p for p in problems(answer, tenant, account_allowed=False) if p.startswith("price")] == wrong
