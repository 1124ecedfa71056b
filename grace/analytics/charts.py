"""The report as SVG charts (pygal), ready to be inlined in the dashboard's HTML.

No JavaScript at all: pygal links its tooltip script from a CDN and always embeds its config
(customers' words included) in a <script>; the dashboard must work offline and under a strict
Content-Security-Policy, and inlined SVG scripts run in the page. Every figure is printed on the
chart itself instead of appearing on hover.
"""
from __future__ import annotations

import math
import re

import pygal
from pygal.style import DefaultStyle

from grace.analytics.report import AnalyticsReport
from grace.money import format_money

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)  # text inside is XML-escaped: no early "</script>"
MAX_LABEL = 60  # characters of a question shown on the chart
TOP_INTENTS = 12


def _config(**options) -> dict:
    return {"disable_xml_declaration": True, "js": [], "style": DefaultStyle, "print_values": True,
            "print_zeroes": False, "width": 800, "height": 400, "legend_at_bottom": True, "truncate_legend": -1,
            **options}


def _counts_axis(*series: list[int]) -> dict:
    """Whole-number ticks: half a conversation means nothing."""
    top = max((sum(values) for values in zip(*series, strict=True)), default=0)
    step = max(1, math.ceil(top / 8))
    return {"y_labels": list(range(0, max(top, 1) + step, step))}


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%".replace(".0%", "%")


def _day_axis(report: AnalyticsReport) -> dict:
    many = len(report.days) > 14
    return {"x_labels": [f"{figures.day:%d %b}" for figures in report.days], "x_label_rotation": 30 if many else 0,
            "show_minor_x_labels": not many, "x_labels_major_every": max(1, len(report.days) // 12),
            "print_values": not many}


def conversations_chart(report: AnalyticsReport) -> str:
    new = [figures.new_customers for figures in report.days]
    returning = [figures.returning_customers for figures in report.days]
    chart = pygal.StackedBar(**_config(**_day_axis(report), **_counts_axis(new, returning)), title=(
        f"Conversations per day: {report.conversations} in all "
        f"({report.new_customers} new, {report.returning_customers} returning customers)"))
    chart.add("New customers", new)
    chart.add("Returning customers", returning)
    return chart.render(is_unicode=True)


def funnel_chart(report: AnalyticsReport) -> str:
    """Each bar is the conversations that reached a stage; its top part those that went no further."""
    reached = [stage.conversations for stage in report.funnel]
    chart = pygal.StackedBar(**_config(x_label_rotation=20, **_counts_axis(reached)), title=(
        f"Funnel: {report.conversations} conversations, conversion to verified deposit "
        f"{_percent(report.conversion_rate)}"))
    chart.x_labels = [stage.label for stage in report.funnel]
    chart.add("Went on", [stage.conversations - stage.dropped for stage in report.funnel])
    chart.add("Dropped off here", [
        {"value": stage.dropped, "label": f"{_percent(stage.drop_rate)} of {stage.conversations}"}
        for stage in report.funnel])
    return chart.render(is_unicode=True)


def conversion_chart(report: AnalyticsReport) -> str:
    options = _config(half_pie=True, inner_radius=0.7, show_legend=False, height=300, print_values=False)
    chart = pygal.SolidGauge(**options, title="Conversion: conversations to verified deposit",
                             value_formatter=lambda value: f"{value:.1f}%".replace(".0%", "%"))
    chart.add("Conversion", [{"value": round(report.conversion_rate * 100, 1), "max_value": 100}])
    return chart.render(is_unicode=True)


def intents_chart(report: AnalyticsReport) -> str:
    ranked = list(report.intents.items())
    shown = ranked[:TOP_INTENTS]
    if len(ranked) > TOP_INTENTS:
        shown.append(("other", sum(count for _, count in ranked[TOP_INTENTS:])))
    chart = pygal.HorizontalBar(**_config(show_legend=False, **_counts_axis([n for _, n in shown])), title=(
        f"What customers asked: {report.customer_turns} messages by intent"))
    # pygal draws horizontal bars from the bottom up: reversed, the most frequent is on top.
    chart.x_labels = [name for name, _ in reversed(shown)]
    chart.add("Messages", [count for _, count in reversed(shown)])
    return chart.render(is_unicode=True)


def deposits_chart(report: AnalyticsReport) -> str:
    chart = pygal.Bar(**_config(**_day_axis(report), show_legend=False),
                      value_formatter=lambda minor: format_money(int(minor), report.currency),
                      title=(f"Deposits verified: {report.deposits_verified} "
                             f"totalling {report.deposits_verified_text}"))
    chart.add("Deposits verified", [figures.deposits_verified_minor for figures in report.days])
    return chart.render(is_unicode=True)


def fallback_chart(report: AnalyticsReport) -> str:
    turns = [figures.customer_turns for figures in report.days]
    chart = pygal.Bar(**_config(**_day_axis(report), **_counts_axis(turns)), title=(
        f"Fallback rate {_percent(report.fallback_rate)}: "
        f"{report.fallback_turns} of {report.customer_turns} customer messages not handled"))
    chart.add("Customer messages", turns)
    chart.add("Fallbacks", [figures.fallback_turns for figures in report.days])
    return chart.render(is_unicode=True)


def unhandled_chart(report: AnalyticsReport) -> str:
    questions = list(reversed(report.top_unhandled))
    chart = pygal.HorizontalBar(**_config(show_legend=False, **_counts_axis([q.count for q in questions])),
                                title="Top unhandled questions")
    chart.x_labels = [q.text if len(q.text) <= MAX_LABEL else q.text[:MAX_LABEL - 1] + "…" for q in questions]
    chart.add("Times asked", [q.count for q in questions])
    return chart.render(is_unicode=True)


CHARTS = {
    "conversations": conversations_chart,
    "funnel": funnel_chart,
    "conversion": conversion_chart,
    "intents": intents_chart,
    "deposits": deposits_chart,
    "fallback": fallback_chart,
    "unhandled": unhandled_chart,
}


def render_charts(report: AnalyticsReport) -> dict[str, str]:
    """Chart name -> SVG markup (no XML declaration, no script), one per figure of the report."""
    return {name: _SCRIPT.sub("", draw(report)) for name, draw in CHARTS.items()}
