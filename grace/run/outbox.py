"""`python -m grace.run.outbox`: deliver the notifications Grace writes first, over WhatsApp.

The actions write notifications into the store's outbox in the same
transaction as the change they announce (a payment proof, a handoff); this
worker sends them to the tenant's ops numbers under WhatsApp's rules and marks
each one sent, failed (retried a few times) or skipped with the reason.
Several workers may run: a row is claimed by one of them before it is sent.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from grace.concurrency import off_loop
from grace.config import load_settings, refuse_placeholder_secrets
from grace.errors import GraceError
from grace.messaging.inbound import is_whatsapp_customer, split_conversation_id
from grace.messaging.notifications import (
    BALANCE_REMINDER,
    BALANCE_REQUEST,
    HANDOFF,
    OPS_REPLY,
    ORDER_EXPIRED,
    ORDER_STATUS,
    PAYMENT_PROOF,
    PAYMENT_REMINDER,
    REORDER,
    RESTOCK,
    SUMMARY_NUDGE,
    UNDELIVERED,
    WHATSAPP,
    kinds_by,
)
from grace.messaging.takeover import hand_back_idle
from grace.money import format_money
from grace.privacy.retention import sweep_all
from grace.rasa_plugins.tracker_reader import tracker_engine
from grace.shop.follow_ups import (
    alert_restocked_fabrics,
    schedule_reorder_suggestions,
    schedule_summary_nudges,
    withdraw_stale_nudges,
)
from grace.shop.proof_check import read_waiting_proofs
from grace.shop.reminders import expire_lapsed_orders, schedule_balance_reminders, schedule_payment_reminders
from grace.store import session_scope
from grace.store.models import Notification, utcnow
from grace.tenancy.registry import Tenant, get_registry
from grace.tenancy.wording import Wording
from grace.whatsapp.broadcasting import send_broadcasts
from grace.whatsapp.delivery import Outcome, close_providers, send_proactive

log = logging.getLogger("grace.run.outbox")
MAX_ATTEMPTS = 5
BATCH = 20


@dataclass
class Claimed:
    id: int
    tenant_id: str
    kind: str
    recipients: list[str]
    payload: dict


def claim_pending(limit: int = BATCH) -> list[Claimed]:
    """Take pending notifications this worker sends over WhatsApp (an atomic pending→sending switch).
    Payment verdicts are not among them: they reach the conversation through Rasa (grace.messaging.rasa_delivery)."""
    claimed = []
    with session_scope() as session:
        due = or_(Notification.not_before.is_(None), Notification.not_before <= utcnow())
        rows = session.scalars(select(Notification).where(
            Notification.status == "pending", Notification.kind.in_(kinds_by(WHATSAPP)), due,
        ).order_by(Notification.id).limit(limit))
        for row in rows.all():
            taken = session.execute(update(Notification).where(
                Notification.id == row.id, Notification.status == "pending").values(
                status="sending", attempts=Notification.attempts + 1))
            if taken.rowcount == 1:
                claimed.append(Claimed(row.id, row.tenant_id, row.kind, list(row.recipients), dict(row.payload)))
    return claimed


def release_stuck(older_than: timedelta = timedelta(minutes=10)) -> int:
    """At start: rows a dead worker left half-sent go back to pending (a live worker finishes a
    row in seconds). Returns how many."""
    with session_scope() as session:
        return session.execute(update(Notification).where(
            Notification.status == "sending", Notification.created_at < utcnow() - older_than,
        ).values(status="pending")).rowcount


def finish(row_id: int, outcomes: list[Outcome]) -> str:
    """Record how it went: sent to everyone, retried later, or skipped with the reason. A final failure
    (the number cannot receive WhatsApp messages) is not retried: the row fails at once, or counts as
    sent when it reached its other recipients, with the reason kept."""
    with session_scope() as session:
        row = session.get(Notification, row_id)
        failed = [o for o in outcomes if o.status == "failed"]
        retryable = [o for o in failed if not o.final]
        if outcomes and all(o.status == "sent" for o in outcomes):
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
        elif retryable:
            row.status = "pending" if row.attempts < MAX_ATTEMPTS else "failed"
            row.last_error = "; ".join(o.detail for o in failed)[:500]
        elif failed and not any(o.status == "sent" for o in outcomes):
            row.status = "failed"
            row.last_error = "; ".join(o.detail for o in outcomes if o.status != "sent")[:500]
        elif any(o.status == "sent" for o in outcomes):
            row.status, row.sent_at = "sent", utcnow()
            row.last_error = "; ".join(o.detail for o in outcomes if o.status != "sent")[:500]
        else:
            row.status = "skipped"
            row.last_error = "; ".join(o.detail for o in outcomes)[:500] or "no recipients"
        return row.status


def whatsapp_messages(tenant: Tenant, row: Claimed) -> tuple[list[dict], list[str]]:
    """The WhatsApp messages for a notification, and their template variables."""
    if row.kind == UNDELIVERED:  # a turn's replies the provider refused earlier
        replies = list(row.payload.get("messages") or [])
        return replies, [(replies[0].get("text") or "")[:900] if replies else ""]
    message, variables = _message(tenant, row)
    return [message], variables


def _message(tenant: Tenant, row: Claimed) -> tuple[dict, list[str]]:
    say = Wording(tenant)
    payload = row.payload
    name_part = f" {payload['customer_name']}" if payload.get("customer_name") else ""
    if row.kind == PAYMENT_REMINDER:
        deposit = format_money(payload.get("deposit_minor") or 0, tenant.currency)
        text = say("payment_reminder", name_part=name_part, reference=payload["order_reference"],
                   deposit=deposit, hours_left=payload.get("hours_left", ""))
        return {"text": text}, [payload["order_reference"], deposit]
    if row.kind in (BALANCE_REQUEST, BALANCE_REMINDER):
        balance = format_money(payload.get("balance_minor") or 0, tenant.currency)
        payment = tenant.payment
        sample_note = f"\n\n{say('sample_bank_note')}" if payment.sample else ""
        text = say(row.kind, name_part=name_part, reference=payload["order_reference"], balance=balance,
                   bank=payment.bank_name, account_name=payment.account_name,
                   account_number=payment.account_number, instructions=payment.instructions, sample_note=sample_note)
        return {"text": text}, [payload["order_reference"], balance]
    if row.kind == ORDER_EXPIRED:
        text = say("order_expired", name_part=name_part, reference=payload["order_reference"],
                   items=payload.get("items", ""), example=payload.get("example", ""))
        return {"text": text}, [payload["order_reference"], payload.get("items", "")[:200]]
    if row.kind == RESTOCK:
        text = say("restock_alert", name_part=name_part, name=payload.get("name", ""), sku=payload.get("sku", ""),
                   unit_plural=payload.get("unit_plural", ""))
        return {"text": text}, [payload.get("name", ""), payload.get("sku", "")]
    if row.kind == SUMMARY_NUDGE:
        text = say("summary_nudge", name_part=name_part, items=payload.get("items", ""))
        return {"text": text}, [payload.get("items", "")[:200]]
    if row.kind == REORDER:
        text = say("reorder_suggestion", name_part=name_part, reference=payload["order_reference"],
                   items=payload.get("items", ""), example=payload.get("example", ""))
        return {"text": text}, [payload["order_reference"], payload.get("items", "")[:200]]
    if row.kind == OPS_REPLY:  # the team's own words, as written
        return {"text": payload["text"]}, [payload["text"][:900]]
    if row.kind == ORDER_STATUS:
        text = say(f"order_{payload['status']}", name_part=name_part, reference=payload["order_reference"])
        return {"text": text}, [payload["order_reference"], payload["status"].replace("_", " ")]
    summary = payload.get("summary") or row.kind
    reference = payload.get("order_reference") or ""
    if row.kind == PAYMENT_PROOF:
        message = {"text": say("ops_payment_proof", summary=summary, reference=reference)}
        proof = str(payload.get("proof_url") or "")
        if proof.startswith(("https://", "http://")):  # WhatsApp fetches it: only a public URL will do
            message["image"] = proof
        # the amount the customer says they paid; never the expected deposit in its place
        stated, expected = payload.get("stated_minor"), payload.get("expected_minor")
        due = "balance" if payload.get("payment_kind") == "balance" else "deposit"
        amount = (format_money(stated, tenant.currency) if stated is not None else
                  f"not stated ({due} due {format_money(expected, tenant.currency)})" if expected else "not stated")
        variables = [reference, amount, payload.get("customer", "")]
        return message, variables
    if row.kind == HANDOFF:
        return {"text": say("ops_handoff", summary=summary)}, [payload.get("customer", ""), summary[:200]]
    return {"text": summary}, [summary[:200]]


async def deliver(row: Claimed) -> str:
    try:
        tenant = await off_loop(get_registry().get, row.tenant_id)
    except GraceError as exc:
        return await off_loop(finish, row.id, [Outcome("failed", f"tenant unreadable: {exc}")])
    messages, variables = whatsapp_messages(tenant, row)
    phones = [split_conversation_id(r)[1] for r in row.recipients]  # customers: "<tenant>:<phone>"
    channel = row.payload.get("channel")  # a reply goes back the way the message came
    outcomes = [await send_proactive(tenant, phone, messages, row.kind, variables, channel=channel,
                                     notification_id=row.id)
                if is_whatsapp_customer(phone) else Outcome("skipped", f"{phone} is not a WhatsApp customer")
                for phone in phones]
    status = await off_loop(finish, row.id, outcomes)
    log.info("notification %s (%s, %s): %s", row.id, row.tenant_id, row.kind, status)
    return status


async def deliver_pending() -> int:
    """One pass over the outbox (expiries and reminders due included); returns how many notifications
    were handled."""
    await off_loop(expire_lapsed_orders)
    await off_loop(schedule_payment_reminders)
    await off_loop(schedule_balance_reminders)
    await off_loop(hand_back_idle)  # takeovers nobody of the team acted on for takeover_idle_minutes
    await off_loop(follow_ups)
    await off_loop(retention)
    rows = await off_loop(claim_pending)
    for row in rows:
        await deliver(row)
    # Broadcasts after the notifications due, each at its own pace (a claim per broadcast per round)
    await send_broadcasts()
    # OCR of proof pictures (about a second each), after the messages due went out and never in a customer's turn
    await off_loop(read_waiting_proofs)
    return len(rows)


# The follow-ups due are looked for every FOLLOW_UPS_EVERY seconds (their delays are minutes and days, and
# the nudges read Rasa's tracker store); a nudge no longer wanted is withdrawn on every pass, just before the
# claim, so it is checked when it is sent.
FOLLOW_UPS_EVERY = 30.0
_follow_ups_looked_at = -FOLLOW_UPS_EVERY


def follow_ups() -> None:
    """Restock alerts, summary nudges and reorder suggestions due (grace.shop.follow_ups)."""
    global _follow_ups_looked_at
    tracker = tracker_engine(load_settings().tracker_database_url)
    if time.monotonic() - _follow_ups_looked_at >= FOLLOW_UPS_EVERY:
        _follow_ups_looked_at = time.monotonic()
        alert_restocked_fabrics()
        schedule_summary_nudges(tracker)
        schedule_reorder_suggestions()
    withdraw_stale_nudges(tracker)


# Each business's retention periods are days: swept once an hour (grace.privacy.retention), a business whose
# sweep fails never stopping the others'.
RETENTION_EVERY = 3600.0
_retention_swept_at = -RETENTION_EVERY


def retention() -> None:
    """Remove what businesses keep past their retention periods, at most once every RETENTION_EVERY seconds."""
    global _retention_swept_at
    if time.monotonic() - _retention_swept_at >= RETENTION_EVERY:
        _retention_swept_at = time.monotonic()
        try:
            sweep_all()
        except Exception:  # the messages due still go out; the next hour tries again
            log.exception("retention sweep failed")


async def run_forever(poll_seconds: float) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info("outbox worker polling every %.1fs", poll_seconds)
    released = await off_loop(release_stuck)
    if released:
        log.warning("%d notification(s) left half-sent by a stopped worker will be sent again", released)
    while not stopping.is_set():
        try:
            await deliver_pending()
        except Exception:  # a bad pass must not stop the next one
            log.exception("outbox pass failed")
        try:
            await asyncio.wait_for(stopping.wait(), timeout=poll_seconds)
        except asyncio.TimeoutError:
            pass
    await close_providers()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    refuse_placeholder_secrets("the outbox worker")
    asyncio.run(run_forever(float(os.environ.get("GRACE_OUTBOX_POLL_S", "2"))))


if __name__ == "__main__":
    main()
