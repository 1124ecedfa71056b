"""A sold-out fabric: Grace offers to tell the customer when it is back (tenants with `follow_ups:
restock_alerts: true`, customers on WhatsApp, who can be written to later), and reads the answer.

The answer is read in the customer's words whatever intent NLU gives it ("yes pls", "ok tell me", "abeg
let me know", "sawa niambie"): pending.settle hands it here first. A yes records a restock alert (the
outbox tells them once the fabric is back: grace.shop.follow_ups); a no is acknowledged; anything else is
moving on, and records nothing. Either way the question is asked once: it drops with the next message.
A yes that carries a request of its own ("yes, and 6 yards of Sunday Best") is kept and the request answered.
"""
from __future__ import annotations

import re

from actions.base import Turn
from grace.messaging.inbound import is_whatsapp_customer
from grace.shop.follow_ups import wait_for_restock, waiting_skus
from grace.shop.orders import join_words
from grace.shop.stock import available_stock
from grace.tenancy.catalog import Fabric

SLOT = "restock_asked"

# A yes however it is said (English, Pidgin, Twi, Swahili and Sheng), and the asking for the alert itself.
_YES = re.compile(
    r"\b(yes+|yeah|yea|yep|yup|yh|ya+s+|sure|definitely|of course|please do|pls do|do am|do it|go ahead|"
    r"ndio|ndiyo|eeh|aane|tell me|let me know|lemme know|let me hear|notify me|inform me|message me|"
    r"msg me|text me|ping me|buzz me|alert me|remind me|update me|holla|hala|keep me posted|add me|"
    r"put me down|count me in|i go wait|i dey wait|i will wait|i'?ll wait|niambie|nijulishe|nitumie|"
    r"nishtue|nicheki|niarifu|nitext|nipigie)\b|👍|✅|🙏|🔔", re.I)
# Words that agree without saying much ("ok", "sawa"): a yes only when the message is nothing else.
_WEAK_YES = re.compile(r"\b(ok+|okay|okey|kk|k|alright|aight|fine|cool|great|perfect|oya|ehen|ehn|sawa|poa|"
                       r"no wahala|no problem|no p|yoo|safi|sharp)\b|👌", re.I)
_NO = re.compile(
    r"\b(no+|nope|nah|naa|not really|no thanks?|no need|not needed|not necessary|don'?t bother|dont bother|"
    r"never ?mind|nevermind|forget it|leave it|leave am|e no need|no worry|no worries|i'?m good|i dey okay|"
    r"hapana|sitaki|acha|wacha|dabi|daabi|not interested|i'?ll pass|pass)\b|👎", re.I)
# What may surround the answer without being a request of its own.
_FILLER = frozenset(
    "a an the it its it's is are when if once e don land come comes back return returns restock restocked "
    "in stock available again that one this me i my we us you u una please pls plz abeg kindly just so then "
    "and o oo ooo na jo jare biko thanks thank tafadhali asante here on whatsapp dear sis bro ma sir madam "
    "ikirudi ikifika ikiingia mkiipata ukiipata kama ni hiyo hii am good okay im i'm".split())
_WORD = re.compile(r"[a-z0-9']+")


def offer_restock_alert(turn: Turn, fabrics: list[Fabric]) -> None:
    """After "sold out": offer to tell the customer when these fabrics are back (last in the turn's replies,
    so their next message answers it). Once per turn; fabrics they already wait for are said to be."""
    if not fabrics or not turn.tenant.follow_ups.restock_alerts or not is_whatsapp_customer(turn.customer_key):
        return
    if any(e.get("event") == "slot" and e.get("name") == SLOT and e.get("value") for e in turn.events):
        return  # offered already in this turn
    waiting = waiting_skus(turn.session, turn.tenant.id, turn.customer_key)
    unique = list({f.sku: f for f in fabrics}.values())
    new = [f for f in unique if f.sku not in waiting]
    if len(new) < len(unique):
        turn.say("restock_already_waiting", names=_names(turn, [f for f in unique if f.sku in waiting]))
    if new:
        turn.say("restock_offer_several" if len(new) > 1 else "restock_offer", names=_names(turn, new))
        turn.set(SLOT, [f.sku for f in new])


def sold_out_among(turn: Turn, fabrics: list[Fabric]) -> list[Fabric]:
    """The fabrics of these that are sold out now."""
    left = available_stock(turn.session, turn.tenant, [f.sku for f in fabrics])
    return [f for f in fabrics if left.get(f.sku, 0) <= 0]


def settle_restock_answer(turn: Turn) -> bool:
    """Read the message as the answer to "shall I tell you when it's back?" (when Grace asked it): True when
    that was the whole message."""
    asked = [s for s in turn.slot(SLOT) or [] if isinstance(s, str)]
    if not asked:
        return False
    turn.set(SLOT, None)  # asked once: whatever the answer, not asked again
    fabrics = [f for f in (turn.tenant.catalog.get(sku) for sku in asked) if f]
    answer, more = read_answer(turn, {f.sku for f in fabrics})
    if answer == "yes" and fabrics:
        keep_waiting(turn, fabrics)
        return not more
    if answer == "no" and not more:
        turn.say("restock_declined")
        return True
    return False  # they moved on: their message is answered as itself


def read_answer(turn: Turn, asked: set[str]) -> tuple[str | None, bool]:
    """("yes" / "no" / None, whether the message also asks for something else)."""
    text = turn.text.lower()
    for entity in turn.entities("fabric"):  # the asked fabric named again is part of the answer
        if str(entity.get("value")) in asked and entity.get("start") is not None and entity.get("end") is not None:
            start, end = int(entity["start"]), int(entity["end"])
            text = text[:start] + " " * (end - start) + text[end:]
    other = any(str(e.get("value")) not in asked for e in turn.entities("fabric")) or any(
        turn.entities(kind) for kind in ("quantity", "ordinal", "promo_code", "order_ref", "budget"))
    strong_yes = bool(_YES.search(text)) or turn.intent == "affirm"
    weak_yes = bool(_WEAK_YES.search(text))
    rest = _WORD.findall(_NO.sub(" ", _WEAK_YES.sub(" ", _YES.sub(" ", text))))
    leftover = [w for w in rest if w not in _FILLER]
    no = bool(_NO.search(_WEAK_YES.sub(" ", text))) or turn.intent == "deny"  # "no wahala" agrees
    pure = not other and len(leftover) <= 2
    more = other or not pure
    if strong_yes and no:  # "no no, tell me when it's back" / "yes... no, leave it": only a clear ask counts
        asks = re.search(r"\b(tell|let|notify|inform|message|text|ping|remind|alert|niambie|nijulishe)\b", text)
        return ("yes" if asks else None), more
    if strong_yes or (weak_yes and pure):
        return "yes", more
    if no:
        return "no", more
    return None, more


def keep_waiting(turn: Turn, fabrics: list[Fabric]) -> None:
    """Record the yes: a fabric back in stock meanwhile is said to be, the others are waited for."""
    back = [f for f in fabrics if f not in sold_out_among(turn, fabrics)]
    waiting = [f for f in fabrics if f not in back]
    for fabric in back:
        turn.say("restock_back_now", name=fabric.name, unit_plural=fabric.unit_plural(2))
    if waiting:
        wait_for_restock(turn.session, turn.tenant, turn.customer_key, [f.sku for f in waiting])
        turn.say("restock_waiting_several" if len(waiting) > 1 else "restock_waiting", names=_names(turn, waiting))
    if turn.stage in ("reviewing", "awaiting_payment"):
        turn.resume()  # an order still waits on them: that question comes back


def _names(turn: Turn, fabrics: list[Fabric]) -> str:
    return join_words(turn.tenant, [f.name for f in fabrics], "list_and")
