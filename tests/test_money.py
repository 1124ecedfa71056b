import pytest

from grace.money import MoneyError, exponent, format_money, percent_of, to_minor


def test_amounts_are_exact_minor_units():
    assert to_minor("4,500", "NGN") == 450000
    assert to_minor("4500.5", "NGN") == 450050
    assert to_minor("1500", "JPY") == 1500
    with pytest.raises(MoneyError):
        to_minor("4500.555", "NGN")
    with pytest.raises(MoneyError):
        to_minor("abc", "NGN")


def test_deposit_rounds_half_up_and_deposit_plus_balance_is_the_total():
    assert percent_of(1001, 50) == 501  # 500.5 kobo -> 501
    for total in (1, 999, 1001, 123457):
        deposit = percent_of(total, 50)
        assert deposit + (total - deposit) == total
    assert percent_of(10000, 33.3) == 3330


def test_money_is_shown_with_the_currency():
    assert format_money(450000, "NGN") == "₦4,500"
    assert format_money(450050, "NGN") == "₦4,500.50"
    assert format_money(1500, "GHS") == "GH₵15"
    assert format_money(-250, "USD") == "-$2.50"


def test_minor_units_follow_the_iso_4217_exponent():
    for currency in ("NGN", "GHS", "KES", "USD", "GBP", "EUR", "TZS"):
        assert exponent(currency) == 2
    for currency in ("XOF", "XAF", "UGX", "RWF", "GNF", "BIF", "JPY"):
        assert exponent(currency) == 0
    for currency in ("KWD", "BHD", "JOD", "OMR", "TND", "LYD", "IQD"):
        assert exponent(currency) == 3
    assert to_minor("25000", "XOF") == 25_000 and to_minor("12.345", "TND") == 12_345
    with pytest.raises(MoneyError):
        to_minor("25000.50", "XAF")
    assert format_money(25_000, "XOF") == "XOF 25,000"
