"""Reading a customer's message against the tenant's live catalog and settings: pure Python, no Rasa.

    extract(tenant, text) -> list[Entity]     the entities in the first 1,000 characters; never raises
    index_for(tenant) -> TenantIndex          the tenant's index, cached, rebuilt when its files change
    parse_money(text, currency) -> int|None   "5k", "GHS 200", "1500 bob" in minor units (grace.money)
    only_a_number(text) -> int|float|None     "12 pls", "ok twelve": a message that is a number alone

Each Entity has entity, value, start, end (offsets in the text), confidence and text (the words
as written); Entity.as_rasa() is the Rasa entity dict. The values:

    fabric      the sku ("AK-001"), from a name, part of one, a misspelling or the sku itself,
                sold-out fabrics too; confidence is the match score (1.0 for an sku or a full name);
                a fabric's own colour word pointed at ("the ochre one" for Ochre Ripple when no
                fabric is ochre) is the fabric, a colour many fabrics have stays a colour
    category    a catalog category ("lace"); a word several categories share stands for itself
                ("kente" in a shop with asante kente and ewe kente); not in the shop's own name
                ("hello Kente House")
    colour      a catalog colour ("royal blue") or a common colour word ("purple", Swahili "kijani")
    pattern     a catalog pattern ("floral" also for "flowers")
    budget      an int: minor units of the tenant's currency ("under 5k" -> 500000 for NGN)
    quantity    {"amount": int (a float for "2.5 yards", "half a yard"), "unit": "yard"|"piece"|"bundle"|"metre"|
                "roll"|"pair"|"set"|"bale"|None}; None when the customer wrote a bare amount
                ("give me 10 of it", "make it 20"): the fabric's own unit
    ordinal     an int from 1: "the second one", "number 3", "namba 2", "number two", "#2", "2nd"; -1 for
                "the last one"
    promo_code  the code upper-cased without spaces ("akwaaba 15" -> "AKWAABA15"), the tenant's
                own (valid or expired, confidence 1.0) or one that only looks like a code (0.8)
    order_ref   "AKA-7KQ2M" (the tenant's prefix, any case, with or without the dash)

Spans: a fabric's words as written ("marigld", "lagos sunset"; "sunset" in "the sunset one"); a
budget with its limit word ("under 5k", "less than 1500 bob"); a quantity with its unit ("12 yards",
only the number for a bare amount); an ordinal's word or its cue and number ("second", "2nd",
"number 3", "#2"; the next numbers of a list alone: "4" in "number 2 and 4"). Entities never overlap:
an order reference, a known code, an sku, a budget, a quantity, an ordinal, a fabric name, an unknown
code, a category, a pattern, a colour, in that order, keep their characters.
"""
from grace.understanding.amounts import only_a_number, parse_money
from grace.understanding.extract import EXTRACTOR, Entity, extract, extract_with
from grace.understanding.index import TenantIndex, clear_cache, index_for
from grace.understanding.text import MAX_CHARS

__all__ = ["EXTRACTOR", "MAX_CHARS", "Entity", "TenantIndex", "clear_cache", "extract", "extract_with",
           "index_for", "only_a_number", "parse_money"]
