"""Does an answer claim only what the tenant's data says? Every amount of money, sku, code-like
word, percentage and long number in it must be the tenant's; anything else means the model
made it up, and the customer never sees it."""
from __future__ import annotations

import re

from grace.tenants import Tenant

_MONEY = re.compile(r"(?:₦|NGN|N|GH₵|GHS|\$|USD|KES|KSh|#)\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?", re.I)
_MONEY_AFTER = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d{3,})\s?(?:naira|cedis?|dollars?|k\b)", re.I)
_SKU = re.compile(r"\b[A-Z]{2,4}-\d{2,4}\b")
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{4,15}\b")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_LONG_NUMBER = re.compile(r"\b\d{8,}\b")


def _major(minor: int) -> set[int]:
    return {minor // 100} if minor % 100 == 0 else set()


def problems(answer: str, tenant: Tenant, account_allowed: bool) -> list[str]:
    """What in the answer is not the tenant's (empty: the answer may be sent)."""
    found = []
    prices = set()
    for fabric in tenant.catalog.fabrics:
        prices |= _major(fabric.price_minor)
    amounts = [m.group(1) for m in _MONEY.finditer(answer)] + [m.group(1) for m in _MONEY_AFTER.finditer(answer)]
    for amount in amounts:
        if int(amount.replace(",", "")) not in prices:
            found.append(f"price {amount} is not in the catalog")
    skus = {f.sku for f in tenant.catalog.fabrics}
    for sku in _SKU.findall(answer):
        if sku not in skus:
            found.append(f"sku {sku} is not in the catalog")
    codes = {p.code.upper() for p in tenant.promotions if p.is_valid_on(tenant.now().date())}
    for code in _CODE.findall(answer):
        if code not in codes and not _SKU.fullmatch(code):
            found.append(f"code {code} is not a live promotion")
    percents = {float(tenant.deposit_percent)} | {float(p.percent_off) for p in tenant.promotions
                                                  if p.is_valid_on(tenant.now().date())}
    for percent in _PERCENT.findall(answer):
        if float(percent) not in percents:
            found.append(f"{percent}% is neither the deposit nor a live promotion")
    for number in _LONG_NUMBER.findall(answer):
        if number != tenant.payment.account_number or not account_allowed:
            found.append(f"number {number} is not one Grace may give")
    return found

