"""Every report figure as aggregate SQL (GROUP BY, COUNT(*) FILTER, window functions).

Nothing here loads the rows being counted: each function returns a handful of grouped
rows, whatever the size of the tables. `dashboard()` composes the manager dashboard.

The selectors stand on `reports.cohorts` (what is counted), `reports.dimensions` (how it
is broken down) and `reports.rollups` (where the sums are read from); the tables, pages,
views and the API stand on them.
"""

from reports.selectors.conversion import ConversionReport, conversion_by, conversion_by_source
from reports.selectors.dashboard import Dashboard, dashboard
from reports.selectors.funnel import Funnel, funnel
from reports.selectors.people import PersonKpis, kpis_by
from reports.selectors.pipeline import Pipeline, pipeline
from reports.selectors.quality import Quality, quality
from reports.selectors.sla import compliance, response_times

__all__ = [
    "ConversionReport",
    "Dashboard",
    "Funnel",
    "PersonKpis",
    "Pipeline",
    "Quality",
    "compliance",
    "conversion_by",
    "conversion_by_source",
    "dashboard",
    "funnel",
    "kpis_by",
    "pipeline",
    "quality",
    "response_times",
]
