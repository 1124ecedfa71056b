"""Retention: each business's periods (`retention:` in tenant.yml) applied by the outbox worker's hourly sweep.

- proof_images_days: proof-of-payment pictures older than that are removed (this machine and S3); the payment
  rows stay, amounts and verdicts included, without the picture;
- conversations_days: Rasa's events older than that are deleted from the tracker store (and the event broker's
  copy), so the inbox and the customer's page start later;
- media_days: other files customers sent (pictures of styles, voice notes), on this machine or in S3, older than
  that by the date in their name. Catalog and team pictures are the business's own and never touched.

A business whose sweep fails is logged and skipped: the others are swept all the same. What was removed is
audited as "system", in the session that records it."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from grace.config import load_settings
from grace.errors import GraceError
from grace.messaging.conversation_events import BROKER_TABLE, TRACKER_TABLE
from grace.messaging.media import MediaNotFound, MediaUnavailable, delete_media, media_names, stored_name
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.store import session_scope
from grace.store.audit import record
from grace.store.models import Payment, utcnow
from grace.tenancy.registry import Tenant, get_registry

log = logging.getLogger("grace.privacy.retention")
ACTION = "retention_applied"
# A customer's upload as grace.messaging.media names it: the day it was kept, then its digest (no prefix: a
# prefixed file is a catalog or team picture).
_UPLOAD = re.compile(r"^(\d{8})-[0-9a-f]{24}\.[a-z0-9]+$")


@dataclass
class Swept:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, n: int) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n


def apply_retention(tenant: Tenant, now: datetime | None = None, tracker_url: str | None = None) -> Swept:
    """Remove what this business keeps past its periods; `now` is naive UTC. Blocking: off the event loop."""
    now = now or utcnow()
    swept = Swept()
    periods = tenant.retention
    if periods.proof_images_days:
        _proofs(tenant.id, now - timedelta(days=periods.proof_images_days), swept)
    if periods.conversations_days:
        _conversations(tenant.id, now - timedelta(days=periods.conversations_days),
                       tracker_url or load_settings().tracker_database_url, swept)
    if periods.media_days:
        _media(tenant.id, now - timedelta(days=periods.media_days), swept)
    if swept.counts or swept.problems:
        with session_scope() as session:
            record(session, tenant.id, "system", ACTION, "retention",
                   {**swept.counts, **({"problems": len(swept.problems)} if swept.problems else {})})
    return swept


def sweep_all(now: datetime | None = None) -> dict[str, Swept]:
    """Every business with a period set; one that fails is logged and the next one swept."""
    done: dict[str, Swept] = {}
    registry = get_registry()
    for tenant_id in registry.ids():
        try:
            tenant = registry.get(tenant_id)
            retention = tenant.retention
            if retention.proof_images_days or retention.conversations_days or retention.media_days:
                done[tenant_id] = apply_retention(tenant, now)
        except (GraceError, SQLAlchemyError, OSError) as exc:
            log.error("retention for %s failed: %s", tenant_id, exc)
    return done


def _proofs(tenant_id: str, before: datetime, swept: Swept) -> None:
    with session_scope() as session:
        payments = session.scalars(select(Payment).where(Payment.tenant_id == tenant_id,
                                                         Payment.proof_url.isnot(None), Payment.created_at < before))
        for payment in payments:
            try:
                delete_media(tenant_id, stored_name(payment.proof_url or ""))
            except MediaNotFound:
                pass  # not one of Grace's files: nothing to remove, the link is dropped all the same
            except MediaUnavailable as exc:  # S3 down: tried again on the next sweep
                swept.problems.append(str(exc))
                continue
            payment.proof_url = None
            swept.add("proof pictures", 1)


def _conversations(tenant_id: str, before: datetime, url: str, swept: Swept) -> None:
    # The business's conversations are "<tenant>:<customer>": a range on the id (';' follows ':'), which no
    # tenant id's characters can widen the way LIKE's wildcards could.
    cutoff = before.replace(tzinfo=timezone.utc).timestamp()
    query = "DELETE FROM {table} WHERE sender_id >= :low AND sender_id < :high AND timestamp < :cutoff"
    bounds = {"low": f"{tenant_id}:", "high": f"{tenant_id};", "cutoff": cutoff}
    engine = tracker_engine(url)
    if engine is not None:
        with engine.begin() as connection:
            if inspect(connection).has_table(TRACKER_TABLE):
                swept.add("conversation events", connection.execute(
                    text(query.format(table=TRACKER_TABLE)), bounds).rowcount or 0)
    with session_scope() as session:
        if inspect(session.connection()).has_table(BROKER_TABLE):
            swept.add("conversation events", session.execute(
                text(query.format(table=BROKER_TABLE)), bounds).rowcount or 0)


def _media(tenant_id: str, before: datetime, swept: Swept) -> None:
    with session_scope() as session:  # proofs follow proof_images_days (or are kept)
        proofs = {_name(url) for url in session.scalars(select(Payment.proof_url).where(
            Payment.tenant_id == tenant_id, Payment.proof_url.isnot(None)))}
    day = before.strftime("%Y%m%d")
    try:
        names = media_names(tenant_id)
    except MediaUnavailable as exc:  # S3 down: the next sweep tries again
        swept.problems.append(str(exc))
        return
    for name in names:
        match = _UPLOAD.match(name)
        if match and match.group(1) < day and name not in proofs:
            try:
                delete_media(tenant_id, name)
            except MediaUnavailable as exc:
                swept.problems.append(str(exc))
                continue
            swept.add("files", 1)


def _name(url: str | None) -> str:
    try:
        return stored_name(url or "")
    except MediaNotFound:
        return ""
