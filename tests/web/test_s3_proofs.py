"""Proofs kept in S3 (several servers share the bucket): shown on the payments page behind login, read
only from the tenant's own prefix, against a local S3 API."""
from __future__ import annotations

import pytest

from grace.messaging.media import MediaNotFound, MediaUnavailable, read_media
from grace.store import session_scope
from grace.store.models import Payment
from tests.fakes.s3_api import FakeS3
from tests.helpers import use_bucket
from tests.web.conftest import PNG, login, make_order, pending_payment, send_proof


@pytest.fixture
def s3(web_env, s3):
    """The bucket set after the dashboard's environment (which clears media settings)."""
    return s3


def proof_url(payment_id: int) -> str:
    with session_scope() as session:
        return session.get(Payment, payment_id).proof_url


@pytest.mark.parametrize("base_url", ["https://grace.example.test/media", None])
def test_a_proof_in_s3_shows_on_the_payments_page(client, s3, grace_env, monkeypatch, base_url):
    if base_url:
        monkeypatch.setenv("GRACE_MEDIA_BASE_URL", base_url)
    _, payment = pending_payment("akanraby", "+2348011111111")
    [(key, (stored, _))] = s3.objects.items()
    assert key.startswith("media/akanraby/") and not (grace_env / "var" / "media").exists()
    assert proof_url(payment).startswith(base_url or "s3://grace-media/media/akanraby/")

    assert client.get(f"/payments/{payment}/proof").status_code == 302  # to the login page
    login(client, "viewer@akanraby.test")
    assert f'src="/payments/{payment}/proof"' in client.get("/payments").get_data(as_text=True)
    response = client.get(f"/payments/{payment}/proof")
    assert response.status_code == 200 and response.data == stored and response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    name = key.rsplit("/", 1)[1]
    assert client.get(f"/media/akanraby/{name}").data == stored


def test_another_tenants_proof_in_s3_is_never_read(client, s3):
    _, payment = pending_payment("akanraby", "+2348011111111")
    url = proof_url(payment)
    name = url.rsplit("/", 1)[1]
    with pytest.raises(MediaNotFound):
        read_media("kentehouse", url)  # the same name under another tenant's prefix does not exist
    with pytest.raises(MediaNotFound):
        read_media("kentehouse", f"s3://grace-media/media/akanraby/{name}")
    login(client, "ops@kentehouse.test")
    assert client.get(f"/payments/{payment}/proof").status_code == 404
    assert client.get(f"/media/akanraby/{name}").status_code == 404
    assert client.get(f"/media/kentehouse/{name}").status_code == 404


def test_proofs_kept_on_this_machine_before_the_switch_to_s3_still_show(client, web_env, monkeypatch):
    reference = make_order("akanraby", "+2348011111111")
    payment = send_proof("akanraby", reference, image=PNG + b"before S3")  # no bucket yet: kept on disk
    with FakeS3() as fake:
        use_bucket(monkeypatch, fake)
        login(client, "ops@akanraby.test")
        response = client.get(f"/payments/{payment}/proof")
        assert response.status_code == 200 and response.data == PNG + b"before S3"


def test_when_s3_refuses_the_page_says_so_rather_than_not_found(client, s3):
    _, payment = pending_payment("akanraby", "+2348011111111")
    s3.access_key = "AKIAREVOKED"  # the server's key was revoked meanwhile
    with pytest.raises(MediaUnavailable):
        read_media("akanraby", proof_url(payment))
    login(client, "ops@akanraby.test")
    response = client.get(f"/payments/{payment}/proof")
    assert response.status_code == 503 and "file store did not answer" in response.get_data(as_text=True)
