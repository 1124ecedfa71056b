"""Erasing a customer: no trace of their number is left in any table of the app store, in Rasa's tracker store,
among the media files or in the learning loop's files; their orders and payments stay for the accounts,
anonymised; the same number at another business, and another customer here, keep everything."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, inspect, select, text

from grace.config import load_settings
from grace.messaging.contacts import record_inbound
from grace.messaging.inbound import conversation_id
from grace.messaging.inbox import first_delivery
from grace.messaging.media import save_media
from grace.messaging.message_states import record_sent
from grace.messaging.notifications import reply_from_ops
from grace.messaging.takeover import take_over
from grace.messaging.team_notes import add_label, add_note
from grace.privacy.erasure import erase_customer
from grace.privacy.requests import DONE, PARTIAL, confirm, erase
from grace.rasa_plugins.event_broker import AnalyticsEventBroker
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.store import session_scope
from grace.store.models import (
    Broadcast,
    BroadcastRecipient,
    Customer,
    FallbackLog,
    Feedback,
    Handoff,
    Order,
    Payment,
    PendingTurn,
    PrivacyRequest,
    RestockAlert,
    UsageCount,
)
from grace.tenancy.registry import get_registry
from grace.tenancy.usage import conversation_mark, meter_message, month_of
from grace.whatsapp.choices import remember_choices
from tests.fakes.s3_api import FakeS3, _s3_error
from tests.fakes.twilio_api import Reply
from tests.helpers import use_bucket
from tests.test_dedupe import redis_inbox  # noqa: F401  (the inbox in this machine's Redis)
from tests.web.conftest import make_order, send_proof

ZAINAB = "+2348077700001"  # the customer who asks to be erased
FORMS = (ZAINAB, ZAINAB[1:], f"whatsapp:{ZAINAB}", "08077700001")  # as stored, as digits, as Twilio, as she writes it
KEMI = "+2348077700002"  # another customer of the same business: kept whole
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
PICTURE = b"\xff\xd8\xff\xe0" + b"a dress she liked" * 20


class S3WithDeletes(FakeS3):
    """The local S3 with DeleteObject, which can be made to refuse (a key without the permission), and
    ListObjectsV2 (one page)."""

    refuse_deletes = False

    def _handle(self, method, target, headers, body):
        parts = urlsplit(target)
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        if method != "GET" or bucket != self.bucket or key or "list-type=2" not in parts.query:
            return super()._handle(method, target, headers, body)
        refusal = self._authenticate(method, target, headers, body)
        if refusal is not None:
            return refusal
        prefix = parse_qs(parts.query).get("prefix", [""])[0]
        with self._cond:
            found = sorted((k, len(v[0])) for k, v in self.objects.items() if k.startswith(prefix))
        listing = "".join(f"<Contents><Key>{escape(k)}</Key><Size>{size}</Size></Contents>" for k, size in found)
        return Reply(200, (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{S3_NAMESPACE}">'
                           f"<Name>{self.bucket}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(found)}"
                           f"</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{listing}"
                           "</ListBucketResult>").encode(), "application/xml")

    def _operate(self, method, path, headers, body):
        bucket, _, key = path.lstrip("/").partition("/")
        if method == "DELETE" and key and bucket == self.bucket:
            if self.refuse_deletes:
                return _s3_error(403, "AccessDenied", "Access Denied")
            with self._cond:
                self.objects.pop(key, None)
            return Reply(204, b"", "application/xml")
        return super()._operate(method, path, headers, body)


@pytest.fixture
def stores(grace_env, monkeypatch):
    """The app store and the tracker store in SQLite files, the media on disk, the review files in var/."""
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'var' / 'tracker.db'}")
    monkeypatch.setenv("GRACE_SUGGESTIONS_DIR", str(grace_env / "var" / "suggestions"))
    for name in ("GRACE_MEDIA_DIR", "GRACE_MEDIA_BASE_URL", "GRACE_MEDIA_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    (grace_env / "var").mkdir(exist_ok=True)
    return grace_env


def tracker_store() -> GraceSQLTrackerStore:
    url = load_settings().tracker_database_url
    if url.startswith("sqlite"):
        return GraceSQLTrackerStore(dialect="sqlite", db=url.split("///", 1)[1])
    return GraceSQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=5432, username="postgres",
                                db=url.rsplit("/", 1)[1])


def at(day: int, hour: int = 9) -> float:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc).timestamp()


def a_customers_life(tenant_id: str, phone: str, name: str) -> dict:
    """Everything Grace keeps about a customer who wrote, sent a picture, ordered, paid with a screenshot, was
    noted and labelled by the team, taken over, written to, broadcast to, waited for a restock, hit the
    fallback and asked for a person."""
    tenant = get_registry().get(tenant_id)
    conversation = conversation_id(tenant_id, phone)
    record_inbound(tenant_id, phone, "whatsapp")
    meter_message(tenant_id, conversation)  # as every turn does: the month's mark of the conversation
    dress = save_media(tenant_id, PICTURE + phone.encode(), "image/jpeg")
    reference = make_order(tenant_id, phone, name)
    payment_id = send_proof(tenant_id, reference, text=f"I have paid {name}")
    store = tracker_store()
    asyncio.run(store.save(DialogueStateTracker.from_events(conversation, [
        UserUttered("abeg how much is ankara", {"name": "ask_price", "confidence": 0.9}, timestamp=at(1),
                    metadata={"customer_name": name}),
        BotUttered("Marigold Bloom is ₦4,500 per yard", timestamp=at(1) + 1),
        UserUttered("/share_image", {"name": "share_image", "confidence": 1.0}, timestamp=at(1) + 2,
                    metadata={"media": [dress.as_inbound("https://api.twilio.com/Media/ME1")], "caption": "like this"}),
        UserUttered(f"my number na {FORMS[3] if phone == ZAINAB else '0800'}", {"name": "inform", "confidence": 0.9},
                    timestamp=at(1) + 3)])))
    store.engine.dispose()
    remember_choices(tenant_id, conversation, [{"title": "Pickup", "payload": "pickup"}])
    record_sent(tenant_id, "whatsapp", f"SM{tenant_id}{phone[-6:]}", phone, "reply")
    with session_scope() as session:
        customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant_id,
                                                          Customer.phone == phone)).one()
        customer.preferences = {"colours": ["gold"], "city": "Lekki"}
        order = session.scalars(select(Order).where(Order.reference == reference)).one()
        order.delivery_address = f"12 Admiralty Way, for {name}"
        add_note(session, tenant_id, conversation, "ops@akanraby.test", f"{name} wants it before Sallah")
        add_label(session, tenant_id, conversation, "vip")
        take_over(session, tenant_id, conversation, 7, "ops@akanraby.test")
        reply_from_ops(session, tenant_id, conversation, f"Hello {name}, it ships Monday", "ops@akanraby.test")
        broadcast = Broadcast(tenant_id=tenant_id, name="Sallah sale", template={}, variables=[], segment={})
        session.add(broadcast)
        session.flush()
        session.add(BroadcastRecipient(broadcast_id=broadcast.id, tenant_id=tenant_id, phone=phone, status="sent"))
        session.add(RestockAlert(tenant_id=tenant_id, phone=phone, sku="AK-001"))
        session.add(PendingTurn(tenant_id=tenant_id, channel="whatsapp", message_id=f"SMin{tenant_id}{phone[-6:]}",
                                payload={"tenant": tenant_id, "customer": phone, "text": "hello?"}))
        session.add(FallbackLog(tenant_id=tenant_id, conversation_id=conversation, text="wetin be aso-oke price",
                                intent="nlu_fallback", confidence=0.2, intent_ranking=[], funnel_stage="start",
                                answered_by="library", answer="Sorry?"))
        session.add(Handoff(tenant_id=tenant_id, customer_id=customer.id, conversation_id=conversation,
                            message_text=f"{name} wants a person"))
        session.add(Feedback(tenant_id=tenant_id, customer_id=customer.id, order_id=order.id,
                             text=f"{name} loved it", rating=5))
        total, deposit = order.total_minor, order.deposit_minor
    return {"reference": reference, "payment_id": payment_id, "dress": dress, "total": total, "deposit": deposit,
            "tenant": tenant}


def review_files() -> Path:
    folder = Path(load_settings().var_dir / "suggestions")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "review.md").write_text('## 1. "wetin be aso-oke price"\n\n- wordings:\n  - "wetin be aso-oke price"\n'
                                      '  - "how much for lace"\n', encoding="utf-8")
    (folder / "nlu.yml.review").write_text("- intent: ask_price\n  examples: |\n    - wetin be aso-oke price\n"
                                           "    - how much for lace\n", encoding="utf-8")
    return folder


def broker_copy(conversations: list[str]) -> None:
    """The event broker's stream in the app store (the scaled profile), with a copy of each conversation."""
    engine = create_engine(load_settings().database_url, future=True)
    AnalyticsEventBroker.Base.metadata.create_all(engine)
    with engine.begin() as connection:
        for sender in conversations:
            connection.execute(text("INSERT INTO analytics_events (sender_id, type_name, timestamp, data) "
                                    "VALUES (:s, 'user', 1, :d)"), {"s": sender, "d": f'{{"sender_id": "{sender}"}}'})
    engine.dispose()


def traces(url: str, allowed: tuple[str, ...]) -> list[str]:
    """Every row of every table of the database at `url` holding one of the number's forms, except rows of the
    businesses in `allowed` (by tenant_id, or by a tracker event's sender_id)."""
    engine = create_engine(url, future=True)
    found = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                owner = str(row.get("tenant_id") or row.get("sender_id") or "").split(":")[0]
                if owner in allowed:
                    continue
                words = " ".join(str(value) for value in row.values())
                if any(form in words for form in FORMS):
                    found.append(f"{table}: {dict(row)}")
    engine.dispose()
    return found


def files_with_the_number(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else ():
            if path.is_file() and not path.name.endswith((".db", ".db-wal", ".db-shm")):
                data = path.read_bytes()
                if any(form.encode() in data or form in path.name for form in FORMS):
                    found.append(str(path))
    return found


def erase_zainab() -> PrivacyRequest:
    with session_scope() as session:
        return erase(session, get_registry().get("akanraby"), ZAINAB, "api", "api-key gk_test")


def check_no_trace(grace_env: Path, zainab: dict, kemi: dict, elsewhere: dict) -> None:
    settings = load_settings()
    assert traces(settings.database_url, allowed=("kentehouse",)) == []
    assert traces(settings.tracker_database_url, allowed=("kentehouse",)) == []
    assert files_with_the_number(settings.var_dir / "media" / "akanraby", settings.var_dir / "suggestions") == []
    assert not zainab["dress"].path.exists()
    with session_scope() as session:
        payment = session.get(Payment, zainab["payment_id"])
        order = session.scalars(select(Order).where(Order.reference == zainab["reference"])).one()
        # kept for the accounts, with their amounts, but no longer hers
        assert (order.total_minor, order.deposit_minor, payment.expected_minor) == \
            (zainab["total"], zainab["deposit"], zainab["deposit"])
        assert order.customer.phone == f"erased-{order.customer.id}" and order.customer.name is None
        assert order.customer.preferences == {} and order.delivery_address is None
        assert payment.proof_url is None and payment.message_text is None and payment.reading is None
        # the other customer and the same number at another business keep everything
        kept = session.scalars(select(Customer).where(Customer.phone.in_([KEMI, ZAINAB]))).all()
        assert sorted((c.tenant_id, c.phone, c.name) for c in kept) == [
            ("akanraby", KEMI, "Kemi"), ("kentehouse", ZAINAB, "Zainab")]
        assert session.get(Payment, kemi["payment_id"]).proof_url
    assert kemi["dress"].path.exists() and elsewhere["dress"].path.exists()
    with session_scope() as session:  # the usage marks (a digest of the number) go; the month's counts stay
        marks = {(row.tenant_id, row.metric) for row in session.scalars(select(UsageCount))}
    month = month_of()
    assert ("akanraby", conversation_mark(month, conversation_id("akanraby", ZAINAB))) not in marks
    assert ("akanraby", conversation_mark(month, conversation_id("akanraby", KEMI))) in marks
    assert ("kentehouse", conversation_mark(month, conversation_id("kentehouse", ZAINAB))) in marks
    assert ("akanraby", "conversations") in marks
    assert traces(settings.tracker_database_url, allowed=()) != []  # Kente House's conversation is still there
    review = (settings.var_dir / "suggestions" / "review.md").read_text()
    assert "aso-oke" not in review and '"how much for lace"' in review


def test_an_erased_customer_leaves_no_trace_anywhere(stores):
    zainab = a_customers_life("akanraby", ZAINAB, "Zainab")
    kemi = a_customers_life("akanraby", KEMI, "Kemi")
    elsewhere = a_customers_life("kentehouse", ZAINAB, "Zainab")
    review_files()
    broker_copy([conversation_id("akanraby", ZAINAB), conversation_id("kentehouse", ZAINAB)])
    assert traces(load_settings().database_url, allowed=("kentehouse",)) != []  # the search finds her before

    request = erase_zainab()

    check_no_trace(stores, zainab, kemi, elsewhere)
    assert request.status == DONE
    counts = request.summary["counts"]
    assert counts["conversation events"] >= 5 and counts["files"] == 2 and counts["orders kept (anonymised)"] == 1
    assert counts["contact"] == 1 and counts["notes"] == 1 and counts["labels"] == 1
    with session_scope() as session:
        entry = session.execute(text("SELECT actor, target FROM audit_log WHERE action = 'customer_erased'")).one()
    assert entry == ("api-key gk_test", f"customer {request.customer_id}")


def test_erasing_again_finds_nothing_and_changes_nothing(stores):
    a_customers_life("akanraby", ZAINAB, "Zainab")
    erase_zainab()
    with session_scope() as session:
        again = erase_customer(session, "akanraby", ZAINAB)
    assert again.counts == {} and again.complete


def test_files_s3_would_not_remove_are_named_and_removed_on_the_next_run(stores, monkeypatch):
    with S3WithDeletes() as s3:
        use_bucket(monkeypatch, s3)
        zainab = a_customers_life("akanraby", ZAINAB, "Zainab")
        assert len(s3.objects) == 2  # her picture and her proof
        s3.refuse_deletes = True
        request = erase_zainab()
        assert request.status == PARTIAL and len(request.summary["files_left"]) == 2
        assert len(s3.objects) == 2
        with session_scope() as session:  # the rest is erased already: nothing points to the files any more
            assert session.get(Payment, zainab["payment_id"]).proof_url is None
        s3.refuse_deletes = False
        with session_scope() as session:
            again = confirm(session, get_registry().get("akanraby"), request.id, "owner@akanraby.test")
            assert again.status == DONE and again.summary["files_left"] == []
        assert s3.objects == {}


@pytest.fixture
def postgres_stores(stores, pg_url, monkeypatch):
    """The scaled profile: the app store, Rasa's tracker store and the event broker in one PostgreSQL database."""
    monkeypatch.setenv("GRACE_DATABASE_URL", pg_url)
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", pg_url)
    return stores


def test_no_trace_on_postgresql_too(postgres_stores):
    zainab = a_customers_life("akanraby", ZAINAB, "Zainab")
    kemi = a_customers_life("akanraby", KEMI, "Kemi")
    elsewhere = a_customers_life("kentehouse", ZAINAB, "Zainab")
    review_files()
    broker_copy([conversation_id("akanraby", ZAINAB), conversation_id("kentehouse", ZAINAB)])
    assert erase_zainab().status == DONE
    check_no_trace(postgres_stores, zainab, kemi, elsewhere)


def test_an_erased_customers_unfinished_turns_in_redis_go_and_everyone_elses_stay(redis_inbox):  # noqa: F811
    def turn(tenant_id: str, phone: str) -> dict:
        return {"sender": conversation_id(tenant_id, phone), "text": "hello", "customer": phone}

    assert first_delivery("akanraby", "whatsapp", "SMzainab", pending=turn("akanraby", ZAINAB))
    assert first_delivery("akanraby", "whatsapp", "SMkemi", pending=turn("akanraby", KEMI))
    assert first_delivery("kentehouse", "whatsapp", "SMzainab2", pending=turn("kentehouse", ZAINAB))

    request = erase_zainab()

    assert request.summary["counts"]["unfinished turns"] == 1
    left = {key.rsplit(":", 1)[1]: redis_inbox.hget(key, "tenant") for key in redis_inbox.scan_iter("grace:pending:*")}
    assert left == {"SMkemi": "akanraby", "SMzainab2": "kentehouse"}
    assert set(redis_inbox.zrange("grace:pending-by-age:whatsapp", 0, -1)) == {"SMkemi", "SMzainab2"}
