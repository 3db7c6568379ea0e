"""Report results as tables: one definition serves the page, the CSV export and the API.

A `Table` has typed columns (the kind decides how a value reads on the page, in CSV and in
JSON) and rows of cells; a cell may link to the drill-down listing the rows behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports import formatting
from reports.filters import ReportFilters
from reports.selectors.conversion import ConversionReport
from reports.selectors.funnel import STEPS, Funnel
from reports.selectors.pipeline import AGE_BUCKETS, PersonKpis, Pipeline
from reports.selectors.quality import Quality
from reports.selectors.tally import Group, Tally

NUMERIC = {"int", "float", "percent", "duration", "ratio", "money", "money_list"}


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"
    on_page: bool = True  # False: CSV and API only (the page shows it another way)
    in_data: bool = True  # False: the page only (a combined, human-readable column)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Cell:
    value: Any
    link: str = ""
    kind: str | None = None  # overrides the column's kind for this cell
    note: str = ""
    label: str = ""  # what the page and CSV show instead of a code (the API keeps the code)


@dataclass
class Row:
    cells: dict[str, Cell]
    is_total: bool = False
    status: str = ""


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    caption: str = ""
    empty: str = ""

    def cell(self, row: Row, column: Column) -> tuple[Cell, str]:
        cell = row.cells.get(column.key) or Cell(None)
        return cell, cell.kind or column.kind

    @property
    def page_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_page]

    @property
    def data_columns(self) -> list[Column]:
        return [c for c in self.columns if c.in_data]

    def display_rows(self) -> list[tuple[Row, list[tuple[Column, Cell, str]]]]:
        """For templates: each row's cells with their column and page text."""
        out = []
        for row in self.rows:
            cells = []
            for column in self.page_columns:
                cell, kind = self.cell(row, column)
                text = cell.label or formatting.display(kind, cell.value)
                cells.append((column, cell, text))
            out.append((row, cells))
        return out

    def csv_header(self) -> list[str]:
        suffix = {"percent": " (%)", "duration": " (hours)", "ratio": " (×)"}
        return [f"{c.label}{suffix.get(c.kind, '')}" for c in self.data_columns]

    def csv_rows(self) -> Iterable[list[Any]]:
        for row in self.rows:
            values = []
            for column in self.data_columns:
                cell, kind = self.cell(row, column)
                values.append(cell.label or formatting.plain(kind, cell.value))
            yield values

    def json_rows(self) -> list[dict[str, Any]]:
        rows = []
        for row in self.rows:
            item: dict[str, Any] = {}
            for column in self.data_columns:
                cell, kind = self.cell(row, column)
                item[column.key] = formatting.json_value(kind, cell.value)
            if row.is_total:
                item["is_total"] = True
            rows.append(item)
        return rows


class Drill:
    """Links to the rows behind a figure: the report's filters plus what the figure counts."""

    def __init__(self, filters: ReportFilters) -> None:
        self.base = filters.query_params()

    def __call__(self, kind: str, **params: Any) -> str:
        query = {**self.base, **{k: v for k, v in params.items() if v is not None}}
        return f"{reverse(f'reports:drill-{kind}')}?{urlencode(query)}"


def _without(table: Table, *keys: str) -> Table:
    """The table without some columns (medians the page did not compute)."""
    table.columns = [c for c in table.columns if c.key not in keys]
    return table


def _group_params(prefix: str, group: Group) -> dict[str, str]:
    return {} if group.param is None else {prefix: group.param}


# --- conversion by source ---------------------------------------------------------------------

CONVERSION_DEFINITION = gettext_lazy(
    "Cohort: the leads created in the period. Converted: became an opportunity at any "
    "time, also after the period. Rate = converted ÷ leads."
)


def conversion_table(report: ConversionReport, drill: Drill) -> Table:
    columns = [
        Column("source", _("Source"), "text"),
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
        "conversion",
        _("Conversion by source"),
        columns,
        caption=str(CONVERSION_DEFINITION),
        empty=_("No leads were created in this period."),
    )
    for group in [*report.rows, report.overall]:
        params = {"g_source": group.param} if group.param else {}
        leads_link = drill("leads", cohort="created", measure="leads", **params)
        converted_link = drill("leads", cohort="created", measure="converted", **params)
        table.rows.append(
            Row(
                {
                    "source": Cell(group.key, label=group.label),
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


# --- funnel -----------------------------------------------------------------------------------


def funnel_table(result: Funnel, drill: Drill, *, medians: bool = True) -> Table:
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
    return table if medians else _without(table, "median")


def funnel_breakdown_table(
    result: Funnel, by: str, drill: Drill, label: str, *, medians: bool = True
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
        params = _group_params(f"g_{by}", group)
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
        return _without(
            table, "mql_to_sal", "sal_to_sql", "sql_to_opportunity", "opportunity_to_won"
        )
    return table


# --- conversion quality -----------------------------------------------------------------------


def premature_table(quality: Quality, drill: Drill) -> Table:
    table = Table(
        "premature",
        _("Premature conversion"),
        [
            Column("source", _("Source"), "text"),
            Column("opportunities", _("Opportunities")),
            Column("lost_early", _("Died early")),
            Column("stalled_early", _("Stalled early")),
            Column("premature", _("Premature")),
            Column("premature_rate", _("Premature share"), "percent"),
            Column("lost", _("Closed lost (any stage)")),
            Column("override", _("By override")),
            Column("override_rate", _("Override share"), "percent"),
            Column("decision_maker_rate", _("With a decision maker"), "percent"),
        ],
        caption=_(
            "Opportunities created in the period. Died early: closed lost straight from an "
            "early stage. Stalled early: still in an early stage after %(days)s days."
        )
        % {"days": quality.stall_age_days},
        empty=_("No opportunities were created in this period."),
    )
    for group in [*quality.premature.rows, quality.premature.total]:
        params = _group_params("g_source", group)

        def link(measure: str, params: dict = params) -> str:
            return drill("opportunities", cohort="created", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "source": Cell(group.label),
                    "opportunities": Cell(group["opportunities"], link("opportunities")),
                    "lost_early": Cell(group["lost_early"], link("lost_early")),
                    "stalled_early": Cell(group["stalled_early"], link("stalled_early")),
                    "premature": Cell(group["premature"], link("premature")),
                    "premature_rate": Cell(group["premature_rate"], link("premature")),
                    "lost": Cell(group["lost"], link("lost")),
                    "override": Cell(group["override"], link("override")),
                    "override_rate": Cell(group["override_rate"], link("override")),
                    "decision_maker_rate": Cell(
                        group["decision_maker_rate"], link("decision_maker")
                    ),
                },
                is_total=group.param is None,
            )
        )
    return table


def pipeline_to_won_table(quality: Quality, drill: Drill) -> Table:
    p = quality.pipeline_to_won
    table = Table(
        "pipeline_to_won",
        _("Pipeline-to-won ratio"),
        [
            Column("currency", _("Currency"), "text"),
            Column("created_count", _("Deals created")),
            Column("created_amount", _("Pipeline created"), "money"),
            Column("won_count", _("Deals won")),
            Column("won_amount", _("Value won"), "money"),
            Column("ratio", _("Ratio"), "ratio"),
            Column(
                "status", _("Against %(low)s–%(high)s×") % {"low": p.low, "high": p.high}, "status"
            ),
        ],
        caption=_(
            "Value of the pipeline created in the period ÷ value closed won in the period, "
            "per currency. Healthy: %(low)s–%(high)s×; above it the pipeline is inflated."
        )
        % {"low": formatting.number(p.low, 1), "high": formatting.number(p.high, 1)},
        empty=_("No deals were created or won in this period."),
    )
    for row in p.rows:
        created = drill(
            "opportunities", cohort="created", measure="opportunities", g_currency=row.currency
        )
        won = drill("opportunities", cohort="closed", measure="won", g_currency=row.currency)
        table.rows.append(
            Row(
                {
                    "currency": Cell(row.currency),
                    "created_count": Cell(row.created_count, created),
                    "created_amount": Cell((row.created_amount, row.currency), created),
                    "won_count": Cell(row.won_count, won),
                    "won_amount": Cell((row.won_amount, row.currency), won),
                    "ratio": Cell(row.ratio),
                    "status": Cell(row.status),
                },
                status=row.status or "",
            )
        )
    return table


def delayed_table(
    quality: Quality, drill: Drill, policies: list, sla: Tally | None, *, medians: bool = True
) -> Table:
    table = Table(
        "delayed",
        _("Delayed conversion"),
        [
            Column("figure", _("Figure"), "text"),
            Column("count", _("Count")),
            Column("share", _("Share"), "percent"),
            Column("time", _("Median time"), "duration"),
            Column("target", _("Target"), "text"),
        ],
        caption=_(
            "Leads created in the period that chose a competitor before converting, and the "
            "time from SQL to conversion against the SLA for converting."
        ),
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Lost to a competitor before conversion")),
                "count": Cell(
                    quality.lost_to_competitor,
                    drill("leads", cohort="created", measure="lost_to_competitor"),
                ),
                "share": Cell(quality.lost_to_competitor_rate),
            }
        )
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Converted; median time from SQL") if medians else _("Converted")),
                "count": Cell(
                    quality.converted, drill("leads", cohort="created", measure="converted")
                ),
                "share": Cell(formatting_ratio(quality.converted, quality.leads)),
                "time": Cell(quality.sql_to_opportunity_median),
            }
        )
    )
    by_policy = {g.key: g for g in sla.rows} if sla else {}
    for policy in policies:
        group = by_policy.get(policy.pk)
        target = f"{policy.target_value} {policy.get_target_unit_display()}"
        met = group["met"] if group else 0
        table.rows.append(
            Row(
                {
                    "figure": Cell(_("%(policy)s: met") % {"policy": policy.name}),
                    "count": Cell(
                        met,
                        drill("timers", measure="met", g_policy=policy.pk),
                    ),
                    "share": Cell(group["rate"] if group else None),
                    "target": Cell(target),
                }
            )
        )
        table.rows.append(
            Row(
                {
                    "figure": Cell(_("%(policy)s: missed") % {"policy": policy.name}),
                    "count": Cell(
                        group["missed"] if group else 0,
                        drill("timers", measure="missed", g_policy=policy.pk),
                    ),
                    "target": Cell(target),
                }
            )
        )
    return table if medians else _without(table, "time")


def formatting_ratio(numerator: int, denominator: int) -> float | None:
    return 100.0 * numerator / denominator if denominator else None


def overrides_table(quality: Quality, drill: Drill) -> Table:
    total = quality.premature.total
    requests = quality.requests
    table = Table(
        "overrides",
        _("Overrides"),
        [Column("figure", _("Figure"), "text"), Column("count", _("Count"))],
        caption=_(
            "Opportunities created in the period with a criterion unmet (manager-approved), "
            "and the override requests made in the period."
        ),
    )
    table.rows.append(
        Row(
            {
                "figure": Cell(_("Opportunities converted by override")),
                "count": Cell(
                    total["override"],
                    drill("opportunities", cohort="created", measure="override"),
                ),
            }
        )
    )
    labels = {
        "requested": _("Override requests"),
        "pending": _("… waiting for a manager"),
        "approved": _("… approved"),
        "declined": _("… declined"),
    }
    for key, label in labels.items():
        table.rows.append(
            Row(
                {
                    "figure": Cell(label),
                    "count": Cell(
                        requests.get(key, 0),
                        drill("requests", state=None if key == "requested" else key),
                    ),
                }
            )
        )
    return table


def handoff_table(quality: Quality, drill: Drill, by: str = "sdr") -> Table:
    label = _("SDR") if by == "sdr" else _("Account executive")
    table = Table(
        "handoffs",
        _("Hand-off quality"),
        [
            Column("group", label, "text"),
            Column("handoffs", _("Hand-offs")),
            Column("rated", _("Rated by the AE")),
            Column("average_rating", _("Average rating (1–5)"), "float"),
            Column("low_rating", _("Rated 1–2")),
            Column("repeated", _("AE repeated discovery")),
            Column("repeated_rate", _("Repeat share"), "percent"),
        ],
        caption=_(
            "Hand-offs made in the period. Repeat share: of the AEs who answered, how many "
            "had to ask the discovery questions again."
        ),
        empty=_("No hand-offs in this period."),
    )
    for group in [*quality.handoffs.rows, quality.handoffs.total]:
        params = _group_params(f"g_{by}", group)

        def link(measure: str, params: dict = params) -> str:
            return drill("handoffs", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "group": Cell(group.label),
                    "handoffs": Cell(group["handoffs"], link("handoffs")),
                    "rated": Cell(group["rated"], link("rated")),
                    "average_rating": Cell(group["average_rating"], link("rated")),
                    "low_rating": Cell(group["low_rating"], link("low_rating")),
                    "repeated": Cell(group["repeated"], link("repeated")),
                    "repeated_rate": Cell(group["repeated_rate"], link("repeated")),
                },
                is_total=group.param is None,
            )
        )
    return table


# --- pipeline ---------------------------------------------------------------------------------


def stages_table(p: Pipeline, drill: Drill) -> Table:
    table = Table(
        "stages",
        _("Open pipeline by stage"),
        [
            Column("stage", _("Stage"), "text"),
            Column("count", _("Open deals")),
            Column("amount", _("Amount"), "money_list"),
            Column("weighted", _("Weighted"), "money_list"),
            Column("average_age", _("Average time in stage"), "duration"),
            Column("stale", _("Stale")),
            Column("stalled_early", _("Stalled early")),
        ],
        caption=_(
            "Deals open now (the period does not apply). Weighted = amount × probability. "
            "Stale: older in the stage than its rot age."
        ),
        empty=_("No open deals."),
    )
    amount_total: dict[str, Any] = {}
    weighted_total: dict[str, Any] = {}
    for row in p.stages:
        link = drill("opportunities", cohort="open", measure="open", g_stage=row.stage.pk)
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.stage.name),
                    "count": Cell(row.count, link),
                    "amount": Cell(row.amount.items(), link),
                    "weighted": Cell(row.weighted.items(), link),
                    "average_age": Cell(row.average_age_seconds),
                    "stale": Cell(
                        row.stale,
                        drill(
                            "opportunities", cohort="open", measure="stale", g_stage=row.stage.pk
                        ),
                    ),
                    "stalled_early": Cell(
                        row.stalled_early,
                        drill(
                            "opportunities",
                            cohort="open",
                            measure="stalled_early",
                            g_stage=row.stage.pk,
                        ),
                    ),
                }
            )
        )
        for currency, amount in row.amount.items():
            amount_total[currency] = amount_total.get(currency, 0) + amount
        for currency, amount in row.weighted.items():
            weighted_total[currency] = weighted_total.get(currency, 0) + amount
    table.rows.append(
        Row(
            {
                "stage": Cell(_("Total")),
                "count": Cell(p.open_count, drill("opportunities", cohort="open", measure="open")),
                "amount": Cell(sorted(amount_total.items(), key=lambda kv: -kv[1])),
                "weighted": Cell(sorted(weighted_total.items(), key=lambda kv: -kv[1])),
                "stale": Cell(p.stale, drill("opportunities", cohort="open", measure="stale")),
                "stalled_early": Cell(
                    p.stalled_early,
                    drill("opportunities", cohort="open", measure="stalled_early"),
                ),
            },
            is_total=True,
        )
    )
    return table


def forecast_table(p: Pipeline, drill: Drill) -> Table:
    table = Table(
        "forecast",
        _("Weighted forecast by expected close month"),
        [
            Column("month", _("Expected close"), "text"),
            Column("count", _("Open deals")),
            Column("weighted", _("Weighted"), "money_list"),
            Column("amount", _("Amount"), "money_list"),
        ],
        caption=_(
            "Open deals by the month they are expected to close, past dates first; "
            "weighted = amount × probability, per currency."
        ),
        empty=_("No open deals."),
    )
    months: dict[str, dict[str, Any]] = {}
    for row in p.forecast:
        month = months.setdefault(
            row.key, {"count": 0, "amount": [], "weighted": [], "label": _month_label(row)}
        )
        month["count"] += row.count
        month["amount"].append((row.currency, row.amount))
        month["weighted"].append((row.currency, row.weighted))
    for key, values in months.items():
        link = drill("opportunities", cohort="open", measure="open", g_month=key)
        table.rows.append(
            Row(
                {
                    "month": Cell(key, label=values["label"]),
                    "count": Cell(values["count"], link),
                    "weighted": Cell(sorted(values["weighted"], key=lambda kv: -kv[1])),
                    "amount": Cell(sorted(values["amount"], key=lambda kv: -kv[1])),
                },
                status="past" if key == "past" else "",
            )
        )
    return table


def _month_label(row: Any) -> str:
    if row.later:
        return _("%(month)s and later") % {"month": formatting.month(row.month)}
    return formatting.month(row.month)


def aging_table(p: Pipeline, drill: Drill) -> Table:
    columns = [Column("stage", _("Stage"), "text")]
    columns += [Column(key, str(label)) for key, label, _lo, _hi in AGE_BUCKETS]
    columns += [Column("stale", _("Stale")), Column("stalled_early", _("Stalled early"))]
    table = Table(
        "aging",
        _("Aging: days in the current stage"),
        columns,
        caption=_("Open deals by how long they have been in their current stage."),
        empty=_("No open deals."),
    )
    for row in p.stages:
        cells = {"stage": Cell(row.stage.name)}
        for key, _label, _lo, _hi in AGE_BUCKETS:
            cells[key] = Cell(
                row.buckets.get(key, 0),
                drill(
                    "opportunities", cohort="open", measure="open", g_stage=row.stage.pk, g_age=key
                ),
            )
        cells["stale"] = Cell(
            row.stale,
            drill("opportunities", cohort="open", measure="stale", g_stage=row.stage.pk),
        )
        cells["stalled_early"] = Cell(
            row.stalled_early,
            drill("opportunities", cohort="open", measure="stalled_early", g_stage=row.stage.pk),
        )
        table.rows.append(Row(cells))
    return table


def reach_table(p: Pipeline, drill: Drill) -> Table:
    table = Table(
        "stage_conversion",
        _("Stage-to-stage conversion"),
        [
            Column("stage", _("Stage"), "text"),
            Column("reached", _("Reached")),
            Column("to_next", _("Went on to the next"), "percent"),
        ],
        caption=_(
            "Deals created in the period, by the furthest stage they entered (closed lost "
            "does not count as progress)."
        ),
    )
    for row in p.reach:
        reached = "won" if row.stage is None else str(row.stage.position)
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.label),
                    "reached": Cell(
                        row.reached,
                        drill(
                            "opportunities",
                            cohort="created",
                            measure="opportunities",
                            reached=reached,
                        ),
                    ),
                    "to_next": Cell(row.to_next),
                }
            )
        )
    return table


def time_in_stage_table(p: Pipeline, drill: Drill, *, medians: bool = True) -> Table:
    table = Table(
        "time_in_stage",
        _("Time in stage"),
        [
            Column("stage", _("Stage"), "text"),
            Column("moves", _("Moves out")),
            Column("average", _("Average stay"), "duration"),
            Column("median", _("Median stay"), "duration"),
            Column("open_now", _("In it now")),
            Column("open_age", _("Their average age"), "duration"),
        ],
        caption=_(
            "How long deals stayed in a stage before moving on in the period, beside the "
            "deals sitting in it now: where deals stall."
        ),
    )
    for row in p.times:
        table.rows.append(
            Row(
                {
                    "stage": Cell(row.stage.name),
                    "moves": Cell(
                        row.moves,
                        drill("moves", g_from_stage=row.stage.pk),
                    ),
                    "average": Cell(row.average_seconds),
                    "median": Cell(row.median_seconds),
                    "open_now": Cell(
                        row.open_now,
                        drill("opportunities", cohort="open", measure="open", g_stage=row.stage.pk),
                    ),
                    "open_age": Cell(row.open_average_age_seconds),
                }
            )
        )
    return table if medians else _without(table, "median")


def velocity_table(p: Pipeline, drill: Drill) -> Table:
    table = Table(
        "velocity",
        _("Deal size, win rate and velocity"),
        [
            Column("currency", _("Currency"), "text"),
            Column("open_count", _("Open deals")),
            Column("open_amount", _("Open amount"), "money"),
            Column("created_count", _("Created")),
            Column("average_created", _("Average deal created"), "money"),
            Column("won", _("Won")),
            Column("lost", _("Lost")),
            Column("win_rate", _("Win rate"), "percent"),
            Column("average_won", _("Average deal won"), "money"),
            Column("cycle_days", _("Sales cycle (days)"), "float"),
            Column("velocity", _("Velocity per day"), "money"),
        ],
        caption=_(
            "Won, lost and sales cycle: deals closed in the period. Velocity = open deals × "
            "average won deal × win rate ÷ sales cycle."
        ),
        empty=_("No deals."),
    )
    for flow in p.currencies:
        c = flow.currency

        def money(value: Any, currency: str = c) -> tuple | None:
            return None if value is None else (value, currency)

        table.rows.append(
            Row(
                {
                    "currency": Cell(c),
                    "open_count": Cell(
                        flow.open_count,
                        drill("opportunities", cohort="open", measure="open", g_currency=c),
                    ),
                    "open_amount": Cell(money(flow.open_amount)),
                    "created_count": Cell(
                        flow.created_count,
                        drill(
                            "opportunities", cohort="created", measure="opportunities", g_currency=c
                        ),
                    ),
                    "average_created": Cell(money(flow.average_created)),
                    "won": Cell(
                        flow.won,
                        drill("opportunities", cohort="closed", measure="won", g_currency=c),
                    ),
                    "lost": Cell(
                        flow.lost,
                        drill("opportunities", cohort="closed", measure="lost", g_currency=c),
                    ),
                    "win_rate": Cell(flow.win_rate),
                    "average_won": Cell(money(flow.average_won)),
                    "cycle_days": Cell(flow.cycle_days),
                    "velocity": Cell(money(flow.velocity_per_day)),
                }
            )
        )
    return table


def people_table(people: list[PersonKpis], by: str, drill: Drill) -> Table:
    label = _("Team") if by == "team" else _("Owner")
    table = Table(
        f"kpis_by_{by}",
        _("KPIs by %(dimension)s") % {"dimension": label.lower()},
        [
            Column("group", label, "text"),
            Column("leads", _("Leads")),
            Column("conversion_rate", _("Lead → opp."), "percent"),
            Column("average_score", _("Avg. lead score"), "float"),
            Column("open_count", _("Open deals")),
            Column("open_amount", _("Pipeline"), "money_list"),
            Column("weighted", _("Weighted"), "money_list"),
            Column("average_probability", _("Avg. probability"), "percent"),
            Column("won", _("Won")),
            Column("win_rate", _("Win rate"), "percent"),
            Column("average_won", _("Avg. deal won"), "money_list"),
        ],
        caption=_(
            "Leads: created in the period (owned, for SDRs). Deals: open now, and won or lost "
            "in the period (owned, for AEs)."
        ),
        empty=_("Nothing in this period."),
    )
    for person in people:
        g = {f"g_{by}": person.param}
        table.rows.append(
            Row(
                {
                    "group": Cell(person.label),
                    "leads": Cell(
                        person.leads, drill("leads", cohort="created", measure="leads", **g)
                    ),
                    "conversion_rate": Cell(
                        person.conversion_rate,
                        drill("leads", cohort="created", measure="converted", **g),
                    ),
                    "average_score": Cell(person.average_score),
                    "open_count": Cell(
                        person.open_count,
                        drill("opportunities", cohort="open", measure="open", **g),
                    ),
                    "open_amount": Cell(person.open_amount.items()),
                    "weighted": Cell(person.weighted.items()),
                    "average_probability": Cell(person.average_probability),
                    "won": Cell(
                        person.won, drill("opportunities", cohort="closed", measure="won", **g)
                    ),
                    "win_rate": Cell(person.win_rate),
                    "average_won": Cell(person.average_won()),
                }
            )
        )
    return table


# --- SLA ----------------------------------------------------------------------------------------


def sla_table(result: Tally, by: str, drill: Drill, label: str) -> Table:
    table = Table(
        f"sla_by_{by}",
        _("SLA compliance by %(dimension)s") % {"dimension": label.lower()},
        [
            Column("group", label, "text"),
            Column("timers", _("Clocks due")),
            Column("met", _("Met")),
            Column("breached", _("Breached")),
            Column("overdue", _("Overdue, running")),
            Column("running", _("On track")),
            Column("cancelled", _("Cancelled")),
            Column("rate", _("Compliance"), "percent"),
        ],
        caption=_(
            "SLA clocks due in the period. Compliance = met ÷ (met + breached + overdue); "
            "cancelled clocks (the lead left the flow in time) are not counted against it."
        ),
        empty=_("No SLA clocks fell due in this period."),
    )
    for group in [*result.rows, result.total]:
        params = _group_params(f"g_{by}", group)
        cells = {"group": Cell(group.label)}
        for name in ("timers", "met", "breached", "overdue", "running", "cancelled"):
            cells[name] = Cell(group[name], drill("timers", measure=name, **params))
        cells["rate"] = Cell(group["rate"], drill("timers", measure="met", **params))
        status = ""
        if group["rate"] is not None:
            status = "good" if group["rate"] >= 90 else ("warn" if group["rate"] >= 75 else "bad")
        table.rows.append(Row(cells, is_total=group.param is None, status=status))
    return table


def response_table(
    result: Tally, by: str | None, drill: Drill, label: str, *, medians: bool = True
) -> Table:
    table = Table(
        f"response_times{'_by_' + by if by else ''}",
        _("Response times"),
        [
            Column("group", label, "text"),
            Column("assigned", _("Leads assigned")),
            Column("first_contacted", _("Contacted")),
            Column("first_contact_median", _("Median to first contact"), "duration"),
            Column("first_contact_average", _("Average to first contact"), "duration"),
            Column("accepted", _("Accepted")),
            Column("acceptance_median", _("Median to acceptance"), "duration"),
            Column("acceptance_average", _("Average to acceptance"), "duration"),
        ],
        caption=_("Leads assigned in the period: time from assignment (exact medians)."),
        empty=_("No leads were assigned in this period."),
    )
    groups = [*result.rows, result.total] if by else [result.total]
    for group in groups:
        params = _group_params(f"g_{by}", group) if by else {}

        def link(measure: str, params: dict = params) -> str:
            return drill("leads", cohort="assigned", measure=measure, **params)

        table.rows.append(
            Row(
                {
                    "group": Cell(group.label if by else _("All leads")),
                    "assigned": Cell(group["assigned"], link("leads")),
                    "first_contacted": Cell(group["first_contacted"], link("first_contacted")),
                    "first_contact_median": Cell(group["first_contact_median"]),
                    "first_contact_average": Cell(group["first_contact_average"]),
                    "accepted": Cell(group["accepted"], link("accepted")),
                    "acceptance_median": Cell(group["acceptance_median"]),
                    "acceptance_average": Cell(group["acceptance_average"]),
                },
                is_total=bool(by) and group.param is None,
            )
        )
    return table if medians else _without(table, "first_contact_median", "acceptance_median")
