"""Does an answer claim only what the tenant's data says? Every amount of money, sku, code-like
word, percentage, long number and named fabric in it must be the tenant's; anything else means
the model made it up, and the customer never sees it."""
from __future__ import annotations

import re

from grace.tenancy.registry import Tenant
from grace.understanding.amounts import find_money

_SKU = re.compile(r"\b[A-Z]{2,4}-\d{2,4}\b")
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{4,15}\b")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_LONG_NUMBER = re.compile(r"\b\d{8,}\b")
# Kinds of fabric a model may name a made-up print after ("our Golden Sunrise ankara"), besides the
# tenant's own categories.
FABRIC_KINDS = ("ankara", "adire", "kente", "lace", "george", "aso-oke", "aso oke", "voile", "brocade", "batik",
                "damask", "chiffon", "satin", "silk", "wax", "print", "prints", "fabric")
# Capitalised words that start a sentence or praise a fabric without naming one.
_NOT_A_NAME = {"our", "the", "a", "an", "this", "that", "these", "those", "my", "your", "new", "beautiful", "lovely",
               "fine", "classic", "premium", "original", "authentic", "real", "pure", "quality", "best", "top",
               "bright", "bold", "rich", "soft", "nigerian", "ghanaian", "african", "yoruba", "igbo", "hausa",
               "dutch", "holland", "hollandis", "wholesale", "bridal", "wedding", "owambe", "aso-ebi", "yes",
               "try", "see", "get", "buy", "check", "love", "pick", "choose", "but", "and", "or", "so", "i", "we",
               "you", "with", "for", "oga", "madam", "abeg", "hmm", "ehen", "omo", "wow", "oh", "ah", "what", "which",
               "any", "some", "more", "other", "every", "each", "how", "whose", "all", "one"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def problems(answer: str, tenant: Tenant, account_allowed: bool) -> list[str]:
    """What in the answer is not the tenant's (empty: the answer may be sent)."""
    found = []
    live = [p for p in tenant.promotions if p.is_valid_on(tenant.now().date())]
    # the catalog's prices and wholesale tier prices, and what the live codes take off or ask for
    # ("GH₵150 off above GH₵1,000")
    prices = {fabric.price_minor for fabric in tenant.catalog.fabrics} | {
        tier.price_minor for fabric in tenant.catalog.fabrics for tier in fabric.tiers} | {
        amount for p in live for amount in (p.amount_off_minor, p.min_total_minor) if amount}
    for amount in find_money(answer):  # with a currency or a multiplier ("₦4,500", "45k"), as customers read it
        if amount.minor(tenant.currency) not in prices:
            found.append(f"price {amount.text} is not in the catalog")
    skus = {f.sku for f in tenant.catalog.fabrics}
    for sku in _SKU.findall(answer):
        if sku not in skus:
            found.append(f"sku {sku} is not in the catalog")
    codes = {p.code.upper() for p in live}
    for code in _CODE.findall(answer):
        if code not in codes and not _SKU.fullmatch(code):
            found.append(f"code {code} is not a live promotion")
    percents = {float(tenant.deposit_percent)} | {float(p.percent_off) for p in live if p.percent_off}
    for percent in _PERCENT.findall(answer):
        if float(percent) not in percents:
            found.append(f"{percent}% is neither the deposit nor a live promotion")
    for number in _LONG_NUMBER.findall(answer):
        if number != tenant.payment.account_number or not account_allowed:
            found.append(f"number {number} is not one Grace may give")
    found.extend(f"fabric {name!r} is not in the catalog" for name in unknown_fabric_names(answer, tenant))
    return found


def unknown_fabric_names(answer: str, tenant: Tenant) -> list[str]:
    """Names given to a fabric ("Golden Sunrise ankara", "our Velvet Dusk lace") that are none of the
    tenant's: capitalised words right before a kind of fabric, less the words that only describe it
    (colours, patterns, kinds, praise)."""
    catalog = tenant.catalog
    kinds = sorted({*FABRIC_KINDS, *catalog.categories}, key=len, reverse=True)
    named = re.compile(r"((?:[A-Z][A-Za-z'’-]*\s+){1,4})(?i:" + "|".join(re.escape(k) for k in kinds) + r")\b")
    names = {f.name.lower() for f in catalog.fabrics}
    name_words = {w for name in names for w in _WORD.findall(name)}
    describing = {w for c in catalog.colors | catalog.patterns | catalog.categories for w in _WORD.findall(c)}
    unknown = []
    for match in named.finditer(answer):
        words = match.group(1).split()
        while words and words[0].lower() in _NOT_A_NAME:
            words.pop(0)
        claimed = " ".join(words)
        if not words or claimed.lower() in names:
            continue
        if all(w.lower() in describing or w.lower() in _NOT_A_NAME for w in words):
            continue  # "Royal Blue ankara", "Bright Floral lace": a description, not a name
        if all(w.lower() in name_words for w in words) and any(claimed.lower() in n for n in names):
            continue  # part of a real name ("Ivory lace" for Royal Ivory)
        unknown.append(claimed)
    return unknown

