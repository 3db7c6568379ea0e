"""The funnel's steps, and the funnel broken down by source, team or owner."""

from __future__ import annotations

from django.utils.translation import gettext as _

from reports import formatting
from reports.selectors.funnel import STEPS, Funnel
from reports.tables.table import (
    Cell,
    Column,
    DrillLinks,
    Row,
    Table,
    group_filter_params,
    without_columns,
)


def funnel_table(result: Funnel, drill: DrillLinks, *, medians: bool = True) -> Table:
    table = Table(
        "funnel",
        _("Funnel"),
        [
            Column("step", _("Step"), "text"),
            Column("count", _("Leads")),
            Column("step_rate", _("From previous step"), "percent"),
            Column("cumulative_rate", _("From MQL"), "percent"),
            Column("median", _("Median time from previous step"), "duration"),
        ],
        caption=_(
            "Leads created in the period, by the furthest step their latest pass through "
            "the funnel reached (a reopened lead counts once)."
        ),
    )
    for step in result.steps:
        link = drill("leads", cohort="created", measure=step.measure)
        table.rows.append(
            Row(
                {
                    "step": Cell(step.label, note=step.hint),
                    "count": Cell(step.count, link),
                    "step_rate": Cell(step.step_rate, link),
                    "cumulative_rate": Cell(step.cumulative_rate, link),
                    "median": Cell(step.median_seconds),
                }
            )
        )
    return table if medians else without_columns(table, "median")


def funnel_breakdown_table(
    result: Funnel, by: str, drill: DrillLinks, label: str, *, medians: bool = True
) -> Table:
    assert result.breakdown is not None
    columns = [Column("group", label, "text"), Column("leads", _("Leads"))]
    columns += [Column(measure, str(step_label)) for measure, step_label, _m in STEPS]
    previous = None
    for measure, step_label, _m in STEPS:
        if previous:
            columns.append(
                Column(f"{measure}_rate", f"→ {step_label} (%)", "percent", on_page=False)
            )
        previous = measure
    columns += [
        Column(name, title, "duration")
        for name, title in (
            ("mql_to_sal", _("MQL → SAL")),
            ("sal_to_sql", _("SAL → SQL")),
            ("sql_to_opportunity", _("SQL → Opp.")),
            ("opportunity_to_won", _("Opp. → Won")),
        )
    ]
    table = Table(
        f"funnel_by_{by}",
        _("Funnel by %(dimension)s") % {"dimension": label.lower()},
        columns,
        caption=_(
            "Counts with the rate from the previous step beneath, and the median time "
            "between steps (exact medians)."
        ),
        empty=_("No leads were created in this period."),
    )
    for group in [*result.breakdown.rows, result.breakdown.total]:
        params = group_filter_params(f"g_{by}", group)
        cells = {"group": Cell(group.label)}
        for name in ("leads", *(s[0] for s in STEPS)):
            rate = group.get(f"{name}_rate")
            cells[name] = Cell(
                group[name],
                drill("leads", cohort="created", measure=name, **params),
                note=formatting.percent(rate) if f"{name}_rate" in group.values else "",
            )
        for measure, _label, median in STEPS:
            if f"{measure}_rate" in group.values:
                cells[f"{measure}_rate"] = Cell(group[f"{measure}_rate"])
            if median:
                cells[median] = Cell(group[median])
        table.rows.append(Row(cells, is_total=group.param is None))
    if not medians:
        table.caption = _("Counts with the rate from the previous step beneath.")
        return without_columns(
            table, "mql_to_sal", "sal_to_sql", "sql_to_opportunity", "opportunity_to_won"
        )
    return table
