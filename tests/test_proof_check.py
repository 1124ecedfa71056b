"""Proof pictures read in the background: what is stored beside the payment for ops (amount, reference,
account, date, verdict), reused pictures flagged within a business only, and trouble that never stops
the pass. Real pictures (tests/receipts.py), real Tesseract, the real media store and SQLite store."""
from __future__ import annotations

import io

from PIL import Image

from grace.messaging.media import media_root, save_media, stored_name
from grace.shop.orders import order_by_reference
from grace.shop.payments import record_proof
from grace.shop.proof_check import read_waiting_proofs
from grace.store import session_scope
from grace.store.models import Payment
from grace.tenancy.registry import get_registry
from tests.receipts import SHOPS, make_receipt
from tests.web.conftest import make_order


def expected_of(reference: str, tenant_id: str) -> int:
    with session_scope() as session:
        return order_by_reference(session, tenant_id, reference).deposit_minor


def send_picture(tenant_id: str, reference: str, data: bytes, content_type: str = "image/jpeg") -> int:
    """The customer sends a picture as proof: kept by the media store, recorded as a pending payment."""
    tenant = get_registry().get(tenant_id)
    stored = save_media(tenant_id, data, content_type)
    with session_scope() as session:
        order = order_by_reference(session, tenant_id, reference)
        return record_proof(session, tenant, order, proof_url=stored.url, content_type=stored.content_type,
                            text=None).payment.id


def stored(payment_id: int) -> Payment:
    with session_scope() as session:
        payment = session.get(Payment, payment_id)
        session.expunge(payment)
        return payment


def recompressed(jpeg: bytes, quality: int = 60) -> bytes:
    """The same picture forwarded again: WhatsApp re-compresses it, so the bytes differ."""
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).resize((700, 1100)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_a_right_receipt_reads_as_a_match_with_what_it_says(grace_env):
    reference = make_order("akanraby", "+2348011111111")
    expected = expected_of(reference, "akanraby")
    receipt = make_receipt(3, "nigerian_bank", "akanraby", minor=expected, ref=reference)
    payment_id = send_picture("akanraby", reference, receipt.image)
    assert stored(payment_id).reading_verdict is None  # nothing read in the customer's turn

    assert read_waiting_proofs() == 1
    payment = stored(payment_id)
    assert payment.reading_verdict == "match"
    assert payment.reading["amount_minor"] == expected
    assert payment.reading["reference"] == reference
    assert payment.reading["account"] == SHOPS["akanraby"].account_number
    assert payment.reading["date"] == receipt.date
    assert payment.status == "pending"  # OCR never verifies
    assert payment.image_hash and len(payment.image_hash) == 31 and payment.reused_payment_id is None
    assert read_waiting_proofs() == 0  # read once


def test_another_amount_is_a_mismatch_and_says_both(grace_env):
    reference = make_order("kentehouse", "+233200000011")
    expected = expected_of(reference, "kentehouse")
    receipt = make_receipt(1, "momo_confirmation", "kentehouse", minor=expected - 1000, ref=reference)
    payment_id = send_picture("kentehouse", reference, receipt.image)
    read_waiting_proofs()
    payment = stored(payment_id)
    assert payment.reading_verdict == "mismatch"
    assert payment.reading["amount_minor"] == expected - 1000
    assert any("expected" in reason for reason in payment.reading["reasons"])


def test_money_sent_to_another_account_is_a_mismatch(grace_env):
    reference = make_order("akanraby", "+2348011111112")
    expected = expected_of(reference, "akanraby")
    receipt = make_receipt(8, "nigerian_bank", "akanraby", minor=expected, ref=reference, account="2098765432")
    payment_id = send_picture("akanraby", reference, receipt.image)
    read_waiting_proofs()
    payment = stored(payment_id)
    assert payment.reading_verdict == "mismatch"
    assert payment.reading["account"] == "2098765432"


def test_the_same_picture_for_another_customers_order_is_flagged_reused(grace_env):
    first = make_order("akanraby", "+2348011111113", "Ada")
    second = make_order("akanraby", "+2348011111114", "Bola")
    receipt = make_receipt(4, "opay_card", "akanraby", minor=expected_of(first, "akanraby"), ref=first)
    original = send_picture("akanraby", first, receipt.image)
    copy = send_picture("akanraby", second, recompressed(receipt.image))
    other = send_picture("akanraby", second, make_receipt(9, "opay_card", "akanraby").image)
    read_waiting_proofs()
    assert stored(copy).reused_payment_id == original
    assert stored(original).reused_payment_id is None  # the first sender is not the one to doubt
    assert stored(other).reused_payment_id is None  # another receipt of the same style is not the same picture


def test_the_same_picture_in_another_business_is_not_compared(grace_env):
    ours = make_order("akanraby", "+2348011111115")
    theirs = make_order("kentehouse", "+233200000012")
    receipt = make_receipt(13, "dark_mode", "akanraby")
    send_picture("akanraby", ours, receipt.image)
    in_accra = send_picture("kentehouse", theirs, recompressed(receipt.image))
    read_waiting_proofs()
    payment = stored(in_accra)
    assert payment.image_hash and payment.reused_payment_id is None


def test_what_cannot_be_read_is_unreadable_and_the_pass_goes_on(grace_env):
    blank = make_order("akanraby", "+2348011111116")
    gone = make_order("akanraby", "+2348011111117")
    pdf = make_order("akanraby", "+2348011111118")
    good = make_order("kitengenairobi", "+254700000013")
    white = io.BytesIO()
    Image.new("RGB", (600, 900), "white").save(white, "PNG")
    blank_id = send_picture("akanraby", blank, white.getvalue(), "image/png")
    gone_id = send_picture("akanraby", gone, make_receipt(23, "nigerian_bank", "akanraby").image)
    (media_root() / "akanraby" / stored_name(stored(gone_id).proof_url)).unlink()  # vanished from the folder
    pdf_id = send_picture("akanraby", pdf, b"%PDF-1.4\n% a bank's receipt\n", "application/pdf")
    expected = expected_of(good, "kitengenairobi")
    good_id = send_picture("kitengenairobi", good,
                           make_receipt(5, "dark_mode", "kitengenairobi", minor=expected, ref=good).image)

    assert read_waiting_proofs() == 4
    assert stored(blank_id).reading_verdict == "unreadable"
    assert stored(blank_id).reading["reasons"] == ["no amount could be read off the picture"]
    assert stored(gone_id).reading_verdict == "unreadable"
    assert "could not be fetched" in stored(gone_id).reading["reasons"][0]
    assert stored(pdf_id).reading_verdict == "unreadable" and "PDF" in stored(pdf_id).reading["reasons"][0]
    assert stored(good_id).reading_verdict == "match", stored(good_id).reading
    assert stored(good_id).reading["reference"] == good
