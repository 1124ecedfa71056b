"""Two people deciding the same payment at once: the first decision stands, the second is told it came
too late (409 from the API, a message on the page), never an error page and never an overwrite."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from grace.shop.payments import AlreadyDecided, reject_payment, verify_payment
from grace.store import session_scope
from grace.store.models import Notification, Payment
from grace.tenancy.registry import get_registry
from tests.web.conftest import login, pending_payment, post_form, status_of


def decisions(payment_id: int) -> tuple[str, str | None]:
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        return payment.status, payment.decided_by


def verdicts_sent(reference: str) -> list[str]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.audience == "customer")).all()
        return [r.kind for r in rows if r.payload.get("order_reference") == reference]


def test_a_decision_read_before_another_one_landed_does_not_overwrite_it(web_env):
    """The window the pages cannot close alone: ops A loaded the payment as pending, ops B verified it,
    then A rejects. A's rejection must fail, not turn a verified deposit into a rejected one."""
    tenant = get_registry().get("akanraby")
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    with session_scope() as first:
        assert first.get(Payment, payment_id).status == "pending"  # what A saw
        with session_scope() as second:
            verify_payment(second, tenant, reference, by="web:b@akanraby.test")
        with pytest.raises(AlreadyDecided, match="already verified by web:b@akanraby.test"):
            reject_payment(first, tenant, reference, "blurry", by="web:a@akanraby.test")
    assert decisions(payment_id) == ("verified", "web:b@akanraby.test")
    assert status_of(reference) == "deposit_paid" and verdicts_sent(reference) == ["payment_verified"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, grace_env, monkeypatch):
    """The app store the dashboard runs on: SQLite (one server) or PostgreSQL (the scaled profile)."""
    if request.param == "postgresql":
        monkeypatch.setenv("GRACE_DATABASE_URL", request.getfixturevalue("pg_url"))
    return request.param


def test_two_api_calls_at_once_one_wins_the_other_gets_409(store, app, web_env):
    key = web_env["akanraby"].api_key
    reference, payment_id = pending_payment("akanraby", "+2348011111111")
    start = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def decide(verb: str, body: dict) -> None:
        client = app.test_client()
        start.wait()
        response = client.post(f"/api/v1/payments/{payment_id}/{verb}", headers={"X-API-Key": key}, json=body)
        answers[verb] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=decide, args=("verify", {})),
               threading.Thread(target=decide, args=("reject", {"reason": "amount does not match"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(code for code, _ in answers.values()) == [200, 409]
    [(winner, _)] = [(verb, body) for verb, (code, body) in answers.items() if code == 200]
    [loser] = [body for code, body in answers.values() if code == 409]
    won = "verified" if winner == "verify" else "rejected"
    assert loser["error"].startswith(f"the payment for order {reference} was already {won}")
    assert decisions(payment_id)[0] == won
    assert verdicts_sent(reference) == [f"payment_{won}"]  # the customer is told once, the winner's verdict


def test_the_slower_person_on_the_page_gets_a_message(app):
    _, payment_id = pending_payment("akanraby", "+2348011111111")
    ada, bola = app.test_client(), app.test_client()
    login(ada, "ops@akanraby.test")
    login(bola, "owner@akanraby.test")
    assert "Verify</button>" in bola.get("/payments").get_data(as_text=True)  # both see it pending
    assert post_form(ada, f"/payments/{payment_id}/verify", page="/payments").status_code == 302
    late = post_form(bola, f"/payments/{payment_id}/reject", {"reason": "blurry"}, page="/payments?status=verified")
    assert late.status_code == 302
    page = bola.get("/payments").get_data(as_text=True)
    assert "was already verified by web:ops@akanraby.test" in page
    assert decisions(payment_id) == ("verified", "web:ops@akanraby.test")
