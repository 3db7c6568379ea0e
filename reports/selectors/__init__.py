"""Every report figure as aggregate SQL (GROUP BY, COUNT(*) FILTER, window functions).

Nothing here loads the rows being counted: each function returns a handful of grouped
rows, whatever the size of the tables. `dashboard()` composes the manager dashboard."""

from reports.selectors.base import ReportRequest
from reports.selectors.conversion import ConversionReport, conversion_by_source
from reports.selectors.dashboard import Dashboard, dashboard
from reports.selectors.funnel import Funnel, funnel
from reports.selectors.pipeline import Pipeline, kpis_by, pipeline
from reports.selectors.quality import Quality, quality
from reports.selectors.sla import compliance, response_times

__all__ = [
    "ConversionReport",
    "Dashboard",
    "Funnel",
    "Pipeline",
    "Quality",
    "ReportRequest",
    "compliance",
    "conversion_by_source",
    "dashboard",
    "funnel",
    "kpis_by",
    "pipeline",
    "quality",
    "response_times",
]
