"""Orders, customers and the handoff queue in the dashboard; HTML from customers is shown as text."""
from __future__ import annotations

from sqlalchemy import select

from actions.support import ActionHandoff
from grace.store import session_scope
from grace.store.models import Customer, Handoff, Notification
from grace.tenancy.registry import get_registry
from tests.helpers import Chat
from tests.web.conftest import login, make_order, paid_order, pending_payment, post_form, status_of


def test_orders_list_filter_and_detail(client):
    paid = paid_order("akanraby", "+2348011111111")
    unpaid = make_order("akanraby", "+2348022222222", "Bola")
    login(client, "viewer@akanraby.test")
    everything = client.get("/orders").get_data(as_text=True)
    assert paid in everything and unpaid in everything
    only_paid = client.get("/orders?status=deposit_paid").get_data(as_text=True)
    assert paid in only_paid and unpaid not in only_paid
    detail = client.get(f"/orders/{paid}").get_data(as_text=True)
    fabric = get_registry().get("akanraby").catalog.fabrics[0]
    assert fabric.sku in detail and "Deposit" in detail and "verified" in detail
    assert "Change status" not in detail  # a viewer cannot move it


def test_status_change_tells_the_customer_and_only_moves_forward(client):
    reference = paid_order("akanraby", "+2348011111111")
    login(client, "ops@akanraby.test")
    post_form(client, f"/orders/{reference}/status", {"status": "in_production"}, page=f"/orders/{reference}")
    assert status_of(reference) == "in_production"
    page = client.get(f"/orders/{reference}").get_data(as_text=True)
    assert "is now in production; the customer is told" in page
    with session_scope() as session:
        told = session.scalars(select(Notification).where(Notification.kind == "order_status")).all()
        assert [n.payload["status"] for n in told] == ["in_production"]
    post_form(client, f"/orders/{reference}/status", {"status": "in_production"}, page=f"/orders/{reference}")
    assert "already in_production" in client.get(f"/orders/{reference}").get_data(as_text=True)


def test_status_change_refused_to_a_viewer_and_for_another_tenant(client):
    reference = paid_order("akanraby", "+2348011111111")
    kente = paid_order("kentehouse", "+233200000099", "Kofi")
    login(client, "viewer@akanraby.test")
    assert post_form(client, f"/orders/{reference}/status", {"status": "ready"}).status_code == 403
    post_form(client, "/logout")
    login(client, "owner@akanraby.test")
    assert client.get(f"/orders/{kente}").status_code == 404
    assert post_form(client, f"/orders/{kente}/status", {"status": "ready"}).status_code == 404
    assert kente not in client.get("/orders").get_data(as_text=True)
    assert status_of(reference) == status_of(kente) == "deposit_paid"


def test_customers_with_their_orders_only_within_the_tenant(client):
    reference = make_order("akanraby", "+2348011111111", "Ada Obi")
    make_order("kentehouse", "+233200000099", "Kofi Mensah")
    login(client, "ops@akanraby.test")
    listing = client.get("/customers").get_data(as_text=True)
    assert "Ada Obi" in listing and "Kofi Mensah" not in listing
    with session_scope() as session:
        ada = session.scalars(select(Customer).where(Customer.name == "Ada Obi")).one().id
        kofi = session.scalars(select(Customer).where(Customer.name == "Kofi Mensah")).one().id
    detail = client.get(f"/customers/{ada}").get_data(as_text=True)
    assert reference in detail and "No conversation" in detail
    assert client.get(f"/customers/{kofi}").status_code == 404


def test_html_in_a_customer_name_and_a_fabric_name_is_shown_as_text(client, grace_env):
    catalog = grace_env / "tenants" / "akanraby" / "catalog.csv"
    lines = catalog.read_text().splitlines()
    first = lines[1].split(",")
    first[1] = "<b>Bold</b> <script>alert(1)</script>"
    lines[1] = ",".join(first)
    catalog.write_text("\n".join(lines) + "\n")
    reference = make_order("akanraby", "+2348011111111", '<img src=x onerror="alert(2)">')
    login(client, "owner@akanraby.test")
    for path in ("/orders", f"/orders/{reference}", "/customers", "/payments?status=pending"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/orders/{reference}").get_data(as_text=True)
    assert "&lt;img src=x" in client.get("/customers").get_data(as_text=True)


def test_handoff_queue_and_closing_a_handoff(client):
    Chat("akanraby:+2348033333333").run(ActionHandoff, "I want to talk to a person", "human_handoff")
    Chat("kentehouse:+233200000077").run(ActionHandoff, "kente person please", "human_handoff")
    login(client, "viewer@akanraby.test")
    queue = client.get("/handoffs").get_data(as_text=True)
    assert "I want to talk to a person" in queue and "kente person please" not in queue
    assert "Done</button>" not in queue
    with session_scope() as session:
        ours = session.scalars(select(Handoff).where(Handoff.tenant_id == "akanraby")).one().id
        theirs = session.scalars(select(Handoff).where(Handoff.tenant_id == "kentehouse")).one().id
    assert post_form(client, f"/handoffs/{ours}/close").status_code == 403
    post_form(client, "/logout")
    login(client, "ops@akanraby.test")
    assert post_form(client, f"/handoffs/{theirs}/close").status_code == 404
    post_form(client, f"/handoffs/{ours}/close", page="/handoffs")
    assert "Nobody is waiting" in client.get("/handoffs").get_data(as_text=True)
    with session_scope() as session:
        assert session.get(Handoff, theirs).status == "open"


def test_home_counts_what_needs_attention(client):
    pending_payment("akanraby", "+2348011111111")
    pending_payment("kentehouse", "+233200000099")
    login(client, "viewer@akanraby.test")
    page = client.get("/").get_data(as_text=True)
    assert "<strong>1</strong> payments to verify" in page


def test_ops_request_the_balance_from_the_order_page_and_the_order_waits_for_it_to_ship(client):
    from grace.money import format_money
    from grace.store.models import Order
    from tests.web.conftest import send_proof

    reference = paid_order("akanraby", "+2348011111111")
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        due = format_money(order.total_minor - order.deposit_minor, "NGN")
        paid = format_money(order.deposit_minor, "NGN")
        order.delivery_method, order.delivery_zone, order.delivery_address = "delivery", "Mainland", "4 Ikorodu Rd"
        order.delivery_fee_minor = 350_000
    login(client, "viewer@akanraby.test")
    seen = client.get(f"/orders/{reference}").get_data(as_text=True)
    assert "Paid so far" in seen and paid in seen and f'balance-due">{due}<' in seen
    assert "delivery to Mainland (4 Ikorodu Rd), fee ₦3,500" in seen
    assert "Request balance" not in seen  # a viewer reads only
    assert post_form(client, f"/orders/{reference}/request-balance").status_code == 403
    post_form(client, "/logout")

    login(client, "ops@akanraby.test")
    assert f"Request balance ({due})" in client.get(f"/orders/{reference}").get_data(as_text=True)
    post_form(client, f"/orders/{reference}/status", {"status": "shipped"}, page=f"/orders/{reference}")
    refused = client.get(f"/orders/{reference}").get_data(as_text=True)
    assert f"has a balance of {due} due" in refused and status_of(reference) == "deposit_paid"

    post_form(client, f"/orders/{reference}/request-balance", page=f"/orders/{reference}")
    page = client.get(f"/orders/{reference}").get_data(as_text=True)
    assert f"The balance of {due} for order {reference} was requested; the customer is told" in page
    assert "Balance requested" in page
    with session_scope() as session:
        [told] = session.scalars(select(Notification).where(Notification.kind == "balance_request")).all()
        assert told.recipients == ["akanraby:+2348011111111"] and told.payload["by"] == "web:ops@akanraby.test"
    post_form(client, f"/orders/{reference}/request-balance", page=f"/orders/{reference}")
    assert "requested at" in client.get(f"/orders/{reference}").get_data(as_text=True)  # not sent twice

    # The customer's balance proof is verified through the payments page like a deposit.
    payment_id = send_proof("akanraby", reference, "balance sent")
    post_form(client, f"/payments/{payment_id}/verify", page="/payments")
    page = client.get(f"/orders/{reference}").get_data(as_text=True)
    assert "balance verified" in page and 'balance-due">₦0<' in page and "Request balance" not in page
    post_form(client, f"/orders/{reference}/status", {"status": "shipped"}, page=f"/orders/{reference}")
    assert status_of(reference) == "shipped"


def test_the_balance_of_another_business_order_is_not_found(client):
    kente = paid_order("kentehouse", "+233200000099", "Kofi")
    login(client, "owner@akanraby.test")
    assert post_form(client, f"/orders/{kente}/request-balance").status_code == 404
    with session_scope() as session:
        assert session.scalars(select(Notification).where(Notification.kind == "balance_request")).all() == []
