"""Retention per business: proof pictures, conversations and other files customers sent are removed once older
than the business's periods (its payments stay), by the outbox worker's sweep, on a fixed clock; a business
without periods keeps everything, and one whose sweep fails does not stop the others. The `retention:` block is
read with the file and field named on a mistake, and set on the settings page."""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

import grace.run.outbox as outbox
from grace.config import load_settings
from grace.errors import TenantFileError
from grace.messaging.media import media_root
from grace.privacy.retention import sweep_all
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.store import session_scope
from grace.store.models import Payment
from grace.tenancy.registry import Retention, get_registry, parse_tenant
from tests.helpers import use_bucket
from tests.test_erasure import S3WithDeletes
from tests.web.conftest import PNG, make_order, send_proof

NOW = datetime(2026, 11, 30, 12, 0)  # naive UTC, as the store keeps times
RETENTION = "\nretention:\n  proof_images_days: 30\n  conversations_days: 90\n  media_days: 60\n"


@pytest.fixture
def shops(grace_env, monkeypatch):
    """Kente House keeps proofs 30 days, conversations 90, other files 60; Akanraby sets no periods."""
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'var' / 'tracker.db'}")
    for name in ("GRACE_MEDIA_DIR", "GRACE_MEDIA_BASE_URL", "GRACE_MEDIA_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    kente = grace_env / "tenants" / "kentehouse" / "tenant.yml"
    kente.write_text(kente.read_text() + RETENTION)
    return grace_env


def proof_sent(tenant_id: str, phone: str, days_ago: int) -> tuple[int, Path]:
    reference = make_order(tenant_id, phone, "Ama")
    payment_id = send_proof(tenant_id, reference, image=PNG + phone.encode() + str(days_ago).encode())
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        payment.created_at = NOW - timedelta(days=days_ago)
        name = payment.proof_url.rsplit("/", 1)[1]
    return payment_id, media_root() / tenant_id / name


def upload(tenant_id: str, days_ago: int, prefix: str = "") -> Path:
    """A file as grace.messaging.media names one it kept that day."""
    day = NOW - timedelta(days=days_ago)
    folder = media_root() / tenant_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}{day:%Y%m%d}-{hashlib.sha256(f'{prefix}{days_ago}'.encode()).hexdigest()[:24]}.jpg"
    path.write_bytes(b"\xff\xd8\xff" + path.name.encode())
    return path


def said(sender: str, days_ago: int, words: str) -> None:
    store = GraceSQLTrackerStore(dialect="sqlite", db=load_settings().tracker_database_url.split("///", 1)[1])
    moment = (NOW - timedelta(days=days_ago)).replace(tzinfo=timezone.utc).timestamp()
    tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, [])
    tracker.update(UserUttered(words, {"name": "greet", "confidence": 0.9}, timestamp=moment))
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def words_kept() -> list[str]:
    engine = GraceSQLTrackerStore(dialect="sqlite", db=load_settings().tracker_database_url.split("///", 1)[1]).engine
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events WHERE type_name = 'user'")).all()
    engine.dispose()
    return sorted(f"{sender.split(':')[0]}: {json.loads(data)['text']}" for sender, data in rows)


def proof_of(payment_id: int) -> str | None:
    with session_scope() as session:
        return session.get(Payment, payment_id).proof_url


def test_each_business_removes_what_is_older_than_its_periods_and_keeps_the_rest(shops):
    old_proof, old_proof_file = proof_sent("kentehouse", "+233244000101", 40)
    new_proof, new_proof_file = proof_sent("kentehouse", "+233244000102", 5)
    other_proof, other_proof_file = proof_sent("akanraby", "+2348011000101", 400)
    old_upload, new_upload = upload("kentehouse", 61), upload("kentehouse", 59)
    catalog_picture, akanraby_upload = upload("kentehouse", 400, "fabric-KH-001-"), upload("akanraby", 400)
    said("kentehouse:+233244000101", 100, "old hello")
    said("kentehouse:+233244000101", 10, "recent hello")
    said("akanraby:+2348011000101", 400, "very old hello at another shop")

    swept = sweep_all(now=NOW)

    assert list(swept) == ["kentehouse"]
    assert swept["kentehouse"].counts == {"proof pictures": 1, "conversation events": 1, "files": 1}
    assert proof_of(old_proof) is None and not old_proof_file.exists()
    with session_scope() as session:  # the payment stays, amounts and all
        assert session.get(Payment, old_proof).expected_minor > 0
    assert proof_of(new_proof) and new_proof_file.exists()
    assert not old_upload.exists() and new_upload.exists() and catalog_picture.exists()
    assert proof_of(other_proof) and other_proof_file.exists() and akanraby_upload.exists()
    assert words_kept() == ["akanraby: very old hello at another shop", "kentehouse: recent hello"]
    with session_scope() as session:
        entries = session.execute(text("SELECT tenant_id, actor, detail FROM audit_log "
                                       "WHERE action = 'retention_applied'")).all()
    assert [(t, a) for t, a, _ in entries] == [("kentehouse", "system")]

    assert sweep_all(now=NOW)["kentehouse"].counts == {}  # nothing more to remove on the next sweep
    later = sweep_all(now=NOW + timedelta(days=30))["kentehouse"].counts  # the new proof and upload come of age
    assert later == {"proof pictures": 1, "files": 1} and proof_of(new_proof) is None and not new_upload.exists()


def test_a_business_whose_sweep_fails_does_not_stop_the_others(shops):
    broken = shops / "tenants" / "aaa-broken"
    shutil.copytree(shops / "tenants" / "kentehouse", broken)
    (broken / "tenant.yml").write_text((broken / "tenant.yml").read_text() + "\nretention: [30]\n")
    old_proof, _ = proof_sent("kentehouse", "+233244000103", 40)
    assert list(sweep_all(now=NOW)) == ["kentehouse"] and proof_of(old_proof) is None


def test_the_outbox_workers_pass_runs_the_sweep(shops, monkeypatch):
    old_proof, old_file = proof_sent("kentehouse", "+233244000104", 400)  # 400 days before the fixed NOW
    monkeypatch.setattr(outbox, "_retention_swept_at", -outbox.RETENTION_EVERY)
    asyncio.run(outbox.deliver_pending())
    assert proof_of(old_proof) is None and not old_file.exists()
    again, _ = proof_sent("kentehouse", "+233244000105", 400)
    asyncio.run(outbox.deliver_pending())  # within the hour: not swept again
    assert proof_of(again) is not None


@pytest.mark.parametrize("block, field, words", [
    ("retention: 30", "retention", "expected proof_images_days"),
    ("retention:\n  proof_images_days: 30 days", "retention.proof_images_days", "whole days from 1 to 3650"),
    ("retention:\n  media_days: 0", "retention.media_days", "whole days"),
    ("retention:\n  media_days: 2.5", "retention.media_days", "whole days"),
    ("retention:\n  chats_days: 10", "retention.chats_days", "not a retention setting"),
])
def test_a_mistake_in_the_block_names_the_file_and_field(shops, block, field, words):
    folder = shops / "tenants" / "akanraby"
    (folder / "tenant.yml").write_text((folder / "tenant.yml").read_text() + f"\n{block}\n")
    with pytest.raises(TenantFileError) as raised:
        parse_tenant("akanraby", folder)
    assert raised.value.field == field and words in str(raised.value) and "tenant.yml" in str(raised.value)


def test_left_out_or_blank_keeps_everything(shops):
    assert get_registry().get("akanraby").retention == Retention()
    folder = shops / "tenants" / "akanraby"
    (folder / "tenant.yml").write_text((folder / "tenant.yml").read_text() + "\nretention:\n  media_days:\n")
    assert parse_tenant("akanraby", folder).retention == Retention()
    assert get_registry().get("kentehouse").retention == Retention(30, 90, 60)


def test_other_files_never_take_a_proof_with_them(shops):
    """Proofs follow proof_images_days (here: kept), however old their file is."""
    folder = shops / "tenants" / "akanraby"
    (folder / "tenant.yml").write_text((folder / "tenant.yml").read_text() + "\nretention:\n  media_days: 1\n")
    payment_id, path = proof_sent("akanraby", "+2348011000102", 400)
    kept_long_ago = path.rename(path.with_name("20250101-" + path.name.split("-", 1)[1]))
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        payment.proof_url = payment.proof_url.replace(path.name, kept_long_ago.name)
    assert sweep_all(now=NOW)["akanraby"].counts == {}
    assert kept_long_ago.exists() and proof_of(payment_id)


def test_files_in_s3_are_swept_by_the_same_periods(shops, monkeypatch):
    with S3WithDeletes() as s3:
        use_bucket(monkeypatch, s3)
        payment_id, _ = proof_sent("kentehouse", "+233244000106", 40)
        proof_key = next(iter(s3.objects))
        old, new = "media/kentehouse/20250101-" + "a" * 24 + ".jpg", "media/kentehouse/20261129-" + "b" * 24 + ".jpg"
        catalog = "media/kentehouse/fabric-KH-001-20250101-" + "c" * 24 + ".jpg"
        for key in (old, new, catalog):
            s3.objects[key] = (b"\xff\xd8\xff", "image/jpeg")
        assert sweep_all(now=NOW)["kentehouse"].counts == {"proof pictures": 1, "files": 1}
        assert sorted(s3.objects) == sorted([new, catalog]) and proof_key not in s3.objects
        assert proof_of(payment_id) is None
        s3.refuse_deletes = True  # S3 refusing: said, and tried again on the next sweep
        s3.objects[old] = (b"\xff\xd8\xff", "image/jpeg")
        assert sweep_all(now=NOW)["kentehouse"].problems and old in s3.objects
