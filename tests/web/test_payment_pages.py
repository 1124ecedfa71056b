"""Payments to verify in the dashboard: proof, amounts side by side, verify / reject, roles, tenants."""
from __future__ import annotations

from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import Notification, Order, Payment
from tests.web.conftest import PNG, login, pending_payment, post_form


def customer_notifications(reference: str) -> list[str]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.audience == "customer")).all()
        return [row.kind for row in rows if row.payload.get("order_reference") == reference]


def test_ops_sees_the_proof_and_amounts_side_by_side(client):
    reference, payment_id = pending_payment("akanraby", "+2348011111111", text="I sent 99,000 naira")
    login(client, "ops@akanraby.test")
    page = client.get("/payments").get_data(as_text=True)
    assert reference in page and f"/payments/{payment_id}/proof" in page
    with session_scope() as session:
        expected = session.get(Payment, payment_id).expected_minor
    assert f"{expected // 100:,}" in page  # the expected deposit
    assert "99,000" in page  # what the customer says they paid
    proof = client.get(f"/payments/{payment_id}/proof")
    assert proof.status_code == 200 and proof.data.startswith(PNG) and proof.mimetype == "image/png"


def test_verify_moves_the_order_and_tells_the_customer(client):
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    login(client, "ops@akanraby.test")
    response = post_form(client, f"/payments/{payment_id}/verify", page="/payments")
    assert response.status_code == 302
    page = client.get("/payments").get_data(as_text=True)
    assert f"Payment for order {reference} verified" in page and f'id="payment-{payment_id}"' not in page
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        assert payment.status == "verified" and payment.decided_by == "web:ops@akanraby.test"
        assert payment.order.status == "deposit_paid"
    assert "payment_verified" in customer_notifications(reference)


def test_reject_needs_a_reason_which_the_customer_gets(client):
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    login(client, "owner@akanraby.test")
    refused = post_form(client, f"/payments/{payment_id}/reject", {"reason": "  "}, page="/payments")
    assert refused.status_code == 302
    assert "needs a reason" in client.get("/payments").get_data(as_text=True)
    post_form(client, f"/payments/{payment_id}/reject", {"reason": "amount does not match"}, page="/payments")
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        assert payment.status == "rejected" and payment.reason == "amount does not match"
    assert "payment_rejected" in customer_notifications(reference)
    rejected = client.get("/payments?status=rejected").get_data(as_text=True)
    assert "amount does not match" in rejected
    again = post_form(client, f"/payments/{payment_id}/verify", page="/payments")
    assert again.status_code == 302 and "already rejected" in client.get("/payments").get_data(as_text=True)


def test_a_viewer_sees_payments_but_cannot_decide(client):
    _, payment_id = pending_payment("akanraby", "+2348011111111")
    login(client, "viewer@akanraby.test")
    page = client.get("/payments").get_data(as_text=True)
    assert f'id="payment-{payment_id}"' in page and "Verify</button>" not in page
    assert post_form(client, f"/payments/{payment_id}/verify", page="/payments").status_code == 403
    with session_scope() as session:
        assert session.get(Payment, payment_id).status == "pending"


def test_another_tenants_payment_is_not_found(client):
    kente_ref, kente_payment = pending_payment("kentehouse", "+233200000099", name="Kofi")
    login(client, "owner@akanraby.test")
    assert kente_ref not in client.get("/payments").get_data(as_text=True)
    assert client.get(f"/payments/{kente_payment}/proof").status_code == 404
    assert post_form(client, f"/payments/{kente_payment}/verify", page="/payments").status_code == 404
    assert post_form(client, f"/payments/{kente_payment}/reject", {"reason": "x"}, page="/payments").status_code == 404
    with session_scope() as session:
        assert session.get(Payment, kente_payment).status == "pending"
        assert session.scalars(select(Order).where(Order.reference == kente_ref)).one().status == "payment_submitted"


def test_ops_see_what_the_picture_says_beside_what_was_expected(client):
    from grace.messaging.media import save_media
    from grace.shop.orders import order_by_reference
    from grace.shop.payments import record_proof
    from grace.shop.proof_check import read_waiting_proofs
    from grace.tenancy.registry import get_registry
    from tests.receipts import make_receipt
    from tests.web.conftest import make_order

    tenant = get_registry().get("akanraby")

    def send(reference: str, image: bytes) -> int:
        stored = save_media("akanraby", image, "image/jpeg")
        with session_scope() as session:
            order = order_by_reference(session, "akanraby", reference)
            return record_proof(session, tenant, order, proof_url=stored.url, content_type=stored.content_type,
                                text=None).payment.id

    first = make_order("akanraby", "+2348011111121", "Ada")
    second = make_order("akanraby", "+2348011111122", "Bola")
    with session_scope() as session:
        expected = order_by_reference(session, "akanraby", first).deposit_minor
    short = make_receipt(3, "nigerian_bank", "akanraby", minor=expected - 500_000, ref=first)
    first_id = send(first, short.image)
    second_id = send(second, short.image + b"")  # the same picture, sent for another customer's order
    read_waiting_proofs()

    login(client, "ops@akanraby.test")
    page = client.get("/payments").get_data(as_text=True)
    card = page[page.index(f'id="payment-{first_id}"'):page.index(f'id="payment-{second_id}"')]
    assert "MISMATCH" in card and f"{(expected - 500_000) // 100:,}" in card  # the amount read
    assert f"{expected // 100:,}" in card and "was expected" in card
    assert f"Reference read</th><td>{first}" in card and "0123456789" in card
    assert "REUSED" not in card and "Verify</button>" in card  # OCR changes no button
    later = page[page.index(f'id="payment-{second_id}"'):]
    assert f"REUSED picture:</strong> same as the proof of payment {first_id} for order" in later
    assert first in later and "Ada" in later and "Verify</button>" in later
    assert "deposit" in later  # the kind of payment
