"""`python -m grace.learn`: decide outcomes, group the unhandled, write the review files."""
from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from grace.config import PROJECT_ROOT, load_settings
from grace.errors import GraceError
from grace.learn.faq import faq_candidates
from grace.learn.outcome import WINDOW, decide_outcomes
from grace.learn.review import Period, write_all
from grace.learn.suggest import group_unhandled, training_examples
from grace.store import session_scope
from grace.store.models import FallbackLog
from grace.tenancy.registry import get_registry

log = logging.getLogger("grace.learn")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grace.learn", description=(
        "Write a review of unhandled customer messages for trainers (clusters, nearest intent, suggested "
        "NLU examples) and per-business FAQ candidates into data/suggestions/. Nothing is trained."))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "suggestions")
    parser.add_argument("--nlu", type=Path, default=PROJECT_ROOT / "data" / "nlu", help="NLU training data folder")
    parser.add_argument("--days", type=int, default=30, help="look at the last N days of the log (0: all)")
    parser.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    parser.add_argument("--tracker-url", help="Rasa's tracker store (default: GRACE_TRACKER_DATABASE_URL, else "
                        "DATABASE_URL, else var/tracker.db)")
    parser.add_argument("--window-minutes", type=int, default=int(WINDOW.total_seconds() // 60),
                        help="a customer message this soon after a fallback turn means they continued")
    return parser


def _tenant_faq(tenant_id: str) -> tuple[str, list[str]]:
    """The business's name and its FAQ questions; a tenant that no longer loads has none."""
    try:
        tenant = get_registry().get(tenant_id)
    except GraceError as exc:
        log.warning("tenant %s: %s (its existing FAQ is not compared)", tenant_id, exc)
        return tenant_id, []
    return tenant.name, [entry.q for entry in tenant.faq]


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.days < 0 or args.window_minutes <= 0:
        print("--days must be 0 or more and --window-minutes more than 0")
        return 2
    settings = load_settings()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with session_scope() as session:
        outcomes = decide_outcomes(session, args.tracker_url or settings.tracker_database_url, now,
                                   timedelta(minutes=args.window_minutes))
    with session_scope() as session:
        query = select(FallbackLog).order_by(FallbackLog.id)
        if args.days:
            query = query.where(FallbackLog.created_at >= now - timedelta(days=args.days))
        if args.tenant:
            query = query.where(FallbackLog.tenant_id.in_(args.tenant))
        rows = list(session.scalars(query))
    by_tenant: dict[str, list[FallbackLog]] = defaultdict(list)
    for row in rows:
        by_tenant[row.tenant_id].append(row)
    groups = group_unhandled(rows, training_examples(args.nlu))
    faqs = {}
    for tenant_id, tenant_rows in by_tenant.items():
        name, questions = _tenant_faq(tenant_id)
        faqs[tenant_id] = (name, faq_candidates(tenant_rows, questions), Period.of(tenant_rows))
    written = write_all(args.out, groups, faqs, Period.of(rows))
    print(f"{len(rows)} logged turns, {len(groups)} groups; outcomes decided this run: {outcomes.continued} "
          f"continued, {outcomes.dropped} dropped ({outcomes.undecided} still undecided)")
    for tenant_id, (_, candidates, _) in sorted(faqs.items()):
        print(f"{tenant_id}: {len(candidates)} FAQ candidates")
    for path in written:
        print(f"wrote {path}")
    return 0
