"""Confirming an order (stock held, payment requested), cancelling it, its status."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from actions.base import GraceAction, Turn
from actions.delivery import ask_delivery, delivery_choice, forget_delivery, needs_choice
from grace.messaging.notifications import notify_ops
from grace.payments.links import open_link
from grace.shop.customers import remember_preferences
from grace.shop.orders import (
    OPEN_STATUSES,
    build_quote,
    customer_orders,
    latest_order,
    order_by_reference,
    order_history,
    place_order,
    unpaid_orders,
)
from grace.shop.stock import OutOfStock, hold_ended, set_reservations
from grace.store.models import Handoff, InboundMessage, Order, Payment, utcnow


def payment_request(turn: Turn, key: str, order: Order | None = None, **params) -> None:
    """The bank details (message `key`) and, when the business takes payment links, the checkout link for the
    deposit of the order awaiting it, in the same message: `order`, else the one `reference` names, else the
    customer's latest. A link the provider could not make is left out; the bank details always go."""
    payment = turn.tenant.payment
    turn.say(key, bank=payment.bank_name, account_name=payment.account_name,
             account_number=payment.account_number, instructions=payment.instructions, **params)
    if turn.tenant.payment_links:
        customer, reference = turn.customer(), params.get("reference")
        order = order or (order_by_reference(turn.session, turn.tenant.id, reference) if reference else None) \
            or latest_order(turn.session, turn.tenant.id, customer.id, ("awaiting_payment",))
        holding = order is not None and order.customer_id == customer.id and order.status == "awaiting_payment" \
            and (order.hold_expires_at is None or order.hold_expires_at > utcnow())
        link = open_link(turn.session, turn.tenant, order) if order is not None and holding else None
        if order is not None and link is not None:
            turn.replies[-1]["text"] += "\n\n" + turn.wording(
                "payment_link_line", amount=turn.money(link.amount_minor), reference=order.reference, url=link.url)
    if payment.sample:
        turn.say("sample_bank_note")


class ActionConfirmOrder(GraceAction):
    action_name = "action_confirm_order"

    def act(self, turn: Turn) -> None:
        selection = list(turn.slot("selection") or [])
        code, today = turn.slot("promo_code"), turn.tenant.now().date()
        customer = turn.customer()
        history = order_history(turn.session, turn.tenant.id, customer.id)
        delivery = delivery_choice(turn)
        quote = build_quote(turn.tenant, selection, code, today, history, delivery=delivery)
        if not quote.lines:
            turn.say("confirm_nothing")
            turn.set("funnel_stage", "browsing")
            return
        if code and quote.promotion is None and build_quote(turn.tenant, selection, code, today).promotion:
            # The summary gave the discount, but this customer may no longer use the code (an order placed
            # meanwhile): never place it at another price than the one they said yes to.
            turn.say("promo_invalid", reason=quote.promo_problem)
            turn.say("confirm_again_without_code", total=turn.money(quote.total_minor),
                     deposit=turn.money(quote.deposit_minor))
            turn.set("promo_code", None)
            turn.set("funnel_stage", "reviewing")
            return
        unpaid = unpaid_orders(turn.session, turn.tenant.id, customer.id, utcnow())
        if len(unpaid) >= turn.tenant.max_unpaid_orders and not is_retry(turn):
            # Each unpaid order holds stock: a customer (or someone posing as many) cannot hold it all.
            turn.say("too_many_unpaid", count=len(unpaid), references=", ".join(o.reference for o in unpaid))
            return
        if needs_choice(turn):  # never placed without pickup or delivery: the total depends on it
            ask_delivery(turn)
            return
        try:
            order = already_placed(turn, customer.id) or place_order(turn.session, turn.tenant, customer, quote)
        except OutOfStock as exc:
            turn.session.rollback()
            details = []
            for sku, left in exc.shortages.items():
                fabric = turn.tenant.catalog.get(sku)
                assert fabric is not None  # the quote's fabrics come from this catalog
                details.append(f"{fabric.name}: {left} {fabric.unit_plural(left)} left")
            turn.say("stock_gone_at_confirm", details="; ".join(details))
            turn.set("funnel_stage", "reviewing")
            return
        remember_preferences(customer, skus=[line.sku for line in order.lines])
        payment_request(turn, "order_placed", order, reference=order.reference,
                        deposit=turn.money(order.deposit_minor), hold_hours=f"{turn.tenant.hold_hours:g}")
        for name, value in (("order_ref", order.reference), ("selection", []), ("promo_code", None),
                            ("funnel_stage", "awaiting_payment")):
            turn.set(name, value)
        forget_delivery(turn)  # the next order may go elsewhere: asked again


def is_retry(turn: Turn) -> bool:
    """This very message placed an order already (the sender retried after a lost answer)."""
    message_id = str(turn.metadata.get("message_id") or "")[:128]
    return bool(message_id) and turn.session.execute(select(InboundMessage.id).where(
        InboundMessage.tenant_id == turn.tenant.id, InboundMessage.channel == "order",
        InboundMessage.message_id == message_id)).first() is not None


def already_placed(turn: Turn, customer_id: int) -> Order | None:
    """The order this very message placed, when the sender's retry runs the turn again (a replica
    died after the order was stored but before Rasa saved the turn). The marker commits with the
    order or not at all, so a message places at most one order."""
    message_id = str(turn.metadata.get("message_id") or "")
    if not message_id:
        return None
    try:
        with turn.session.begin_nested():
            turn.session.add(InboundMessage(tenant_id=turn.tenant.id, channel="order", message_id=message_id[:128]))
    except IntegrityError:
        return latest_order(turn.session, turn.tenant.id, customer_id)
    return None


class ActionCancelOrder(GraceAction):
    action_name = "action_cancel_order"

    def act(self, turn: Turn) -> None:
        if turn.slot("selection"):
            turn.set("selection", [])
            turn.set("funnel_stage", "browsing")
            forget_delivery(turn)
            turn.say("cancel_selection")
            return
        customer = turn.customer()
        order = latest_order(turn.session, turn.tenant.id, customer.id, OPEN_STATUSES + ("deposit_paid",))
        if order is None:
            turn.say("cancel_nothing")
        elif order.status == "awaiting_payment":
            order.status = "cancelled"
            set_reservations(turn.session, order, "released")
            turn.say("cancel_order", reference=order.reference)
            turn.set("funnel_stage", "start")
        else:  # money may have changed hands: a person decides
            turn.session.add(Handoff(tenant_id=turn.tenant.id, customer_id=customer.id,
                                     conversation_id=turn.tracker.sender_id, message_text=turn.text[:2000]))
            notify_ops(turn.session, turn.tenant, "cancel_request",
                       f"Customer {customer.name or customer.phone} wants to cancel paid order {order.reference}",
                       order_reference=order.reference, customer=customer.phone)
            turn.say("cancel_paid", reference=order.reference)


# Orders a customer may still ask about: not cancelled or expired, not delivered long ago.
TRACKED = ("awaiting_payment", "payment_submitted", "deposit_paid", "in_production", "ready", "shipped")


def order_line(turn: Turn, order: Order) -> dict:
    items = ", ".join(f"{line.quantity} {line.unit}{'s' if line.quantity != 1 else ''} {line.name}"
                      for line in order.lines)
    if order.status == "expired" and order.hold_expires_at is not None:
        checking = turn.session.execute(select(Payment.id).where(  # a late proof the team is looking at
            Payment.tenant_id == turn.tenant.id, Payment.order_id == order.id, Payment.status == "pending")).first()
        status = turn.wording("status_expired_checking" if checking else "status_expired_on",
                              day=hold_ended(turn.tenant, order))
    else:
        status = turn.wording(f"status_{order.status}", deposit=turn.money(order.deposit_minor))
    return {"reference": order.reference, "items": items, "status": status}


def describe_open_orders(turn: Turn) -> bool:
    """Tell the customer where each of their open orders stands; False when they have none."""
    orders = customer_orders(turn.session, turn.tenant.id, turn.customer().id, TRACKED)
    if not orders:
        return False
    if len(orders) == 1:
        turn.say("order_status", **order_line(turn, orders[0]))
    else:
        turn.say("order_status_several", count=len(orders))
        for order in orders:
            turn.say("order_status_line", **order_line(turn, order))
    turn.set("order_ref", orders[0].reference)
    return True


class ActionOrderStatus(GraceAction):
    """By reference ("status of AKA-7KQ2M", only the customer's own), else every open order, else the latest."""

    action_name = "action_order_status"

    def act(self, turn: Turn) -> None:
        reference = turn.entity("order_ref")
        if reference:
            order = order_by_reference(turn.session, turn.tenant.id, str(reference))
            if order is None or order.customer_id != turn.customer().id:  # never another customer's order
                turn.say("order_status_unknown", reference=reference, example=f"{turn.tenant.order_prefix}-7KQ2M")
                return
            turn.say("order_status", **order_line(turn, order))
            turn.set("order_ref", order.reference)
            return
        if describe_open_orders(turn):
            return
        order = latest_order(turn.session, turn.tenant.id, turn.customer().id)
        if order is None:
            turn.say("order_status_none")
            return
        turn.say("order_status", **order_line(turn, order))
