"""The dashboard on the two test tenants, with users, keys, orders and proofs made by production code."""
from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from grace.config import load_settings
from grace.messaging.media import save_media
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, order_by_reference, place_order
from grace.shop.payments import record_proof, verify_payment
from grace.store import session_scope
from grace.store.models import Order
from grace.tenancy.accounts import create_api_key, create_user
from grace.tenancy.registry import get_registry
from tests.conftest import copy_store
from tests.helpers import free_port
from web.app import create_app

PASSWORD = "correct horse battery"
# A real (tiny) PNG: the media checks look at the bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cff0bf0100050001ff5ccfa2d70000000049454e44ae426082")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG picture of one colour with a darker band (something a person can see in a screenshot)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    dark = bytes(c // 2 for c in rgb)
    rows = b"".join(b"\x00" + (dark if height // 3 < y < height // 2 else bytes(rgb)) * width for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@dataclass
class Shop:
    """One tenant's fixtures: a user per role and an API key."""

    tenant_id: str
    api_key: str

    def email(self, role: str) -> str:
        return f"{role}@{self.tenant_id}.test"


@dataclass
class MadeOnce:
    """The store web_env makes (its users and keys), kept after the first test to copy for the others:
    each password costs an argon2 hash (0.13 s), six of them per test."""

    store: Path | None = None
    shops: dict[str, Shop] = field(default_factory=dict)


web_store = MadeOnce()  # for the whole run (modules outside tests/web import web_env from here)


@pytest.fixture
def web_env(grace_env, monkeypatch, tmp_path_factory):
    # Grace (Rasa) is not running in these tests: the customer is told later from the outbox.
    monkeypatch.setenv("GRACE_RASA_URL", f"http://127.0.0.1:{free_port()}")
    for name in ("GRACE_MEDIA_DIR", "GRACE_MEDIA_BASE_URL", "GRACE_MEDIA_S3_BUCKET", "GRACE_WEB_SECRET_KEY",
                 "REDIS_URL", "GRACE_WEB_LOGIN_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    store = grace_env / "var" / "grace.db"
    copyable = load_settings().database_url == f"sqlite:///{store}"  # not when a test moved it to PostgreSQL
    if copyable and web_store.store is not None:
        copy_store(web_store.store, store)  # before anything of this test opened it
        return dict(web_store.shops)
    shops = {}
    with session_scope() as session:
        for tenant_id in ("akanraby", "kentehouse"):
            for role in ("owner", "ops", "viewer"):
                create_user(session, tenant_id, f"{role}@{tenant_id}.test", role, PASSWORD)
            _, key = create_api_key(session, tenant_id, "tests")
            shops[tenant_id] = Shop(tenant_id, key)
    if copyable:
        web_store.store = tmp_path_factory.mktemp("web-store") / "grace.db"
        copy_store(store, web_store.store)
        web_store.shops = shops
    return dict(shops)


@pytest.fixture
def app(web_env):
    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def post_form(client, path: str, data: dict | None = None, page: str = "/"):
    """Submit a form the way a browser does: with the CSRF token of a page of this session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def make_order(tenant_id: str, phone: str, name: str | None = "Ada") -> str:
    tenant = get_registry().get(tenant_id)
    fabric = tenant.catalog.fabrics[0]
    with session_scope() as session:
        customer = get_or_create_customer(session, tenant.id, phone, name)
        session.flush()
        quote = build_quote(tenant, [{"sku": fabric.sku, "qty": fabric.min_qty}], None, date.today())
        return place_order(session, tenant, customer, quote).reference


def send_proof(tenant_id: str, reference: str, text: str = "I have paid", image: bytes | None = None) -> int:
    """The customer sends a screenshot: kept by grace.messaging.media, recorded as a pending payment."""
    tenant = get_registry().get(tenant_id)
    stored = save_media(tenant_id, image or PNG + reference.encode(), "image/png")
    with session_scope() as session:
        order = order_by_reference(session, tenant_id, reference)
        return record_proof(session, tenant, order, proof_url=stored.url, content_type=stored.content_type,
                            text=text).payment.id


def pending_payment(tenant_id: str, phone: str, name: str | None = "Ada", text: str = "I have paid") -> tuple[str, int]:
    reference = make_order(tenant_id, phone, name)
    return reference, send_proof(tenant_id, reference, text)


def paid_order(tenant_id: str, phone: str, name: str = "Ada") -> str:
    reference, _ = pending_payment(tenant_id, phone, name)
    with session_scope() as session:
        verify_payment(session, get_registry().get(tenant_id), reference)
    return reference


def status_of(reference: str) -> str:
    with session_scope() as session:
        return session.scalars(select(Order).where(Order.reference == reference)).one().status


@pytest.fixture
def rasa(web_env, monkeypatch):
    """Rasa's HTTP API as the team's replies reach it (tests/test_takeover.py FakeRasa)."""
    from tests.test_takeover import RASA_TOKEN, FakeRasa

    with FakeRasa(RASA_TOKEN) as fake:
        monkeypatch.setenv("GRACE_RASA_URL", fake.url)
        monkeypatch.setenv("GRACE_RASA_TOKEN", RASA_TOKEN)
        yield fake
