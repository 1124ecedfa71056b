"""The JSON API: keys decide the tenant, payments and orders, errors as JSON, the OpenAPI description."""
from __future__ import annotations

from sqlalchemy import select

from grace.store import session_scope
from grace.store.models import ApiKey, Payment
from grace.tenancy.accounts import revoke_api_key
from tests.web.conftest import login, make_order, paid_order, pending_payment, status_of


def call(client, method: str, path: str, key: str | None, **kwargs):
    headers = {"X-API-Key": key} if key else {}
    return client.open(path, method=method, headers=headers, **kwargs)


def test_missing_wrong_or_revoked_key_gets_401(client, web_env):
    assert call(client, "GET", "/api/v1/payments", None).status_code == 401
    wrong = call(client, "GET", "/api/v1/payments", "grk_not-a-key")
    assert wrong.status_code == 401 and wrong.get_json() == {"error": "missing or unknown X-API-Key"}
    key = web_env["akanraby"].api_key
    assert call(client, "GET", "/api/v1/orders", key).status_code == 200
    with session_scope() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.tenant_id == "akanraby")).one()
        assert row.key_hash != key and key not in row.key_hash and len(row.key_hash) == 64
        revoke_api_key(session, "akanraby", row.id)
    assert call(client, "GET", "/api/v1/orders", key).status_code == 401


def test_pending_payments_list(client, web_env):
    reference, payment_id = pending_payment("akanraby", "+2348011111111", text="paid 27,000")
    pending_payment("kentehouse", "+233200000099")
    body = call(client, "GET", "/api/v1/payments?status=pending", web_env["akanraby"].api_key).get_json()
    assert [p["id"] for p in body["payments"]] == [payment_id]
    payment = body["payments"][0]
    with session_scope() as session:
        expected = session.get(Payment, payment_id).expected_minor
    assert payment["order_reference"] == reference and payment["expected_deposit_minor"] == expected
    assert payment["stated_amount_minor"] == 2_700_000 and payment["proof_url"].endswith(".png")
    bad = call(client, "GET", "/api/v1/payments?status=lost", web_env["akanraby"].api_key)
    assert bad.status_code == 400 and "unknown status" in bad.get_json()["error"]


def test_verify_and_reject_through_the_api(client, web_env):
    key = web_env["akanraby"].api_key
    first_ref, first = pending_payment("akanraby", "+2348011111111")
    second_ref, second = pending_payment("akanraby", "+2348022222222")
    verified = call(client, "POST", f"/api/v1/payments/{first}/verify", key)
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    assert status_of(first_ref) == "deposit_paid"
    again = call(client, "POST", f"/api/v1/payments/{first}/verify", key)
    assert again.status_code == 409 and "already verified" in again.get_json()["error"]
    no_reason = call(client, "POST", f"/api/v1/payments/{second}/reject", key, json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]
    rejected = call(client, "POST", f"/api/v1/payments/{second}/reject", key, json={"reason": "blurry screenshot"})
    assert rejected.get_json()["status"] == "rejected" and status_of(second_ref) == "awaiting_payment"
    with session_scope() as session:
        assert session.get(Payment, second).reason == "blurry screenshot"


def test_a_key_of_one_tenant_gets_404_for_the_other_tenants_ids(client, web_env):
    key = web_env["akanraby"].api_key
    kente_ref, kente_payment = pending_payment("kentehouse", "+233200000099")
    for method, path in (("GET", f"/api/v1/payments/{kente_payment}"),
                         ("POST", f"/api/v1/payments/{kente_payment}/verify"),
                         ("GET", f"/api/v1/orders/{kente_ref}"),
                         ("POST", f"/api/v1/orders/{kente_ref}/status")):
        response = call(client, method, path, key, json={"status": "ready", "reason": "x"})
        assert response.status_code == 404 and response.get_json() == {"error": "Not found."}, path
    assert call(client, "GET", "/api/v1/orders", key).get_json() == {"orders": []}
    assert status_of(kente_ref) == "payment_submitted"
    own = call(client, "GET", f"/api/v1/payments/{kente_payment}", web_env["kentehouse"].api_key)
    assert own.status_code == 200 and own.get_json()["order_reference"] == kente_ref


def test_orders_list_detail_and_status(client, web_env):
    key = web_env["akanraby"].api_key
    paid = paid_order("akanraby", "+2348011111111")
    unpaid = make_order("akanraby", "+2348022222222", "Bola")
    listed = call(client, "GET", "/api/v1/orders?status=deposit_paid", key).get_json()["orders"]
    assert [o["reference"] for o in listed] == [paid]
    detail = call(client, "GET", f"/api/v1/orders/{unpaid.lower()}", key).get_json()
    assert detail["reference"] == unpaid and detail["customer"]["name"] == "Bola" and detail["lines"]
    moved = call(client, "POST", f"/api/v1/orders/{paid}/status", key, json={"status": "ready"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "ready"
    back = call(client, "POST", f"/api/v1/orders/{paid}/status", key, json={"status": "in_production"})
    assert back.status_code == 409 and "already ready" in back.get_json()["error"]
    not_paid = call(client, "POST", f"/api/v1/orders/{unpaid}/status", key, json={"status": "ready"})
    assert not_paid.status_code == 409 and "not verified" in not_paid.get_json()["error"]
    unknown = call(client, "POST", f"/api/v1/orders/{paid}/status", key, json={"status": "lost"})
    assert unknown.status_code == 422


def test_the_api_needs_a_key_not_a_cookie_and_the_pages_need_a_csrf_token(client, web_env):
    _, payment_id = pending_payment("akanraby", "+2348011111111")
    login(client, "owner@akanraby.test")
    assert client.post(f"/payments/{payment_id}/verify").status_code == 400  # a page: no token, refused
    assert call(client, "POST", f"/api/v1/payments/{payment_id}/verify", None).status_code == 401  # cookie only
    response = call(client, "POST", f"/api/v1/payments/{payment_id}/verify", web_env["akanraby"].api_key)
    assert response.status_code == 200


def test_openapi_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<int:", "<").replace("<any(verify, reject):verb>", "{verb}")
        path = path.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if "{verb}" in path:
                for verb in ("verify", "reject"):
                    assert (path.replace("{verb}", verb), method.lower()) in described, (path, method)
            else:
                assert (path, method.lower()) in described, (path, method)


def test_request_the_balance_through_the_api_and_verify_its_proof(client, web_env):
    from grace.money import format_money
    from grace.store.models import Notification, Order
    from tests.web.conftest import send_proof

    key = web_env["kentehouse"].api_key
    paid = paid_order("kentehouse", "+233200000099", "Kofi")
    unpaid = make_order("kentehouse", "+233200000088", "Efua")
    with session_scope() as session:
        order = session.scalars(select(Order).where(Order.reference == paid)).one()
        total, deposit = order.total_minor, order.deposit_minor
    shown = call(client, "GET", f"/api/v1/orders/{paid}", key).get_json()
    assert (shown["amount_paid_minor"], shown["balance_due_minor"]) == (deposit, total - deposit)
    assert shown["balance_due"] == format_money(total - deposit, "GHS") and shown["balance_requested_at"] is None

    ship = call(client, "POST", f"/api/v1/orders/{paid}/status", key, json={"status": "shipped"})
    assert ship.status_code == 409
    assert f"balance of {format_money(total - deposit, 'GHS')} due" in ship.get_json()["error"]
    request_path = f"/api/v1/orders/{paid}/request-balance"
    viewer = call(client, "POST", request_path, key, json={"user": "viewer@kentehouse.test"})
    assert viewer.status_code == 403
    stranger = call(client, "POST", request_path, key, json={"user": "ops@akanraby.test"})
    assert stranger.status_code == 422
    not_paid = call(client, "POST", f"/api/v1/orders/{unpaid}/request-balance", key)
    assert not_paid.status_code == 409 and "not verified" in not_paid.get_json()["error"]
    other = call(client, "POST", f"/api/v1/orders/{paid}/request-balance", web_env["akanraby"].api_key)
    assert other.status_code == 404

    asked = call(client, "POST", f"/api/v1/orders/{paid}/request-balance", key, json={"user": "ops@kentehouse.test"})
    assert asked.status_code == 200 and asked.get_json()["balance_requested_at"]
    with session_scope() as session:
        [told] = session.scalars(select(Notification).where(Notification.kind == "balance_request")).all()
        assert told.payload["balance_minor"] == total - deposit and told.payload["by"] == "api:ops@kentehouse.test"
    assert call(client, "POST", f"/api/v1/orders/{paid}/request-balance", key).status_code == 409  # just asked

    payment_id = send_proof("kentehouse", paid, "sent GHS 10")
    pending = call(client, "GET", f"/api/v1/payments/{payment_id}", key).get_json()
    assert pending["kind"] == "balance" and pending["expected_deposit_minor"] == total - deposit
    verified = call(client, "POST", f"/api/v1/payments/{payment_id}/verify", key)
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    after = call(client, "GET", f"/api/v1/orders/{paid}", key).get_json()
    assert (after["status"], after["amount_paid_minor"], after["balance_due_minor"]) == ("deposit_paid", total, 0)
    shipped = call(client, "POST", f"/api/v1/orders/{paid}/status", key, json={"status": "shipped"})
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "shipped"
