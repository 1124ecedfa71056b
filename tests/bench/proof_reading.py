"""How many proof pictures' amounts OCR reads right (target at least 90%).

Draws 36 receipts (tests/receipts.py: five bank-app and mobile-money styles of the three test
businesses, rotated, blurred, noisy, JPEG-compressed) into a temporary folder, reads each the way the
outbox worker does (grace.shop.proof_check.ocr_text, grace.understanding.receipts.read_receipt), and
prints each receipt's result, the share whose amount was read right, and the time per picture.

    .venv/bin/python -m tests.bench.proof_reading [--count 36] [--keep FOLDER]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from grace.money import format_money
from grace.shop.proof_check import ocr_text, open_picture
from grace.understanding.receipts import read_receipt
from tests.receipts import SHOPS, receipts

TARGET = 0.90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=36)
    parser.add_argument("--keep", type=Path, help="write the pictures here instead of a temporary folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="grace-receipts-"))
    right, seconds = 0, []
    print(f"Proof reading: {args.count} drawn receipts in {folder}")
    try:
        drawn = receipts(args.count)
        for receipt in drawn:
            path = receipt.save(folder)
            started = time.perf_counter()
            text = ocr_text(open_picture(path.read_bytes()))
            seconds.append(time.perf_counter() - started)
            reading = read_receipt(text, receipt.currency, order_prefix=SHOPS[receipt.tenant_id].prefix)
            ok = reading.amount_minor == receipt.amount_minor
            right += ok
            got = format_money(reading.amount_minor, receipt.currency) if reading.amount_minor is not None else "none"
            printed = format_money(receipt.amount_minor, receipt.currency)
            mark = "ok  " if ok else "MISS"
            print(f"  {mark} {receipt.name:<38} printed {printed:>14}  read {got:>14}"
                  f"  ref {reading.reference or '-':<10} account {reading.account or '-':<11}"
                  f" date {reading.date or '-'}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    share = right / len(drawn)
    print(f"amounts read right: {right} of {len(drawn)} ({share:.0%}; target at least {TARGET:.0%}); "
          f"OCR per picture p50 {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")
    return 0 if share >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
