"""What each report page shows: its tables (page, CSV and API share them) and chart data.

The views only parse the filters and pick the page; everything a page computes is here,
on top of `reports.selectors`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.exceptions import NotFound
from leads.clocks import ClockEvent
from reports import formatting
from reports.cohorts import ReportRequest
from reports.dimensions import DIMENSIONS
from reports.selectors import (
    compliance,
    conversion_by,
    dashboard,
    funnel,
    kpis_by,
    pipeline,
    quality,
    response_times,
)
from reports.selectors.dashboard import Dashboard, speed
from reports.selectors.marketing import MqlDelivery, mql_delivery, revenue_by
from reports.selectors.pipeline import Pipeline
from reports.tables import (
    Cell,
    Column,
    DrillLinks,
    Row,
    Table,
    aging_table,
    conversion_table,
    delayed_table,
    forecast_table,
    funnel_breakdown_table,
    funnel_table,
    handoff_table,
    overrides_table,
    pending_table,
    people_table,
    pipeline_to_won_table,
    premature_table,
    reach_table,
    response_table,
    revenue_table,
    sla_table,
    stages_table,
    targets_table,
    time_in_stage_table,
    velocity_table,
)
from reports.tables.marketing import targets_grid
from sla.models import SlaPolicy


@dataclass
class Tile:
    """A headline figure on the dashboard."""

    key: str
    label: str
    icon: str
    value: str
    link: str = ""
    sub: str = ""
    accent: str = ""
    status: str | None = None
    small: bool = False


@dataclass
class Page:
    """A report page: its tables by id, the data its charts draw, extra template context."""

    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def add(self, *tables: Table) -> None:
        for table in tables:
            self.tables[table.id] = table

    def table(self, table_id: str | None) -> Table:
        if table_id is None and len(self.tables) == 1:
            return next(iter(self.tables.values()))
        if table_id not in self.tables:
            raise NotFound("no such table")
        return self.tables[table_id]


# --- chart data (plain numbers; the page's tables carry the same figures) -----------------


def conversion_chart(table: Table) -> dict[str, Any]:
    rows = [row for row in table.rows if not row.is_total]
    first = table.columns[0].key
    return {
        "labels": [row.cells[first].label for row in rows],
        "rates": [_rounded(row.cells["rate"].value) for row in rows],
        "lows": [_rounded(row.cells["benchmark_low"].value) for row in rows],
        "highs": [_rounded(row.cells["benchmark_high"].value) for row in rows],
        "statuses": [row.status for row in rows],
        "leads": [row.cells["leads"].value for row in rows],
    }


def funnel_chart(table: Table) -> dict[str, Any]:
    return {
        "labels": [row.cells["step"].value for row in table.rows],
        "counts": [row.cells["count"].value for row in table.rows],
    }


MAX_FORECAST_MONTHS = 24


def _month_starts(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months: list[datetime.date] = []
    month = first
    while month <= last and len(months) < MAX_FORECAST_MONTHS:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def pipeline_charts(p: Pipeline) -> dict[str, Any]:
    """The forecast per currency over consecutive months (empty months shown as 0)."""
    by_currency: dict[str, dict[Any, Any]] = {}
    for row in p.forecast:
        by_currency.setdefault(row.currency, {})[row.month] = row
    forecast: dict[str, dict[str, list]] = {}
    for currency, rows in by_currency.items():
        dated = [m for m in rows if m is not None]
        months: list[Any] = [None] if None in rows else []
        months += _month_starts(p.this_month, max(dated)) if dated else []
        forecast[currency] = {
            "labels": [rows[m].key if m in rows else m.strftime("%Y-%m") for m in months],
            "weighted": [float(rows[m].weighted) if m in rows else 0 for m in months],
            "amount": [float(rows[m].amount) if m in rows else 0 for m in months],
        }
    return {
        "stages": {
            "labels": [row.stage.name for row in p.stages],
            "counts": [row.count for row in p.stages],
            "stale": [row.stale for row in p.stages],
        },
        "forecast": {"currencies": p.forecast_currencies(), "series": forecast},
        "times": {
            "labels": [row.stage.name for row in p.times],
            # The exact median where the page computed it, else the average stay.
            "stay_days": [
                _seconds_to_days(
                    row.median_seconds if row.median_seconds is not None else row.average_seconds
                )
                for row in p.times
            ],
            "stay_label": str(
                _("Median stay (days)")
                if any(row.median_seconds is not None for row in p.times)
                else _("Average stay (days)")
            ),
            "open_age_days": [_seconds_to_days(row.open_average_age_seconds) for row in p.times],
        },
    }


def sla_chart(table: Table) -> dict[str, Any]:
    rows = [row for row in table.rows if not row.is_total]
    return {
        "labels": [row.cells["group"].value for row in rows],
        "met": [row.cells["met"].value for row in rows],
        "breached": [row.cells["breached"].value for row in rows],
        "overdue": [row.cells["overdue"].value for row in rows],
    }


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _seconds_to_days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 86400, 2)


# --- pages ------------------------------------------------------------------------------------


def dashboard_page(r: ReportRequest, *, people_by: str = "owner") -> Page:
    d = dashboard(r, people_by=people_by)
    drill = DrillLinks(r.filters)
    page = Page()
    conversion = conversion_table(d.conversion, drill)
    funnel_steps = funnel_table(d.funnel, drill, medians=False)
    sla = sla_table(d.sla, "policy", drill, _("Policy"))
    page.add(
        conversion,
        funnel_steps,
        stages_table(d.pipeline, drill),
        pending_table(d.pipeline, drill),
        forecast_table(d.pipeline, drill),
        time_in_stage_table(d.pipeline, drill, medians=False),
        people_table(d.people, people_by, drill),
        sla,
    )
    page.charts = {
        "conversion": conversion_chart(conversion),
        "funnel": funnel_chart(funnel_steps),
        **pipeline_charts(d.pipeline),
        "sla": sla_chart(sla),
    }
    page.context = {"d": d, "drill": drill, "tiles": dashboard_tiles(d, drill)}
    return page


def dashboard_tiles(d: Dashboard, drill: DrillLinks) -> list[Tile]:
    """The headline figures, each linking to the records behind it."""
    overall = d.conversion.overall
    p = d.pipeline
    premature = d.premature
    handoffs = d.handoffs
    sla = d.sla.total
    lost_to_competitor = d.funnel.total.get("lost_to_competitor") or 0
    open_amounts: dict[str, Any] = {}
    for row in p.stages:
        for currency, amount in row.amount.items():
            open_amounts[currency] = open_amounts.get(currency, 0) + amount
    bench = ""
    if overall["benchmark_low"] is not None:
        bench = _("benchmark %(low)s–%(high)s") % {
            "low": formatting.number(overall["benchmark_low"]),
            "high": formatting.percent(overall["benchmark_high"], 0),
        }
    return [
        Tile(
            "leads",
            _("Leads created"),
            "bi-inbox",
            formatting.number(d.funnel.leads),
            drill("leads", cohort="created", measure="leads"),
            _("Average score %(score)s")
            % {"score": formatting.number(d.funnel.total.get("average_score"), 1)},
            "kpi-sky",
        ),
        Tile(
            "conversion",
            _("Lead → opportunity"),
            "bi-bullseye",
            formatting.percent(overall["rate"]),
            drill("leads", cohort="created", measure="converted"),
            _("%(n)s converted · %(bench)s")
            % {"n": formatting.number(overall["converted"]), "bench": bench},
            "kpi-teal",
            overall["status"],
        ),
        Tile(
            "pipeline",
            _("Open pipeline"),
            "bi-kanban",
            _("%(n)s deals") % {"n": formatting.number(p.open_count)},
            drill("opportunities", cohort="open", measure="open"),
            formatting.money_list(sorted(open_amounts.items(), key=lambda kv: -kv[1])[:3])
            + _pending_note(p),
            "",
        ),
        Tile(
            "win_rate",
            _("Win rate"),
            "bi-trophy",
            formatting.percent(p.win_rate),
            drill("opportunities", cohort="closed", measure="won"),
            _("%(won)s won · %(lost)s lost in the period")
            % {"won": formatting.number(p.won), "lost": formatting.number(p.lost)},
            "kpi-violet",
        ),
        Tile(
            "premature",
            _("Premature conversions"),
            "bi-hourglass-bottom",
            formatting.percent(premature.get("premature_rate")),
            drill("opportunities", cohort="created", measure="premature"),
            _("%(n)s of %(total)s new deals died or stalled early")
            % {
                "n": formatting.number(premature.get("premature")),
                "total": formatting.number(premature.get("opportunities")),
            },
            "kpi-rose",
        ),
        Tile(
            "lost_to_competitor",
            _("Lost to a competitor"),
            "bi-flag",
            formatting.number(lost_to_competitor),
            drill("leads", cohort="created", measure="lost_to_competitor"),
            _("%(p)s of the leads, before they converted")
            % {
                "p": formatting.percent(
                    100 * lost_to_competitor / d.funnel.leads if d.funnel.leads else None
                )
            },
            "kpi-amber",
        ),
        Tile(
            "sla",
            _("SLA compliance"),
            "bi-stopwatch",
            formatting.percent(sla.get("rate")),
            drill("timers", measure="met"),
            _("%(b)s breached · %(o)s overdue now")
            % {
                "b": formatting.number(sla.get("breached")),
                "o": formatting.number(sla.get("overdue")),
            },
            "kpi-teal",
        ),
        Tile(
            "handoff",
            _("Hand-off rating"),
            "bi-arrow-left-right",
            formatting.number(handoffs.get("average_rating"), 1) + " / 5"
            if handoffs.get("average_rating") is not None
            else formatting.DASH,
            drill("handoffs", measure="rated"),
            _("AE repeated discovery in %(p)s")
            % {"p": formatting.percent(handoffs.get("repeated_rate"))},
            "kpi-sky",
        ),
    ]


def _pending_note(p: Pipeline) -> str:
    """The deals kept out of the pipeline while they wait for approval, if any."""
    if not p.pending.count:
        return ""
    return " · " + _("%(n)s waiting for approval, not counted") % {
        "n": formatting.number(p.pending.count)
    }


def speed_page(r: ReportRequest) -> Page:
    """The dashboard's exact medians (see `reports.selectors.dashboard.speed`)."""
    s = speed(r)
    drill = DrillLinks(r.filters)
    page = Page()
    steps = funnel_table(s.funnel, drill)
    steps.id, steps.title = "speed_funnel", _("Time between funnel steps")
    steps.columns = [c for c in steps.columns if c.key in ("step", "count", "median")]
    response = response_table(s.response, None, drill, _("Leads"))
    response.id = "speed_response"
    times = Table(
        "speed_stages",
        _("Median stay per stage"),
        [
            Column("stage", _("Stage"), "text"),
            Column("moves", _("Moves out")),
            Column("median", _("Median stay"), "duration"),
            Column("average", _("Average stay"), "duration"),
        ],
        caption=_("Deals that left a stage in the period."),
    )
    for row in s.times:
        times.rows.append(
            Row(
                {
                    "stage": Cell(row.stage.name),
                    "moves": Cell(row.moves, drill("moves", g_from_stage=row.stage.pk)),
                    "median": Cell(row.median_seconds),
                    "average": Cell(row.average_seconds),
                }
            )
        )
    page.add(steps, response, times)
    return page


def conversion_page(r: ReportRequest, by: str = "source") -> Page:
    if by not in ("source", "campaign"):
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    table = conversion_table(conversion_by(r, by), drill)
    page = Page()
    page.add(table)
    page.charts = {"conversion": conversion_chart(table)}
    return page


def funnel_page(r: ReportRequest, by: str) -> Page:
    if by not in DIMENSIONS["leads"]:
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    result = funnel(r, by=by)
    steps = funnel_table(result, drill)
    page = Page()
    label = str(DIMENSIONS["leads"][by].label)
    page.add(steps, funnel_breakdown_table(result, by, drill, label))
    page.charts = {"funnel": funnel_chart(steps)}
    return page


def quality_page(r: ReportRequest, handoffs_by: str = "sdr") -> Page:
    if handoffs_by not in ("sdr", "ae"):
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    # The page shows one of the funnel's medians: the others are not computed.
    lead_funnel = funnel(r, medians=["sql_to_opportunity"])
    q = quality(r, funnel=lead_funnel, handoffs_by=handoffs_by)
    policies = list(SlaPolicy.objects.filter(stop_event=ClockEvent.CONVERTED, is_active=True))
    page = Page()
    page.add(
        premature_table(q, drill),
        pipeline_to_won_table(q, drill),
        delayed_table(q, drill, policies, compliance(r, by="policy")),
        overrides_table(q, drill),
        handoff_table(q, drill, handoffs_by),
    )
    page.context = {"q": q}
    return page


def pipeline_page(r: ReportRequest, by: str) -> Page:
    if by not in ("owner", "team"):
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    p = pipeline(r)
    page = Page()
    page.add(
        stages_table(p, drill),
        pending_table(p, drill),
        forecast_table(p, drill),
        aging_table(p, drill),
        reach_table(p, drill),
        time_in_stage_table(p, drill),
        velocity_table(p, drill),
        people_table(kpis_by(r, by), by, drill),
    )
    page.charts = pipeline_charts(p)
    page.context = {"p": p}
    return page


def sla_page(r: ReportRequest, by: str) -> Page:
    if by not in DIMENSIONS["timers"]:
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    label = str(DIMENSIONS["timers"][by].label)
    table = sla_table(compliance(r, by=by), by, drill, label)
    response_by = by if by in DIMENSIONS["leads"] else "source"
    response_label = str(DIMENSIONS["leads"][response_by].label)
    page = Page()
    page.add(
        table,
        response_table(response_times(r, by=response_by), response_by, drill, response_label),
    )
    page.charts = {"sla": sla_chart(table)}
    return page


def marketing_page(r: ReportRequest, by: str = "source", *, drill_targets: bool = False) -> Page:
    """The marketing SLA: MQLs delivered against the targets, and MQL -> revenue by source
    or campaign. `drill_targets`: link the company-wide counts to their leads (readers who
    see every lead)."""
    if by not in ("source", "campaign"):
        raise NotFound("unknown breakdown")
    drill = DrillLinks(r.filters)
    delivery = mql_delivery(r)
    revenue = revenue_by(r, by)
    page = Page()
    targets = targets_table(delivery, drill if drill_targets else None)
    page.add(targets, revenue_table(revenue, drill))
    page.context = {
        "delivery": delivery,
        "grid": targets_grid(delivery, targets),
        "revenue": revenue,
        "tiles": marketing_tiles(delivery, revenue.total.won_amount.items(), revenue.total.won),
    }
    return page


def marketing_tiles(delivery: MqlDelivery, won_amounts: list[Any], won: int) -> list[Tile]:
    with_target = delivery.with_target
    targeted = sum(row.delivered for row in with_target)
    target = sum(row.target or 0 for row in with_target)
    below = delivery.below
    months = len(delivery.months)
    return [
        Tile(
            "delivered",
            _("MQLs delivered"),
            "bi-inbox",
            formatting.number(delivery.delivered),
            sub=ngettext(
                "%(months)s month, company-wide", "%(months)s months, company-wide", months
            )
            % {"months": months},
            accent="kpi-sky",
        ),
        Tile(
            "of_target",
            _("Of the targets set"),
            "bi-bullseye",
            formatting.percent(100 * targeted / target if target else None),
            sub=_("%(delivered)s of %(target)s MQLs")
            % {"delivered": formatting.number(targeted), "target": formatting.number(target)},
            accent="kpi-teal",
        ),
        Tile(
            "below",
            _("Below target"),
            "bi-arrow-down",
            formatting.number(len(below)),
            sub=_("of %(n)s source-months with a target") % {"n": len(with_target)},
            accent="kpi-rose" if below else "kpi-teal",
            status="bad" if below else ("good" if with_target else None),
        ),
        Tile(
            "won",
            _("Won from the period's leads"),
            "bi-trophy",
            formatting.number(won),
            sub=formatting.money_list(won_amounts[:3]),
            accent="kpi-violet",
        ),
    ]
