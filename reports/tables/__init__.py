"""Report results as tables: one definition serves the page, the CSV export and the API.

A `Table` (`reports.tables.table`) has typed columns (the kind decides how a value reads
on the page, in CSV and in JSON) and rows of cells; a cell may link to the drill-down
listing the rows behind it (`DrillLinks`). One module per report, as `reports.selectors`.
"""

from reports.tables.conversion import CONVERSION_DEFINITION, conversion_table
from reports.tables.funnel import funnel_breakdown_table, funnel_table
from reports.tables.marketing import revenue_table, targets_table
from reports.tables.people import people_table
from reports.tables.pipeline import (
    aging_table,
    forecast_table,
    pending_table,
    reach_table,
    stages_table,
    time_in_stage_table,
    velocity_table,
)
from reports.tables.quality import (
    delayed_table,
    handoff_table,
    overrides_table,
    pipeline_to_won_table,
    premature_table,
)
from reports.tables.sla import response_table, sla_table
from reports.tables.table import Cell, Column, DrillLinks, Row, Table

__all__ = [
    "CONVERSION_DEFINITION",
    "Cell",
    "Column",
    "DrillLinks",
    "Row",
    "Table",
    "aging_table",
    "conversion_table",
    "delayed_table",
    "forecast_table",
    "funnel_breakdown_table",
    "funnel_table",
    "handoff_table",
    "overrides_table",
    "pending_table",
    "people_table",
    "pipeline_to_won_table",
    "premature_table",
    "reach_table",
    "response_table",
    "revenue_table",
    "sla_table",
    "stages_table",
    "targets_table",
    "time_in_stage_table",
    "velocity_table",
]
