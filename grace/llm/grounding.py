"""Does an answer claim only what is true for this tenant and this conversation? Every amount of money,
percentage, code, sku, long number, link and named fabric in it must be one of the facts: the tenant's
data (catalog and tier prices, promotions, delivery fees, the amounts, percentages, numbers and links
its policies, FAQ and payment instructions state) or what was worked out in this conversation (the
selection's quote, what Grace or the team already said, the customer's budget, the customer's
quantities at the catalog's prices). Anything else means the model made it up, and the customer
never sees it.

Money is read with the shop's one reader (grace.understanding.amounts.find_money), in the answer as in
the facts: a currency marker or a multiplier makes a number money ("₦4,500", "GHS 40-80", "1500 NGN",
"2k"), and so does price wording ("5,000 per yard"); a bare number ("in 2 days", "we open 9", "Shop
14", "6 yards") is not. An amount in another currency than the tenant's is never a fact. Not checked:
sums the model works out itself beyond the customer's own quantities (a price times a quantity
nobody asked about), and discounts promised without a number ("half price").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from grace.llm.prompt import Context
from grace.money import percent_of
from grace.shop.orders import MAX_QUANTITY, Quote, build_quote
from grace.tenancy.registry import Promotion, Tenant
from grace.understanding.amounts import find_budgets, find_money, find_quantities, per_unit, word_number

_SKU = re.compile(r"^[A-Z]{2,4}-\d{2,4}$")
# Upper-case words with a letter and a digit ("GRACE90", "AK-001", "AKA-7KQ2M"), less times, ordinals,
# sizes and amounts written in capitals ("10AM", "60TH", "12YDS", "45K").
_CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9-]{4,})(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_NOT_A_CODE = re.compile(r"^(?:\d+(?:AM|PM|ST|ND|RD|TH|K|M|YDS?|HRS?|MINS?|KG|GB|MB|G)"
                         r"|(?:NGN|GHS|GHC|KES|KSHS?|USD|GBP|EUR|XOF|XAF|UGX|TZS|N)\d[\d-]*)$")
_PERCENT = re.compile(r"(?i)(?<![\w.])(?P<num>\d+(?:\.\d+)?|[a-z]+(?:[ -][a-z]+)?)\s?(?:%|percent\b|per\s?cent\b)")
_OFF_AFTER = re.compile(r"(?i)\s*(?:off|discount)\b")
# Long digit runs, grouped or not ("0123456789", "+234 803 123 4567"): accounts and phones.
_LONG_NUMBER = re.compile(r"(?<![\w+.,/])\+?\d{2,}(?:[ -]\d{2,}){0,4}(?![\w.,/]?\d)")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LINK = re.compile(
    r"(?i)(?:\bhttps?://|\bwww\.)[^\s<>\"'()\[\]]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|net|org|ng|gh|ke|co|io|shop|store|africa|biz|info|me|app|link|ly|page|site|online"
    r"|example)\b(?:/[^\s<>\"'()\[\]]*)?")
_TRAILING = ".,!?;:'\")]"
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


@dataclass
class Facts:
    """What an answer may state: amounts in minor units of the tenant's currency (and of those, the ones
    that are the price of one unit), percentages, codes, long numbers (digits only), the hosts of the
    tenant's own links and links said in the conversation."""

    amounts: set[int] = field(default_factory=set)
    unit_prices: set[int] = field(default_factory=set)
    percents: set[Decimal] = field(default_factory=set)
    discounts: set[Decimal] = field(default_factory=set)  # percentages said to come off a price
    codes: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)

    def read(self, text: str, currency: str) -> None:
        """Take in every amount, percentage, code, long number and link that `text` states."""
        for amount in find_money(text, priced=True):
            money = amount.minor(currency)
            if money is not None:
                self.amounts.add(money)
                if per_unit(text, amount):
                    self.unit_prices.add(money)
        for match in _PERCENT.finditer(text):
            said = percents(match.group(0))
            self.percents.update(said)
            if _OFF_AFTER.match(text, match.end()):
                self.discounts.update(said)
        self.codes.update(code for code in _CODE.findall(text) if not _NOT_A_CODE.match(code))
        self.numbers.update(digits(n) for n in long_numbers(text))
        for link in links(text):
            self.links.add(link.lower())
            self.hosts.add(host(link))


def percents(text: str) -> list[Decimal]:
    """The percentages written in `text` ("10%", "50 percent", "fifteen per cent")."""
    found = []
    for match in _PERCENT.finditer(text):
        written = match.group("num")
        if written[0].isdigit():
            try:
                found.append(Decimal(written))
            except InvalidOperation:
                continue
            continue
        words = written.lower().replace("-", " ")
        value = word_number(words)
        if value is None and " " in words:
            value = word_number(words.split()[-1])  # "take fifty percent"
        if value is not None:
            found.append(Decimal(value))
    return found


def long_numbers(text: str) -> list[str]:
    return [m.group(0) for m in _LONG_NUMBER.finditer(text)
            if len(digits(m.group(0))) >= 8 and not _ISO_DATE.match(m.group(0))]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def links(text: str) -> list[str]:
    return [m.group(0).rstrip(_TRAILING) for m in _LINK.finditer(text)]


def host(link: str) -> str:
    address = link if "://" in link else "http://" + link.split("@")[-1]
    name = (urlsplit(address).hostname or "").lower()
    return name[4:] if name.startswith("www.") else name


def live_promotions(tenant: Tenant, today: date) -> list[Promotion]:
    return [p for p in tenant.promotions if p.is_valid_on(today)]


# The tenant's facts, read once per version of its data and day (reading its texts and catalog cost
# about 3 ms an answer). The catalog is kept beside them so its id is not reused while cached.
_TENANT_FACTS: dict[tuple, tuple[object, Facts]] = {}
_TENANT_FACTS_KEPT = 64


def tenant_facts(tenant: Tenant, today: date) -> Facts:
    """What the tenant's own data states (not to be changed: it is shared between answers)."""
    key = (tenant.id, today, id(tenant.catalog), tenant.currency, tenant.deposit_percent, tenant.promotions,
           tenant.delivery, tenant.faq, tuple(sorted(tenant.policies.items())), tenant.payment,
           tenant.whatsapp_numbers, tenant.image_base_url)
    cached = _TENANT_FACTS.get(key)
    if cached is not None and cached[0] is tenant.catalog:
        return cached[1]
    facts = _read_tenant_facts(tenant, today)
    if len(_TENANT_FACTS) >= _TENANT_FACTS_KEPT:
        _TENANT_FACTS.pop(next(iter(_TENANT_FACTS)), None)
    _TENANT_FACTS[key] = (tenant.catalog, facts)
    return facts


def _read_tenant_facts(tenant: Tenant, today: date) -> Facts:
    facts = Facts()
    live = live_promotions(tenant, today)
    for fabric in tenant.catalog.fabrics:
        facts.unit_prices.add(fabric.price_minor)
        facts.unit_prices.update(tier.price_minor for tier in fabric.tiers)
        # the smallest line a customer may order: "minimum 6 yards, ₦27,000"
        facts.amounts.add(fabric.unit_price_minor(fabric.min_qty) * fabric.min_qty)
        facts.codes.add(fabric.sku.upper())
        if fabric.image_url:
            facts.hosts.add(host(fabric.image_url))
    for promotion in live:
        facts.amounts.update(a for a in (promotion.amount_off_minor, promotion.min_total_minor) if a)
        if promotion.percent_off:
            facts.percents.add(Decimal(str(promotion.percent_off)))
            facts.discounts.add(Decimal(str(promotion.percent_off)))
        facts.codes.add(promotion.code.upper())
    facts.percents.add(Decimal(str(tenant.deposit_percent)))
    facts.amounts.update(facts.unit_prices)
    if tenant.delivery is not None:
        facts.amounts.add(0)  # free delivery, free pickup
        facts.amounts.update(zone.fee_minor for zone in tenant.delivery.zones)
        if tenant.delivery.free_above_minor:
            facts.amounts.add(tenant.delivery.free_above_minor)
    texts = [*tenant.policies.values(), *(f"{e.q} {e.a}" for e in tenant.faq), tenant.payment.instructions,
             *(p.description for p in live)]
    if tenant.delivery is not None and tenant.delivery.pickup is not None:
        texts += [tenant.delivery.pickup.address, tenant.delivery.pickup.note]
    for text in texts:
        facts.read(text, tenant.currency)
    for number in tenant.whatsapp_numbers:
        facts.numbers.add(digits(number))
    if tenant.image_base_url:
        facts.hosts.add(host(tenant.image_base_url))
    return facts


def quote_amounts(tenant: Tenant, quote: Quote) -> set[int]:
    """Every amount a quote states (lines, subtotal, discount, total, deposit, balance, and whatever
    else it counts in minor units, such as a delivery fee), and the total, deposit and balance with each
    of the tenant's delivery fees."""
    amounts: set[int] = set()
    for line in quote.lines:
        amounts.update((line.unit_price_minor, line.total_minor))
    for name in dir(quote):
        if name.endswith("_minor"):
            value = getattr(quote, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                amounts.add(value)
    fees = {0} | ({zone.fee_minor for zone in tenant.delivery.zones} if tenant.delivery else set())
    for fee in fees:
        total = quote.total_minor + fee
        deposit = percent_of(total if tenant.deposit_includes_delivery else quote.total_minor, tenant.deposit_percent)
        amounts.update((total, deposit, total - deposit))
    return amounts


def conversation_facts(tenant: Tenant, context: Context, question: str, today: date) -> Facts:
    """What this conversation worked out: the selection's quote (without a code and with each live
    one), what Grace and the shop's team said, the customer's budget, and the customer's quantities
    at each fabric's price for that quantity (with the deposit on it)."""
    facts = Facts()
    if context.selection:
        for code in [None, *(p.code for p in live_promotions(tenant, today))]:
            facts.amounts.update(quote_amounts(tenant, build_quote(tenant, context.selection, code, today)))
    customer_texts = [question]
    for speaker, said in context.history:
        if speaker == "customer":
            customer_texts.append(said)
        else:
            facts.read(said, tenant.currency)
    quantities: set[int] = set()
    for said in customer_texts:
        low = said.lower()
        facts.amounts.update(int(found.value) for found in find_budgets(low, tenant.currency)
                             if isinstance(found.value, int))
        for found in find_quantities(low):
            amount = found.value.get("amount") if isinstance(found.value, dict) else None
            if isinstance(amount, (int, float)) and float(amount).is_integer() and 1 <= amount <= MAX_QUANTITY:
                quantities.add(int(amount))
        # the customer's own order references ("where is AKA-7KQ2M?")
        facts.codes.update(re.findall(rf"\b{re.escape(tenant.order_prefix)}-[A-Z0-9]{{5}}\b", said.upper()))
    for quantity in quantities:
        for fabric in tenant.catalog.fabrics:
            line = fabric.unit_price_minor(quantity) * quantity
            facts.amounts.update((line, percent_of(line, tenant.deposit_percent)))
    return facts


def problems(answer: str, tenant: Tenant, account_allowed: bool, context: Context | None = None,
             question: str = "") -> list[str]:
    """What in the answer is not a fact of the tenant or of this conversation (`context`, and the
    customer's `question` it answers); empty: the answer may be sent."""
    today = tenant.now().date()
    facts = tenant_facts(tenant, today)
    said = conversation_facts(tenant, context or Context(stage="", selection=[], history=[]), question, today)
    found = []
    amounts = facts.amounts | said.amounts
    unit_prices = facts.unit_prices | said.unit_prices
    for amount in find_money(answer, priced=True):
        money = amount.minor(tenant.currency)
        if money not in amounts:
            found.append(f"price {amount.text} is not in the catalog")
        elif per_unit(answer, amount) and money not in unit_prices:
            # "2k per yard" where ₦2,000 is the swatch fee: an amount of the shop's, but no price of a yard
            found.append(f"price {amount.text} is not in the catalog as the price of one unit")
        if amount.currencies and tenant.currency not in amount.currencies:
            found.append(f"{amount.text} is not in {tenant.currency}, the only currency this shop quotes")
    known_percents, discounts = facts.percents | said.percents, facts.discounts | said.discounts
    for match in _PERCENT.finditer(answer):
        off = _OFF_AFTER.match(answer, match.end())
        for value in percents(match.group(0)):
            if off and value not in discounts:
                # "50 percent off" at a shop whose deposit is 50%: a real percentage, an invented discount
                found.append(f"{match.group(0)} off is not a live promotion")
            elif not off and value not in known_percents and value != 100:  # "100% handwoven"
                found.append(f"{match.group(0)} is neither the deposit, a live promotion nor in the shop's "
                             "policies")
    codes = facts.codes | said.codes
    for code in _CODE.findall(answer):
        if code in codes or _NOT_A_CODE.match(code):
            continue
        found.append(f"sku {code} is not in the catalog" if _SKU.match(code)
                     else f"code {code} is not a live promotion")
    numbers = facts.numbers | said.numbers
    account = digits(tenant.payment.account_number)
    for number in long_numbers(answer):
        written = digits(number)
        if written == account:
            if not account_allowed:
                found.append(f"number {number} is not one Grace may give")
        elif not any(written == known or (written.startswith("0") and known.endswith(written[1:])
                                          and len(written) >= 9) for known in numbers):
            found.append(f"number {number} is not one Grace may give")
    for link in links(answer):
        if link.lower() not in said.links and host(link) not in facts.hosts:
            found.append(f"link {link} is not the shop's")
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
