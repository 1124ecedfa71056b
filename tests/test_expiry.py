"""An unpaid order whose hold lapses expires: its fabric goes back on sale once, the customer is told on
WhatsApp (under the 24-hour rule), a proof that comes afterwards is taken as late and verifying it
holds the fabric again only if it is still there. Time is a fixed clock handed to the sweep, or an
order's hold moved into the past (time passed): never a sleep."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta

import pytest
import yaml
from sqlalchemy import select, update

from actions.deposit import ActionHandleImage, ActionPaymentRejected, ActionRecordPayment
from actions.ordering import ActionConfirmOrder, ActionOrderStatus
from actions.selection import ActionUpdateSelection
from grace.messaging.contacts import record_inbound
from grace.run.cli import main as cli
from grace.run.outbox import deliver_pending
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.shop.payments import reject_payment, verify_payment
from grace.shop.reminders import expire_lapsed_orders, schedule_payment_reminders
from grace.shop.stock import available_stock
from grace.store import session_scope
from grace.store.models import Contact, Notification, Order, Payment, StockReservation, utcnow
from grace.tenancy.accounts import create_user
from grace.tenancy.registry import get_registry
from tests.helpers import Chat, free_port, texts
from tests.test_funnel_actions import place_order as place_through_chat
from tests.web.conftest import PASSWORD, login, post_form
from web.app import create_app

LAGOS, ACCRA, NAIROBI = "+2348011111111", "+233244444444", "+254711111111"
PROOF = {"media": [{"url": "https://media.example.test/akanraby/proof.jpg", "content_type": "image/jpeg"}]}


def scarce(tenant_id: str):
    """The fabric with the least stock: what one order can hold all of."""
    tenant = get_registry().get(tenant_id)
    return min((f for f in tenant.catalog.fabrics if f.stock > 0), key=lambda f: f.stock)


def place(tenant_id: str, phone: str, sku: str | None = None, qty: int | None = None) -> str:
    """An order placed as the confirm action places it (holding its stock for the tenant's hold_hours)."""
    tenant = get_registry().get(tenant_id)
    fabric = tenant.catalog.get(sku) if sku else scarce(tenant_id)
    quote = build_quote(tenant, [{"sku": fabric.sku, "qty": qty or fabric.stock}], None, tenant.now().date())
    with session_scope() as session:
        return place_order(session, tenant, get_or_create_customer(session, tenant.id, phone), quote).reference


def lapse(reference: str, at: datetime | None = None) -> None:
    """Time passes: the order's hold ended (an hour ago unless `at` says when)."""
    at = at or utcnow() - timedelta(hours=1)
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.hold_expires_at = at
        session.execute(update(StockReservation).where(StockReservation.order_id == order.id)
                        .values(expires_at=at))


def yesterday_at_1305() -> tuple[datetime, str]:
    """13:05 UTC yesterday, and how a Lagos customer reads it (14:05 there)."""
    moment = (utcnow() - timedelta(days=1)).replace(hour=13, minute=5, second=0, microsecond=0)
    return moment, f"{moment:%a} {moment.day} {moment:%b}, 14:05"


def status(reference: str) -> str:
    with session_scope() as session:
        return session.scalars(select(Order.status).where(Order.reference == reference)).one()


def available(tenant_id: str, sku: str) -> int:
    with session_scope() as session:
        return available_stock(session, get_registry().get(tenant_id), [sku])[sku]


def told(kind: str = "order_expired") -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
        return [(r.recipients[0], r.payload.get("order_reference")) for r in rows]


# ---------------------------------------------------------------- the sweep


def test_each_business_expires_unpaid_orders_after_its_own_hold_hours(grace_env):
    record_inbound("akanraby", LAGOS, "whatsapp")
    record_inbound("kitengenairobi", NAIROBI, "whatsapp")
    start = utcnow()
    lagos = place("akanraby", LAGOS)  # hold_hours 48
    nairobi = place("kitengenairobi", NAIROBI)  # hold_hours 24
    lagos_fabric, nairobi_fabric = scarce("akanraby"), scarce("kitengenairobi")
    assert available("akanraby", lagos_fabric.sku) == 0 and available("kitengenairobi", nairobi_fabric.sku) == 0

    assert expire_lapsed_orders(start + timedelta(hours=23)) == 0
    assert expire_lapsed_orders(start + timedelta(hours=25)) == 1
    assert (status(lagos), status(nairobi)) == ("awaiting_payment", "expired")
    assert available("kitengenairobi", nairobi_fabric.sku) == nairobi_fabric.stock  # back on sale now
    assert available("akanraby", lagos_fabric.sku) == 0
    assert told() == [(f"kitengenairobi:{NAIROBI}", nairobi)]
    assert schedule_payment_reminders(start + timedelta(hours=25)) == 1  # the Lagos one: Nairobi's expired
    assert expire_lapsed_orders(start + timedelta(hours=30)) == 0  # once

    assert expire_lapsed_orders(start + timedelta(hours=49)) == 1
    assert status(lagos) == "expired" and available("akanraby", lagos_fabric.sku) == lagos_fabric.stock
    assert told() == [(f"kitengenairobi:{NAIROBI}", nairobi), (f"akanraby:{LAGOS}", lagos)]
    with session_scope() as session:
        assert {r.status for r in session.scalars(select(StockReservation))} == {"released"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, grace_env, monkeypatch):
    """SQLite (one server) or PostgreSQL (replicas, each with its outbox worker)."""
    if request.param == "postgresql":
        monkeypatch.setenv("GRACE_DATABASE_URL", request.getfixturevalue("pg_url"))
    return request.param


def test_two_workers_sweeping_at_once_expire_each_order_once(store):
    fabric = max(get_registry().get("akanraby").catalog.fabrics, key=lambda f: f.stock)
    references = [place("akanraby", f"+23480200000{i:02d}", fabric.sku, 1) for i in range(12)]
    assert available("akanraby", fabric.sku) == fabric.stock - 12
    later = utcnow() + timedelta(hours=49)
    start = threading.Barrier(2)
    expired: list[int] = []

    def worker() -> None:
        start.wait()
        expired.append(expire_lapsed_orders(later))

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(expired) == 12
    assert sorted(reference for _, reference in told()) == sorted(references)  # each customer told once
    assert {status(r) for r in references} == {"expired"}
    assert available("akanraby", fabric.sku) == fabric.stock
    assert expire_lapsed_orders(later) == 0


# ---------------------------------------------------------------- telling the customer


def test_the_customer_is_told_in_free_text_inside_the_window_and_by_template_outside(twilio, grace_env):
    record_inbound("akanraby", LAGOS, "whatsapp")  # wrote today: the window is open
    fresh = place("akanraby", LAGOS, "AK-001", 6)
    record_inbound("akanraby", "+2348022222222", "whatsapp")
    with session_scope() as session:  # ordered three days ago and has not written since
        session.execute(update(Contact).where(Contact.phone == "+2348022222222")
                        .values(last_inbound_at=utcnow() - timedelta(days=3)))
    quiet = place("akanraby", "+2348022222222", "AK-001", 6)
    lapse(fresh)
    lapse(quiet)

    asyncio.run(deliver_pending())  # the worker's pass runs the sweep
    [message] = twilio.messages
    name = get_registry().get("akanraby").catalog.get("AK-001").name
    assert message["To"] == f"whatsapp:{LAGOS}" and fresh in message["Body"] and "expired" in message["Body"]
    assert f"6 yards of {name}" in message["Body"]  # how to order it again, in words Grace reads
    with session_scope() as session:
        rows = {r.payload["order_reference"]: r for r in session.scalars(
            select(Notification).where(Notification.kind == "order_expired"))}
        assert rows[fresh].status == "sent"
        assert rows[quiet].status == "skipped" and "24-hour" in rows[quiet].last_error

    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = {"order_expired": {"twilio_content_sid": "HX0123456789abcdef0123456789abcdef"}}
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))
    again = place("akanraby", "+2348022222222", "AK-001", 6)
    lapse(again)
    asyncio.run(deliver_pending())
    template = twilio.messages[-1]
    assert template["To"] == "whatsapp:+2348022222222" and template["ContentSid"].startswith("HX0123")
    assert not template["Body"]
    assert json.loads(template["ContentVariables"]) == {"1": again, "2": f"6 yards {name}"}


# ---------------------------------------------------------------- a proof after the hold expired


def test_a_screenshot_after_expiry_is_recorded_flagged_late_and_the_customer_told(grace_env):
    chat = Chat(f"akanraby:{LAGOS}")
    reference = place_through_chat(chat)
    ended, day = yesterday_at_1305()
    lapse(reference, ended)
    assert expire_lapsed_orders(ended + timedelta(minutes=1)) == 1

    said = texts(chat.run(ActionHandleImage, "", "share_image", metadata=PROOF))
    assert reference in said and f"expired on {day}" in said
    assert "still available" in said and "verify it shortly" not in said
    with session_scope() as session:
        payment = session.scalars(select(Payment)).one()
        assert payment.status == "pending" and payment.proof_url == PROOF["media"][0]["url"] and payment.late
        assert payment.order.status == "expired"  # nothing is held for it until ops verify
        alert = session.scalars(select(Notification).where(Notification.kind == "payment_proof")).one()
    assert alert.payload["late"] and "proof after the hold expired: check stock before verifying" in \
        alert.payload["summary"]
    assert "still in stock" in alert.payload["summary"]  # nobody bought it meanwhile


def test_i_have_paid_after_the_hold_lapsed_is_late_even_before_the_sweep_came_by(grace_env):
    fabric = scarce("kentehouse")  # hold_hours 72, in Accra
    reference = place("kentehouse", ACCRA)
    lapse(reference)
    other = place("kentehouse", "+233255555555")  # the fabric went to someone else
    chat = Chat(f"kentehouse:{ACCRA}")
    said = texts(chat.run(ActionRecordPayment, "I have paid", "inform_payment"))
    assert reference in said and "expired" in said and "still available" in said
    assert status(reference) == "expired" and status(other) == "awaiting_payment"
    with session_scope() as session:
        alert = session.scalars(select(Notification).where(Notification.kind == "payment_proof")).one()
    assert alert.payload["late"] and alert.payload["stock_problem"]
    assert f"{fabric.name}: 0 of {fabric.stock}" in alert.payload["summary"]
    assert told() == []  # the answer said it: no second message about the expiry
    assert expire_lapsed_orders() == 0


def test_a_proof_in_time_is_not_late(grace_env):
    chat = Chat(f"akanraby:{LAGOS}")
    reference = place_through_chat(chat)
    said = texts(chat.run(ActionHandleImage, "", "share_image", metadata=PROOF))
    assert "verify it shortly" in said and "expired" not in said
    with session_scope() as session:
        assert not session.scalars(select(Payment)).one().late
        alert = session.scalars(select(Notification).where(Notification.kind == "payment_proof")).one()
    assert not alert.payload["late"] and "LATE" not in alert.payload["summary"]
    lapse(reference)  # the hold ends while ops look at it: the proof came in time, nothing expires
    assert expire_lapsed_orders() == 0 and status(reference) == "payment_submitted"


# ---------------------------------------------------------------- verifying a late payment


def late_payment(tenant_id: str, phone: str, sku: str, qty: int) -> str:
    reference = place(tenant_id, phone, sku, qty)
    lapse(reference)
    expire_lapsed_orders()
    Chat(f"{tenant_id}:{phone}").run(ActionRecordPayment, "I don pay", "inform_payment")
    return reference


def test_verifying_a_late_payment_holds_the_fabric_again_when_it_is_still_there(grace_env):
    tenant = get_registry().get("kitengenairobi")
    fabric = scarce("kitengenairobi")
    reference = late_payment("kitengenairobi", NAIROBI, fabric.sku, 3)
    assert available("kitengenairobi", fabric.sku) == fabric.stock  # nothing held while ops check
    with session_scope() as session:
        verify_payment(session, tenant, reference)
    assert status(reference) == "deposit_paid"
    assert available("kitengenairobi", fabric.sku) == fabric.stock - 3  # held again, once
    with session_scope() as session:
        rows = session.scalars(select(StockReservation.status).order_by(StockReservation.id)).all()
    assert rows == ["released", "committed"]


def test_verifying_a_late_payment_whose_fabric_is_gone_is_refused_with_the_reason(grace_env, capsys):
    fabric = scarce("akanraby")
    reference = late_payment("akanraby", LAGOS, fabric.sku, fabric.stock)
    bought = place("akanraby", "+2348033333333", fabric.sku, 2)  # sold meanwhile
    assert cli(["payments", "verify", reference, "--tenant", "akanraby"]) == 2
    error = capsys.readouterr().err
    assert f"{fabric.name}: {fabric.stock - 2} of {fabric.stock}" in error and "reject" in error
    with session_scope() as session:
        payment = session.scalars(select(Payment)).one()
        assert payment.status == "pending" and payment.order.status == "expired"
    assert available("akanraby", fabric.sku) == fabric.stock - 2 and status(bought) == "awaiting_payment"

    with session_scope() as session:
        reject_payment(session, get_registry().get("akanraby"), reference, "the fabric sold out; we will refund you")
    assert status(reference) == "expired"  # no new hold of fabric that is not there
    assert available("akanraby", fabric.sku) == fabric.stock - 2
    chat = Chat(f"akanraby:{LAGOS}")
    said = texts(chat.run(ActionPaymentRejected, "", "EXTERNAL_payment_rejected",
                          entities=[{"entity": "order_ref", "value": reference}]))
    assert "we will refund you" in said and "expired" in said and "holding your fabric" not in said


# ---------------------------------------------------------------- what the customer reads afterwards


def test_where_is_my_order_says_it_expired_and_when(grace_env):
    chat = Chat(f"akanraby:{LAGOS}")
    reference = place_through_chat(chat)
    lapse(reference, datetime(2025, 3, 4, 13, 5))
    expire_lapsed_orders(datetime(2025, 3, 4, 14))
    said = texts(chat.run(ActionOrderStatus, "where is my order?", "order_status"))
    assert reference in said and "expired on Tue 4 Mar, 14:05" in said and "waiting for your deposit" not in said
    assert "I'll set up a new order" in said

    ended, day = yesterday_at_1305()  # a proof within days of the expiry is a late proof for it
    lapse(reference, ended)
    chat.run(ActionRecordPayment, "I have paid", "inform_payment")
    said = texts(chat.run(ActionOrderStatus, f"status of {reference}", "order_status",
                          entities=[{"entity": "order_ref", "value": reference}]))
    assert f"expired on {day}" in said and "checking" in said


def test_expired_orders_do_not_count_against_the_unpaid_orders_cap(grace_env):
    chat = Chat(f"akanraby:{LAGOS}")
    first, second = place_through_chat(chat), place_through_chat(chat)
    chat.run(ActionUpdateSelection, "number 1, 12 yards", "select_fabric")
    refused = texts(chat.run(ActionConfirmOrder, "yes", "affirm"))  # the cap: two unpaid orders at most
    assert "2 orders waiting for payment" in refused and first in refused and second in refused
    lapse(first)
    lapse(second)
    assert expire_lapsed_orders() == 2
    said = texts(chat.run(ActionOrderStatus, "where is my order?", "order_status"))
    assert "expired" in said and "You have 2 orders" not in said  # nothing open is listed
    third = place_through_chat(chat)
    assert third not in (first, second) and status(third) == "awaiting_payment"


# ---------------------------------------------------------------- the dashboard


@pytest.fixture
def dashboard(grace_env, monkeypatch):
    """The dashboard of akanraby, logged in as its ops person (Rasa not running: customers are told later)."""
    monkeypatch.setenv("GRACE_RASA_URL", f"http://127.0.0.1:{free_port()}")
    for name in ("GRACE_MEDIA_DIR", "GRACE_MEDIA_BASE_URL", "GRACE_MEDIA_S3_BUCKET", "GRACE_WEB_SECRET_KEY",
                 "REDIS_URL", "GRACE_WEB_LOGIN_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    with session_scope() as session:
        create_user(session, "akanraby", "ops@akanraby.test", "ops", PASSWORD)
    client = create_app({"TESTING": True}).test_client()
    login(client, "ops@akanraby.test")
    return client


def test_the_dashboard_shows_the_expiry_and_the_late_flag_and_refuses_a_verify_without_stock(dashboard):
    fabric = scarce("akanraby")
    reference = late_payment("akanraby", LAGOS, fabric.sku, fabric.stock)
    with session_scope() as session:
        payment_id = session.scalars(select(Payment.id)).one()
    page = dashboard.get("/payments").get_data(as_text=True)
    assert reference in page and "proof after the hold expired" in page and "check stock before verifying" in page
    order_page = dashboard.get(f"/orders/{reference}").get_data(as_text=True)
    assert "Expired" in order_page and "late: proof after the hold expired" in order_page

    place("akanraby", "+2348033333333", fabric.sku, 1)  # sold meanwhile
    post_form(dashboard, f"/payments/{payment_id}/verify", page="/payments")
    page = dashboard.get("/payments").get_data(as_text=True)
    assert f"{fabric.name}: {fabric.stock - 1} of {fabric.stock}" in page and status(reference) == "expired"
