"""Money as integer minor units (kobo, cents): exact sums, explicit rounding."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents; anything not listed has two decimals (NGN kobo, GHS pesewas, KES cents).
_EXPONENTS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                     "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
_SYMBOLS = {"NGN": "₦", "GHS": "GH₵", "KES": "KSh ", "USD": "$", "GBP": "£", "EUR": "€", "ZAR": "R"}


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: str | int | float | Decimal, currency: str) -> int:
    """Parse a major-unit amount ("4500", "4,500.50") into minor units, exactly."""
    text = str(amount).strip().replace(",", "").replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not an amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount!r} has more decimals than {currency} allows")
    return int(scaled)


def percent_of(minor: int, percent: int | float | Decimal) -> int:
    """`percent`% of an amount, rounded half up to the minor unit."""
    share = Decimal(minor) * Decimal(str(percent)) / Decimal(100)
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(minor: int, currency: str) -> str:
    """₦4,500 or ₦4,500.50: decimals only when there is something after the point."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    major, rest = divmod(abs(minor), 10**exp) if exp else (abs(minor), 0)
    symbol = _SYMBOLS.get(currency.upper(), currency.upper() + " ")
    text = f"{major:,}"
    if rest:
        text += f".{rest:0{exp}d}"
    return f"{sign}{symbol}{text}"
