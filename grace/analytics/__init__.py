"""Analytics per tenant over a date range, from stored events: figures and their charts."""
from grace.analytics.charts import render_charts
from grace.analytics.funnel import STAGES, FunnelStage
from grace.analytics.period import AnalyticsError
from grace.analytics.report import AnalyticsReport, DayFigures, Question, tenant_report

__all__ = ["STAGES", "AnalyticsError", "AnalyticsReport", "DayFigures", "FunnelStage", "Question",
           "render_charts", "tenant_report"]
