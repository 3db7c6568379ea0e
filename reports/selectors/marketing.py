"""The marketing side of the SLA framework, and the loop closed to revenue.

* MQLs delivered per calendar month and source against RevOps' targets (`MqlTarget`).
  Delivered = leads created in the month (reader's zone) that reached MQL. The targets are
  the company's, so the delivered figures are too: every lead counts, whoever reads, and
  the team and owner filters do not apply (the source filter does).
* MQL -> revenue by source or campaign: of the leads created in the period, how many
  became MQLs, opportunities and won deals, and the value won, per currency (never summed
  across currencies). Scoped to the reader like every other report.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from leads.models import Source
from reports.cohorts import ReportRequest, system_reader
from reports.dimensions import dimension
from reports.filters import ReportFilters
from reports.models import MqlTarget
from reports.rollups.leads import LEADS_CREATED, leads_with_deal_currency
from reports.rollups.reading import cohort_figures, figures_by_period
from reports.selectors.pipeline import Money, add_months
from reports.selectors.tally import percent_share

MAX_MONTHS = 36

# How a month's delivery reads against its target.
MET = "target_met"  # the target is reached (also early, in the running month)
BELOW = "target_below"  # a month over, short of its target
BEHIND = "target_behind"  # the running month, short of the pace to its target
ON_PACE = "target_on_pace"  # the running month, at or above the pace


@dataclass
class TargetRow:
    """MQLs one source delivered in one month, against that month's target."""

    month: datetime.date
    source: str
    label: str
    delivered: int
    target: int | None
    status: str | None
    pace: int | None = None  # the running month: where delivery should be by now

    @property
    def percent(self) -> float | None:
        return percent_share(self.delivered, self.target)

    @property
    def is_below(self) -> bool:
        return self.status in (BELOW, BEHIND)


@dataclass
class MqlDelivery:
    months: list[datetime.date]
    rows: list[TargetRow]
    this_month: datetime.date

    @property
    def delivered(self) -> int:
        return sum(row.delivered for row in self.rows)

    @property
    def with_target(self) -> list[TargetRow]:
        return [row for row in self.rows if row.target is not None]

    @property
    def below(self) -> list[TargetRow]:
        return [row for row in self.rows if row.is_below]

    @property
    def met(self) -> list[TargetRow]:
        return [row for row in self.rows if row.status == MET]


def months_of(f: ReportFilters) -> list[datetime.date]:
    """The calendar months the period touches, each taken whole (at most `MAX_MONTHS`,
    the latest)."""
    first, last = f.start.replace(day=1), f.end.replace(day=1)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months[-MAX_MONTHS:]


def _local_midnight(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def _company_wide(r: ReportRequest) -> ReportRequest:
    """`r` as read by the company: every lead, the source filter only."""
    filters = r.filters.with_changes(team=None, owner=None)
    return dataclasses.replace(r, user=system_reader(), filters=filters, memo={})


def mql_delivery(r: ReportRequest) -> MqlDelivery:
    """One GROUP BY (month, source) over the leads created in the months of the period
    (two queries: rollup and edges), one read of their targets."""
    f = r.filters
    months = months_of(f)
    tz = f.tz
    periods = [
        (_local_midnight(month, tz), _local_midnight(add_months(month, 1), tz)) for month in months
    ]
    grouped = figures_by_period(LEADS_CREATED, _company_wide(r), periods, ["source"], ["mql"])
    targets_qs = MqlTarget.objects.filter(month__in=months)
    if f.source:
        targets_qs = targets_qs.filter(source=f.source)
    targets = {(t.month, t.source): t.target for t in targets_qs}
    sources = [f.source] if f.source else list(Source.values)
    labels = dict(Source.choices)
    now = r.now
    rows = []
    for index, month in enumerate(months):
        start, end = periods[index]
        for source in sources:
            delivered = (grouped.get((index, source)) or {}).get("mql") or 0
            target = targets.get((month, source))
            if target is None and not delivered:
                continue
            status, pace = _reading(delivered, target, start, end, now)
            label = str(labels.get(source, source))
            rows.append(TargetRow(month, source, label, delivered, target, status, pace))
    this_month = now.astimezone(tz).date().replace(day=1)
    return MqlDelivery(months=months, rows=rows, this_month=this_month)


def _reading(
    delivered: int,
    target: int | None,
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
) -> tuple[str | None, int | None]:
    """(status, pace): a month over is met or below; the running month is met, on pace or
    behind the pace of its target; a month not begun has no reading yet."""
    if target is None or now < start:
        return None, None
    if delivered >= target:
        return MET, None
    if now >= end:
        return BELOW, None
    share = Decimal((now - start).total_seconds()) / Decimal((end - start).total_seconds())
    pace = int(target * share)
    return (ON_PACE if delivered >= pace else BEHIND), pace


# --- MQL -> revenue ----------------------------------------------------------------------------

REVENUE_FIGURES = ("leads", "mql", "converted", "won", "won_amount")


@dataclass
class RevenueRow:
    key: Any
    label: str
    param: str | None  # the drill-down value; None for the total
    leads: int = 0
    mql: int = 0
    converted: int = 0
    won: int = 0
    won_amount: Money = field(default_factory=Money)

    @property
    def conversion_rate(self) -> float | None:
        return percent_share(self.converted, self.mql)

    @property
    def won_rate(self) -> float | None:
        return percent_share(self.won, self.mql)

    def add(self, values: dict[str, Any], currency: str) -> None:
        self.leads += values["leads"] or 0
        self.mql += values["mql"] or 0
        self.converted += values["converted"] or 0
        self.won += values["won"] or 0
        if currency and values["won_amount"]:
            self.won_amount.add(currency, Decimal(values["won_amount"]))


@dataclass
class Revenue:
    by: str
    rows: list[RevenueRow]
    total: RevenueRow


def revenue_by(r: ReportRequest, by: str = "source") -> Revenue:
    """One GROUP BY (source or campaign, deal currency) over the leads created in the
    period: MQLs, opportunities, won deals and the value won, per currency."""
    dim = dimension(by, "leads")
    grouped = cohort_figures(
        LEADS_CREATED,
        r,
        [dim.column, "currency"],
        REVENUE_FIGURES,
        source_rows=leads_with_deal_currency,
    )
    keys = {key for key, _currency in grouped}
    labels = dim.labels(keys)
    rows = {key: RevenueRow(key, labels.get(key, str(key)), dim.param(key)) for key in keys}
    total = RevenueRow(None, str(_("Total")), None)
    for (key, currency), values in grouped.items():
        rows[key].add(values, currency)
        total.add(values, currency)
    shown = [row for row in rows.values() if row.leads]
    shown.sort(key=lambda row: (-row.mql, -row.leads, row.label.lower()))
    return Revenue(by=by, rows=shown, total=total)
