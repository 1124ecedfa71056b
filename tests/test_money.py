import pytest

from grace.money import MoneyError, format_money, percent_of, to_minor


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
