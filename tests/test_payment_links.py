"""Payment links: the summary after YES carries the provider's checkout link beside the bank details, and the
provider's webhook settles the order. The providers are local fakes that check and sign as Paystack and Stripe
do; the webhooks are the production channels served by a real Sanic server."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sanic import Sanic
from sqlalchemy import select

from actions.deposit import ActionPaymentDetails
from actions.fabrics import ActionOfferFabrics
from actions.ordering import ActionConfirmOrder
from actions.selection import ActionUpdateSelection
from connectors.payments import PaystackWebhook, StripeWebhook
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.store import session_scope
from grace.store.models import Notification, Order, Payment, PaymentLink, utcnow
from grace.tenancy.registry import get_registry
from tests.fakes.paystack_api import FakePaystack
from tests.fakes.stripe_api import FakeStripe
from tests.helpers import Chat, free_port, texts

AKANRABY_KEY, KENTE_KEY = "sk_test_akanraby_paystack", "sk_test_kentehouse_paystack"
KITENGE_KEY, KITENGE_WHSEC = "sk_test_kitenge_stripe", "whsec_kitenge_test"
LAGOS, NAIROBI = "+2348011111111", "+254711111111"


@pytest.fixture
def paystack(grace_env, monkeypatch) -> Iterator[FakePaystack]:
    with FakePaystack(secret_keys=(AKANRABY_KEY, KENTE_KEY)) as fake:
        monkeypatch.setenv("PAYSTACK_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("AKANRABY_PAYSTACK_SECRET_KEY", AKANRABY_KEY)
        monkeypatch.setenv("KENTEHOUSE_PAYSTACK_SECRET_KEY", KENTE_KEY)
        yield fake


@pytest.fixture
def stripe_fake(grace_env, monkeypatch) -> Iterator[FakeStripe]:
    with FakeStripe(secret_key=KITENGE_KEY, webhook_secret=KITENGE_WHSEC) as fake:
        monkeypatch.setenv("STRIPE_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("KITENGE_STRIPE_SECRET_KEY", KITENGE_KEY)
        monkeypatch.setenv("KITENGE_STRIPE_WEBHOOK_SECRET", KITENGE_WHSEC)
        yield fake


@pytest.fixture(scope="module")
def webhook_server() -> Iterator[str]:
    """The payment channels as Rasa mounts them (/webhooks/<name>/...), on a real Sanic server in a thread of
    its own. One per module: Sanic rewrites its request handling once per process at start-up."""
    app = Sanic("payment_webhooks")
    for channel in (PaystackWebhook(), StripeWebhook()):
        app.blueprint(channel.blueprint(None), url_prefix=f"/webhooks/{channel.name()}")  # type: ignore[arg-type]
    port, loop, ready = free_port(), asyncio.new_event_loop(), threading.Event()
    servers = []

    async def start() -> None:
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        await server.before_start()
        await server.after_start()
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(30), "the webhook server did not start"
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(servers[0].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def webhooks(grace_env, webhook_server) -> str:
    """The webhooks' base URL, answering from this test's store and tenants (both read per request)."""
    return webhook_server


def place_through_chat(chat: Chat) -> str:
    """Red ankara chosen, picked up at the showroom, YES: the order the customer placed."""
    chat.run(ActionOfferFabrics, "I want red ankara with flowers", "describe_fabric")
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    chat.slots.update(delivery_method="pickup", delivery_asked=None)  # as if they answered "pickup"
    chat.replies = chat.run(ActionConfirmOrder, "yes", "affirm")  # type: ignore[attr-defined]
    return chat.slots["order_ref"]


def place(tenant_id: str, phone: str) -> str:
    """An order placed as the confirm action places it, for the first fabric in stock."""
    tenant = get_registry().get(tenant_id)
    fabric = next(f for f in tenant.catalog.fabrics if f.stock >= max(f.min_qty, 1))
    quote = build_quote(tenant, [{"sku": fabric.sku, "qty": max(fabric.min_qty, 1)}], None, tenant.now().date())
    with session_scope() as session:
        return place_order(session, tenant, get_or_create_customer(session, tenant.id, phone), quote).reference


def order_of(reference: str) -> Order:
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        session.expunge(order)
        return order


def links_of(reference: str) -> list[tuple]:
    with session_scope() as session:
        return [(link.provider, link.kind, link.status, link.amount_minor, link.currency, link.url, link.reference)
                for link in session.scalars(select(PaymentLink).join(Order).where(Order.reference == reference)
                                            .order_by(PaymentLink.id))]


def payments_of(reference: str) -> list[tuple]:
    with session_scope() as session:
        return [(p.status, p.kind, p.provider, p.provider_reference, p.expected_minor, p.stated_amount_minor, p.late)
                for p in session.scalars(select(Payment).join(Order).where(Order.reference == reference)
                                         .order_by(Payment.id))]


def notifications(kind: str, tenant_id: str) -> list[dict]:
    with session_scope() as session:
        return [dict(n.payload, recipients=n.recipients) for n in session.scalars(
            select(Notification).where(Notification.kind == kind, Notification.tenant_id == tenant_id)
            .order_by(Notification.id))]


def linked_order(tenant_id: str, phone: str) -> tuple[str, str]:
    """An order of this customer, asked "how do I pay?": (order reference, the link's provider reference)."""
    reference = place(tenant_id, phone)
    said = texts(Chat(f"{tenant_id}:{phone}").run(ActionPaymentDetails, "how do I pay", "ask_payment_details"))
    [link] = links_of(reference)
    assert link[5] in said
    return reference, link[6]


# --- the link in the summary -------------------------------------------------------------------------------------


def test_the_summary_after_yes_carries_the_paystack_link_beside_the_bank_details(paystack):
    tenant = get_registry().get("akanraby")
    chat = Chat()
    reference = place_through_chat(chat)
    order = order_of(reference)
    [(provider, kind, status, amount, currency, url, ours)] = links_of(reference)
    assert (provider, kind, status, amount, currency) == ("paystack", "deposit", "open", order.deposit_minor, "NGN")
    [sent] = paystack.initialized
    assert sent["amount"] == order.deposit_minor and sent["currency"] == "NGN" and sent["reference"] == ours
    assert sent["email"] == "2348011111111.akanraby@example.com"
    assert sent["metadata"] == {"tenant": "akanraby", "order_reference": reference, "kind": "deposit"}
    assert sent["callback_url"] == f"https://wa.me/{tenant.whatsapp_numbers[0].lstrip('+')}"
    assert url.startswith("https://checkout.paystack.com/")
    # asked again how to pay, the customer gets the same link; Paystack is not asked for another
    again = texts(chat.run(ActionPaymentDetails, "how do I pay", "ask_payment_details"))
    assert url in again and tenant.payment.account_number in again and len(paystack.initialized) == 1


def test_the_link_is_in_the_same_message_as_the_bank_details(paystack):
    tenant = get_registry().get("akanraby")
    chat = Chat()
    reference = place_through_chat(chat)
    replies = chat.replies  # type: ignore[attr-defined]
    [link] = links_of(reference)
    summary = next(r["text"] for r in replies if reference in r["text"])
    assert tenant.payment.account_number in summary and link[5] in summary
    assert order_of(reference).status == "awaiting_payment"


def test_a_provider_that_fails_or_a_missing_key_leaves_the_bank_details_and_the_order(paystack, monkeypatch):
    tenant = get_registry().get("akanraby")
    paystack.fail_next(500)
    chat = Chat()
    reference = place_through_chat(chat)
    said = texts(chat.run(ActionPaymentDetails, "how do I pay", "ask_payment_details"))  # the next try works
    assert tenant.payment.account_number in said and links_of(reference)[0][5] in said

    monkeypatch.delenv("AKANRABY_PAYSTACK_SECRET_KEY")
    other = Chat("akanraby:+2348022222222")
    reference = place_through_chat(other)
    said = texts(other.run(ActionPaymentDetails, "how do I pay", "ask_payment_details"))
    assert tenant.payment.account_number in said and "checkout" not in said
    assert links_of(reference) == [] and order_of(reference).status == "awaiting_payment"


def test_no_link_once_the_deposit_is_in_or_the_hold_has_lapsed(paystack):
    reference = place("akanraby", LAGOS)
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.hold_expires_at = utcnow() - timedelta(minutes=5)
    said = texts(Chat(f"akanraby:{LAGOS}").run(ActionPaymentDetails, "how do I pay", "ask_payment_details"))
    assert "checkout" not in said and paystack.initialized == []


def test_stripe_checkout_link_for_a_stripe_business(stripe_fake):
    reference, session_id = linked_order("kitengenairobi", NAIROBI)
    order = order_of(reference)
    [session] = stripe_fake.sessions
    assert session["id"] == session_id and session["amount_total"] == order.deposit_minor
    assert session["currency"] == "kes" and session["client_reference_id"] == reference
    assert session["metadata"] == {"tenant": "kitengenairobi", "order_reference": reference, "kind": "deposit"}


# --- the webhooks ------------------------------------------------------------------------------------------------


def test_a_signed_paystack_payment_is_verified_with_paystack_then_the_order_is_paid(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    event = paystack.pay(ours)
    status, body = paystack.send_webhook(f"{webhooks}/webhooks/paystack/akanraby", event)
    assert (status, body) == (200, '{"status":"verified"}')
    assert paystack.verifications == [ours]
    order = order_of(reference)
    assert order.status == "deposit_paid"
    assert payments_of(reference) == [("verified", "deposit", "paystack", ours, order.deposit_minor,
                                       order.deposit_minor, False)]
    assert links_of(reference)[0][2] == "paid"
    [told] = notifications("payment_verified", "akanraby")
    assert told["order_reference"] == reference and told["recipients"] == [f"akanraby:{LAGOS}"]

    # the same event again (Paystack retries): nothing changes, the customer is not told twice
    assert paystack.send_webhook(f"{webhooks}/webhooks/paystack/akanraby", event) == (200, '{"status":"repeat"}')
    assert len(payments_of(reference)) == 1 and len(notifications("payment_verified", "akanraby")) == 1


def test_a_forged_paystack_webhook_is_refused_and_changes_nothing(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    event = paystack.pay(ours)
    url = f"{webhooks}/webhooks/paystack/akanraby"
    assert paystack.send_webhook(url, event, secret_key="sk_test_guessed")[0] == 401
    assert paystack.send_webhook(url, event, signature="")[0] == 401
    assert paystack.send_webhook(url, event, secret_key=KENTE_KEY)[0] == 401  # another business's key
    assert paystack.verifications == [] and payments_of(reference) == []
    assert order_of(reference).status == "awaiting_payment" and links_of(reference)[0][2] == "open"


def test_a_webhook_for_another_business_settles_nothing(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    event = paystack.pay(ours)
    # kentehouse's URL, signed with kentehouse's own key: a valid webhook, but not for one of its links
    status, body = paystack.send_webhook(f"{webhooks}/webhooks/paystack/kentehouse", event, secret_key=KENTE_KEY)
    assert (status, body) == (200, '{"status":"ignored"}')
    assert payments_of(reference) == [] and order_of(reference).status == "awaiting_payment"
    assert paystack.send_webhook(f"{webhooks}/webhooks/paystack/nosuchshop", event)[0] == 404
    assert paystack.send_webhook(f"{webhooks}/webhooks/stripe/akanraby", event)[0] == 404  # not its provider


def test_an_amount_other_than_the_deposit_is_flagged_to_ops_not_verified(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    order = order_of(reference)
    event = paystack.pay(ours, amount=order.deposit_minor - 100_00)
    assert paystack.send_webhook(f"{webhooks}/webhooks/paystack/akanraby", event) == (200, '{"status":"flagged"}')
    assert payments_of(reference) == [("pending", "deposit", "paystack", ours, order.deposit_minor,
                                       order.deposit_minor - 100_00, False)]
    assert order_of(reference).status == "payment_submitted"  # the fabric stays held while ops look
    assert links_of(reference)[0][2] == "flagged" and notifications("payment_verified", "akanraby") == []
    [alert] = notifications("payment_proof", "akanraby")
    assert alert["order_reference"] == reference and "NOT verified" in alert["summary"]
    assert "₦" in alert["summary"] and alert["stated_minor"] == order.deposit_minor - 100_00
    [told] = notifications("ops_reply", "akanraby")
    assert reference in told["text"] and "checking" in told["text"] and told["recipients"] == [f"akanraby:{LAGOS}"]


def test_a_payment_after_the_hold_lapsed_is_flagged_late(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    with session_scope() as session:
        session.scalars(select(Order).where(Order.reference == reference)).one().hold_expires_at = \
            utcnow() - timedelta(minutes=1)
    event = paystack.pay(ours)
    assert paystack.send_webhook(f"{webhooks}/webhooks/paystack/akanraby", event) == (200, '{"status":"flagged"}')
    assert order_of(reference).status == "expired"
    [(status, *_, late)] = payments_of(reference)
    assert status == "pending" and late is True
    [alert] = notifications("payment_proof", "akanraby")
    assert "hold ended" in alert["summary"] and alert["late"] is True


def test_a_signed_stripe_checkout_is_verified_and_a_forged_one_refused(stripe_fake, webhooks):
    reference, session_id = linked_order("kitengenairobi", NAIROBI)
    event = stripe_fake.complete(session_id)
    url = f"{webhooks}/webhooks/stripe/kitengenairobi"
    assert stripe_fake.send_webhook(url, event, secret="whsec_guessed")[0] == 401
    assert stripe_fake.send_webhook(url, event, signature="t=1,v1=00")[0] == 401
    assert payments_of(reference) == [] and order_of(reference).status == "awaiting_payment"

    assert stripe_fake.send_webhook(url, event) == (200, '{"status":"verified"}')
    order = order_of(reference)
    assert order.status == "deposit_paid"
    assert payments_of(reference) == [("verified", "deposit", "stripe", session_id, order.deposit_minor,
                                       order.deposit_minor, False)]
    assert stripe_fake.send_webhook(url, event) == (200, '{"status":"repeat"}')
    assert len(notifications("payment_verified", "kitengenairobi")) == 1


def test_an_oversized_webhook_is_refused_before_anything_is_read(paystack, webhooks):
    reference, ours = linked_order("akanraby", LAGOS)
    event = paystack.pay(ours)
    event["data"]["padding"] = "x" * 300_000
    assert paystack.send_webhook(f"{webhooks}/webhooks/paystack/akanraby", event)[0] == 413
    assert paystack.verifications == [] and payments_of(reference) == []
