"""Conversion by source against the benchmark ranges, as a table."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports import formatting
from reports.selectors.conversion import ConversionReport
from reports.selectors.tally import Group
from reports.tables.table import Cell, Column, DrillLinks, Row, Table

CONVERSION_DEFINITION = gettext_lazy(
    "Cohort: the leads created in the period. Converted: became an opportunity at any "
    "time, also after the period. Rate = converted ÷ leads."
)


def conversion_table(report: ConversionReport, drill: DrillLinks) -> Table:
    """By source (table `conversion`) or by campaign (`conversion_by_campaign`): the first
    column is keyed by the breakdown."""
    by = report.by
    columns = [
        Column(by, _("Campaign") if by == "campaign" else _("Source"), "text"),
        Column("leads", _("Leads")),
        Column("converted", _("Converted")),
        Column("rate", _("Rate"), "percent"),
        Column("benchmark_low", _("Benchmark from"), "percent", on_page=False),
        Column("benchmark_high", _("Benchmark to"), "percent", on_page=False),
        Column("benchmark", _("Benchmark"), "text", in_data=False),
        Column("status", _("Against benchmark"), "status"),
        Column("reading", _("Reading"), "text", on_page=False),
    ]
    table = Table(
        "conversion" if by == "source" else f"conversion_by_{by}",
        _("Conversion by campaign") if by == "campaign" else _("Conversion by source"),
        columns,
        caption=str(CONVERSION_DEFINITION),
        empty=_("No leads were created in this period."),
    )
    for group in [*report.rows, report.overall]:
        params = {f"g_{by}": group.param} if group.param else {}
        leads_link = drill("leads", cohort="created", measure="leads", **params)
        converted_link = drill("leads", cohort="created", measure="converted", **params)
        table.rows.append(
            Row(
                {
                    by: Cell(group.key, label=group.label),
                    "leads": Cell(group["leads"], leads_link),
                    "converted": Cell(group["converted"], converted_link),
                    "rate": Cell(group["rate"], converted_link),
                    "benchmark_low": Cell(group["benchmark_low"]),
                    "benchmark_high": Cell(group["benchmark_high"]),
                    "benchmark": Cell(_benchmark_text(group)),
                    "status": Cell(
                        group["status"], note=str(SHORT_READINGS.get(group["status"], ""))
                    ),
                    "reading": Cell(str(group["reading"])),
                },
                is_total=group is report.overall,
                status=group["status"] or "",
            )
        )
    return table


SHORT_READINGS = {
    "above": gettext_lazy("Qualifying too liberally?"),
    "below": gettext_lazy("Criteria too strict, or poor leads?"),
}


def _benchmark_text(group: Group) -> str:
    low, high = group["benchmark_low"], group["benchmark_high"]
    if low is None:
        return ""
    return f"{formatting.number(low)}–{formatting.percent(high, 0)}"
