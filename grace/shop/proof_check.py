"""Reading customers' proof pictures in the background, for ops.

A proof picture is read by OCR (Debian's Tesseract through pytesseract, about a second a picture),
never in the customer's turn: the outbox worker calls read_waiting_proofs on every poll, which reads
each pending payment's picture that has no reading yet and stores, beside the payment, what the
receipt says (grace.understanding.receipts), the verdict against the expected amount and reference,
and a perceptual hash of the picture. The same picture (hash within a few bits: a re-saved or
re-compressed copy) already sent for another order of the same business is flagged as reused. None
of this verifies or rejects a payment: ops decide, with the picture in front of them.

A picture that cannot be fetched or read, a PDF, or a broken file gets the verdict "unreadable" with
the reason; one payment's or one business's trouble never stops the pass.
"""
from __future__ import annotations

import io
import logging
import os
import re
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat
from sqlalchemy import select, update

from grace.errors import GraceError
from grace.messaging.media import read_media
from grace.money import format_money
from grace.store import session_scope
from grace.store.models import Order, Payment
from grace.tenancy.registry import Tenant, get_registry
from grace.understanding.receipts import UNREADABLE, ReceiptReading, judge, read_receipt

log = logging.getLogger(__name__)

BATCH = 10  # pictures per tenant per pass: about ten seconds, so the outbox's own sends are not held up
# pHash on an 11x11 grid (121 bits, 31 hex characters: fits the 32 of the column). The usual 8x8 grid
# sees receipts of one bank app as one picture (layout alike, 6 bits apart); 11x11 keeps them 12+ apart
# while a re-compressed, resized copy of one picture stays within 4.
HASH_SIZE = 11
REUSED_BITS = 6
_HASH = re.compile(r"[0-9a-f]{31}")
MAX_PIXELS = 40_000_000  # a phone screenshot is a few million; beyond this it is no receipt
OCR_WIDTH = 1400  # receipts' small print reads best at about this width
OCR_TIMEOUT_S = 120  # about a second a picture, but the worker's machine may be busy (training, other turns)
# Tesseract's own threads only fight each other and the worker on a small machine (its docs advise one
# thread when pictures are read one after another); an operator's setting wins.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class ProofUnreadable(GraceError):
    """The picture could not be read; the message says why, for ops."""


@dataclass(frozen=True)
class ProofCheck:
    reading: dict
    verdict: str
    image_hash: str | None


def ocr_text(picture: Image.Image) -> str:
    """The text in a receipt picture: grey, light text on dark turned round (dark-mode apps), scaled
    to a width Tesseract reads small print at, contrast stretched."""
    import pytesseract

    grey = ImageOps.exif_transpose(picture).convert("L")
    if ImageStat.Stat(grey).mean[0] < 110:
        grey = ImageOps.invert(grey)
    if grey.width != OCR_WIDTH and grey.width < 2 * OCR_WIDTH:
        grey = grey.resize((OCR_WIDTH, max(1, round(grey.height * OCR_WIDTH / grey.width))), Image.Resampling.LANCZOS)
    grey = ImageOps.autocontrast(grey, cutoff=1)
    try:
        # psm 6: one block of text, line by line: how a receipt's label / value rows read best.
        return str(pytesseract.image_to_string(grey, config="--psm 6", timeout=OCR_TIMEOUT_S))
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, RuntimeError, OSError) as exc:
        raise ProofUnreadable(f"OCR failed: {exc}") from exc


def open_picture(data: bytes) -> Image.Image:
    """The picture in `data`, or ProofUnreadable (not a picture, broken, absurdly large)."""
    try:
        picture = Image.open(io.BytesIO(data))
        if picture.width * picture.height > MAX_PIXELS:
            raise ProofUnreadable(f"picture too large to read ({picture.width}x{picture.height})")
        picture.load()
    except ProofUnreadable:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProofUnreadable(f"not a picture that can be opened: {exc}") from exc
    return picture


def perceptual_hash(picture: Image.Image) -> str:
    """imagehash's pHash (hex): alike for copies of one picture, apart for different ones."""
    import imagehash

    return str(imagehash.phash(ImageOps.exif_transpose(picture).convert("RGB"), hash_size=HASH_SIZE))


def hash_distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def check_picture(tenant: Tenant, data: bytes, *, currency: str, expected_minor: int,
                  reference: str) -> ProofCheck:
    """Read one proof picture for an order of `tenant`: what it says, the verdict, its hash.
    Blocking (OCR): call off the event loop."""
    picture = open_picture(data)
    image_hash = perceptual_hash(picture)
    text = ocr_text(picture)
    reading = read_receipt(text, currency, order_prefix=reference.split("-")[0], expected_reference=reference)
    account_number = tenant.payment.account_number
    verdict = judge(reading, expected_minor=expected_minor, reference=reference, account_number=account_number,
                    money=lambda minor: format_money(minor, currency))
    stored = reading.as_json() | {"reasons": verdict.reasons, "reference_found": verdict.reference_found,
                                  "account_found": verdict.account_found}
    return ProofCheck(stored, verdict.verdict, image_hash)


def _unreadable(reason: str, currency: str, image_hash: str | None = None) -> ProofCheck:
    empty = ReceiptReading(None, currency, None, None, None, None).as_json()
    return ProofCheck(empty | {"reasons": [reason], "reference_found": False, "account_found": False},
                      UNREADABLE, image_hash)


@dataclass(frozen=True)
class _Waiting:
    payment_id: int
    proof_url: str
    content_type: str
    expected_minor: int
    currency: str
    reference: str


def read_waiting_proofs(limit: int = BATCH) -> int:
    """Read every business's pending proof pictures that have no reading yet (at most `limit` each per
    call); returns how many were read. Blocking: the outbox worker runs it off its event loop."""
    read = 0
    for tenant in get_registry().serving():
        try:
            read += read_tenant_proofs(tenant, limit)
        except Exception:  # a broken business (its store rows, its files) must not stop the others' reading
            log.exception("reading %s's proofs failed", tenant.id)
    return read


def read_tenant_proofs(tenant: Tenant, limit: int = BATCH) -> int:
    with session_scope() as session:
        rows = session.execute(
            select(Payment.id, Payment.proof_url, Payment.proof_content_type, Payment.expected_minor,
                   Order.currency, Order.reference)
            .join(Order, Order.id == Payment.order_id)
            .where(Payment.tenant_id == tenant.id, Order.tenant_id == tenant.id, Payment.status == "pending",
                   Payment.proof_url.is_not(None), Payment.reading_verdict.is_(None))
            .order_by(Payment.id).limit(limit)).all()
    waiting = [_Waiting(*row) for row in rows]
    for item in waiting:  # no session is held while a picture is read
        check = _check(tenant, item)
        with session_scope() as session:
            reused = _reused(session, tenant.id, item.payment_id, check.image_hash, check.reading.get("amount_minor"))
            # Conditional: another worker that read the same picture meanwhile stored the same thing first.
            session.execute(update(Payment).where(
                Payment.id == item.payment_id, Payment.tenant_id == tenant.id, Payment.reading_verdict.is_(None),
            ).values(reading=check.reading, reading_verdict=check.verdict, image_hash=check.image_hash,
                     reused_payment_id=reused).execution_options(synchronize_session=False))
        log.info("proof of payment %s (%s, %s) read: %s%s", item.payment_id, tenant.id, item.reference,
                 check.verdict, f", same picture as payment {reused}" if reused else "")
    return len(waiting)


def _check(tenant: Tenant, item: _Waiting) -> ProofCheck:
    kind = (item.content_type or "").split(";")[0].strip().lower()
    if kind == "application/pdf" or item.proof_url.lower().endswith(".pdf"):
        # Rendering a PDF needs poppler, which is not on every machine Grace runs on: ops open it.
        return _unreadable("a PDF: open it to read it", item.currency)
    if kind and not kind.startswith("image/"):
        return _unreadable(f"not a picture ({kind})", item.currency)
    try:
        data = read_media(tenant.id, item.proof_url).data
    except GraceError as exc:  # gone from the folder, S3 down
        return _unreadable(f"the picture could not be fetched: {exc}", item.currency)
    try:
        return check_picture(tenant, data, currency=item.currency, expected_minor=item.expected_minor,
                             reference=item.reference)
    except ProofUnreadable as exc:
        image_hash = None
        try:
            image_hash = perceptual_hash(open_picture(data))
        except (ProofUnreadable, OSError, ValueError):
            pass
        return _unreadable(str(exc), item.currency, image_hash)


def _reused(session, tenant_id: str, payment_id: int, image_hash: str | None, amount_minor: int | None) -> int | None:
    """The first other payment of this business whose picture is the same as this one's and which was
    for another order, or for the other kind of payment of the same order (a deposit's receipt sent
    again for the balance). The same picture resent for the same payment of the same order is not reuse;
    two pictures whose amounts were read different are not one picture, however alike they look."""
    if not image_hash or not _HASH.fullmatch(image_hash):
        return None
    this = session.execute(select(Payment.order_id, Payment.kind)
                           .where(Payment.id == payment_id, Payment.tenant_id == tenant_id)).one_or_none()
    if this is None:
        return None
    others = session.execute(select(Payment.id, Payment.order_id, Payment.kind, Payment.image_hash,
                                    Payment.reading).where(
        Payment.tenant_id == tenant_id, Payment.id != payment_id, Payment.image_hash.is_not(None),
    ).order_by(Payment.id)).all()
    for other_id, order_id, kind, other_hash, reading in others:
        if (order_id, kind) == (this.order_id, this.kind) or not _HASH.fullmatch(other_hash):
            continue
        other_amount = (reading or {}).get("amount_minor")
        if amount_minor is not None and other_amount is not None and other_amount != amount_minor:
            continue
        if hash_distance(image_hash, other_hash) <= REUSED_BITS:
            return int(other_id)
    return None
