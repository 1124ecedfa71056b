"""Analytics per tenant over a date range, as charts (pygal SVG from grace.analytics)."""
from __future__ import annotations

import base64
from datetime import date, timedelta

from flask import Blueprint, flash, render_template, request

from grace.analytics import AnalyticsError, render_charts, tenant_report
from web.access import current_tenant, role_required

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
DEFAULT_DAYS = 30


def _day(name: str, default: date) -> date:
    text = (request.args.get(name) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AnalyticsError(f"{name} must be a date like 2026-03-01, got {text!r}") from None


def as_image(svg: str) -> str:
    """The chart as a data: URL for an <img>: a picture can never run script, whatever text
    (customers' questions, fabric names) the chart shows."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@bp.route("")
@role_required()
def index():
    tenant = current_tenant()
    today = tenant.now().date()
    report, charts, status = None, {}, 200
    try:
        end = _day("end", today)
        start = _day("start", end - timedelta(days=DEFAULT_DAYS - 1))
        report = tenant_report(tenant.id, start, end)
        charts = {name: as_image(svg) for name, svg in render_charts(report).items()}
    except AnalyticsError as exc:
        flash(str(exc), "error")
        start, end, status = request.args.get("start", ""), request.args.get("end", ""), 400
    return render_template("analytics.html", tenant=tenant, report=report, charts=charts,
                           start=start, end=end), status
