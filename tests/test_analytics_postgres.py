"""The tracker store on PostgreSQL (DATABASE_URL in production): the same figures, the same tenant isolation."""
from __future__ import annotations

from datetime import datetime

from grace.analytics import tenant_report
from tests.test_analytics_data import LAGOS, Conversations, copy_tenant, days_ago, local


def test_postgres_tracker_store_gives_the_same_figures(grace_env, monkeypatch, pg_url):
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", pg_url)
    database = pg_url.rsplit("/", 1)[1]
    copy_tenant(grace_env / "tenants", "akanraby", "akanr_by")
    today = datetime.now(LAGOS).date()
    chats = Conversations(dialect="postgresql", host="127.0.0.1", port=5432, db=database, username="postgres")
    first = "akanraby:+2348010000001"
    chats.says(first, local(days_ago(today, 3), 9), "hi", "greet")  # before the range: a returning customer
    chats.says(first, local(today, 9), "show me ankara", "buy")
    chats.grace(first, local(today, 9), "action_offer_fabrics", offered_skus=["AK-001"], funnel_stage="browsing")
    chats.says("akanraby:+2348010000002", local(today, 23, 30), "good evening", "greet")
    chats.says("akanr_by:+2348010000003", local(today, 10), "hi", "greet")
    chats.save()

    report = tenant_report("akanraby", today, today)
    assert (report.conversations, report.new_customers, report.returning_customers) == (2, 1, 1)
    assert [stage.conversations for stage in report.funnel[:3]] == [2, 1, 0]
    assert report.intents == {"buy": 1, "greet": 1}
    assert tenant_report("akanr_by", today, today).conversations == 1
