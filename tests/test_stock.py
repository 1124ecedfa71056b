"""Stock holds: the last yards are sold once, even when two customers confirm together."""
import threading
from datetime import timedelta

from sqlalchemy import select, update

from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.shop.payments import record_proof
from grace.shop.stock import OutOfStock, available_stock
from grace.store import session_scope
from grace.store.models import Notification, Order, StockReservation, utcnow
from grace.tenancy.registry import get_registry


def low_stock_fabric(tenant):
    return min((f for f in tenant.catalog.fabrics if f.stock > 0), key=lambda f: f.stock)


def test_two_customers_racing_for_the_last_yards(grace_env):
    tenant = get_registry().get("akanraby")
    fabric = low_stock_fabric(tenant)
    quote = build_quote(tenant, [{"sku": fabric.sku, "qty": fabric.stock}], None, tenant.now().date())
    results: list[str] = []
    barrier = threading.Barrier(4)

    def buy(phone: str) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                customer = get_or_create_customer(session, tenant.id, phone)
                place_order(session, tenant, customer, quote)
            results.append("sold")
        except OutOfStock:
            results.append("refused")

    threads = [threading.Thread(target=buy, args=(f"+23480000000{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused", "refused", "refused", "sold"]
    with session_scope() as session:
        assert available_stock(session, tenant, [fabric.sku])[fabric.sku] == 0


def test_an_unpaid_hold_is_released_after_hold_hours_and_late_proof_is_flagged(grace_env):
    tenant = get_registry().get("akanraby")
    fabric = low_stock_fabric(tenant)
    quote = build_quote(tenant, [{"sku": fabric.sku, "qty": fabric.stock}], None, tenant.now().date())
    with session_scope() as session:
        first = place_order(session, tenant, get_or_create_customer(session, tenant.id, "+1"), quote)
        first_id = first.id
    with session_scope() as session:  # time passes beyond hold_hours
        ended = utcnow() - timedelta(minutes=1)
        session.execute(update(Order).values(hold_expires_at=ended))
        session.execute(update(StockReservation).values(expires_at=ended))
        assert available_stock(session, tenant, [fabric.sku])[fabric.sku] == fabric.stock
    with session_scope() as session:
        place_order(session, tenant, get_or_create_customer(session, tenant.id, "+2"), quote)
    with session_scope() as session:
        late = session.get(Order, first_id)
        result = record_proof(session, tenant, late, proof_url=None, content_type=None, text="I don pay")
        assert result.late and result.stock_problem and late.status == "expired"  # the sweep had not come by
        ops = session.execute(select(Notification).where(Notification.kind == "payment_proof")).scalar_one()
        assert ops.payload["late"] and ops.payload["stock_problem"]
        assert "check stock before verifying" in ops.payload["summary"]
        assert f"{fabric.name}: 0 of {fabric.stock}" in ops.payload["summary"]


def test_a_forged_selection_never_makes_a_negative_total_or_frees_stock(grace_env):
    tenant = get_registry().get("akanraby")
    fabric = low_stock_fabric(tenant)
    forged = [{"sku": fabric.sku, "qty": -50}, {"sku": fabric.sku, "qty": 10**9}, {"sku": fabric.sku, "qty": "2.5"},
              {"sku": fabric.sku, "qty": True}, {"qty": 3}, "AK-001", {"sku": fabric.sku, "qty": 2}]
    quote = build_quote(tenant, forged, None, tenant.now().date())
    assert [(line.fabric.sku, line.quantity) for line in quote.lines] == [(fabric.sku, 2)]
    assert quote.total_minor > 0
    with session_scope() as session:
        customer = get_or_create_customer(session, tenant.id, "+2348011112222")
        place_order(session, tenant, customer, quote)
    with session_scope() as session:
        assert available_stock(session, tenant, [fabric.sku])[fabric.sku] == fabric.stock - 2
