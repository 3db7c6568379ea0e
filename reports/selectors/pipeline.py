"""The pipeline after conversion.

Two kinds of figure, and the page says which is which:

* a snapshot of the deals open *now* (by stage, forecast by expected close month, aging,
  stalled, weighted value) - the period does not apply to a snapshot. Deals waiting for a
  manager's approval are not pipeline: they are left out of it and counted apart
  (`pending_approval`);
* flows in the period: deals created (stage-to-stage conversion), moved (time in stage)
  and closed (win rate, deal size, sales cycle, velocity).

Amounts are never added across currencies: every money figure is per currency.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Aggregate, Count, F, Q, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opportunities.models import Stage
from reports.aggregates import DurationSeconds, Grouped, SecondsBetween, grouped_aggregates
from reports.cohorts import (
    AGE_BUCKETS,
    ReportRequest,
    age_bucket_q,
    opportunities_open,
    opportunities_pending,
    opportunities_visible,
    opportunity_measures,
    scoped_opportunities,
    stage_changes,
    weighted_amount,
    with_furthest_stage,
)
from reports.models import REACH_POSITIONS, OpenForecast, OpenPipeline
from reports.rollups.durations import STAGE_STAYS, exact_medians
from reports.rollups.opportunities import (
    CLOSED_FIGURES,
    OPPORTUNITIES_CLOSED,
    OPPORTUNITIES_CREATED,
    STAGE_MOVES,
    reach_measures,
)
from reports.rollups.reading import cohort_figures, memoize_subtotals
from reports.selectors.tally import percent_share


@dataclass
class Money:
    """Amounts of one figure, one per currency, largest first."""

    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, amount: Decimal | None) -> None:
        if amount is not None:
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount

    def items(self) -> list[tuple[str, Decimal]]:
        return sorted(self.amounts.items(), key=lambda kv: (-kv[1], kv[0]))

    def __bool__(self) -> bool:
        return bool(self.amounts)


@dataclass
class Pending:
    """Open deals waiting for a manager's approval: not pipeline, shown apart."""

    count: int = 0
    amount: Money = field(default_factory=Money)
    by_currency: dict[str, int] = field(default_factory=dict)


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    amount: Money = field(default_factory=Money)
    weighted: Money = field(default_factory=Money)
    age_seconds_sum: float = 0.0
    buckets: dict[str, int] = field(default_factory=dict)
    stale: int = 0
    stalled_early: int = 0

    @property
    def average_age_seconds(self) -> float | None:
        return self.age_seconds_sum / self.count if self.count else None


@dataclass
class ForecastRow:
    month: datetime.date | None  # None: expected close date already past
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal
    later: bool = False  # `month` and every month after it (beyond the horizon)

    @property
    def key(self) -> str:
        """The drill-down parameter: past, YYYY-MM, or later."""
        if self.month is None:
            return "past"
        return "later" if self.later else self.month.strftime("%Y-%m")


FORECAST_MONTHS = 12


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclass
class ReachRow:
    stage: Stage | None  # None: won
    label: str
    reached: int
    to_next: float | None  # % of those that reached this stage that reached the next


@dataclass
class StageTime:
    stage: Stage
    moves: int
    average_seconds: float | None
    median_seconds: float | None
    open_now: int
    open_average_age_seconds: float | None


@dataclass
class CurrencyFlow:
    currency: str
    open_count: int = 0
    open_amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal(0)
    cycle_seconds: float | None = None
    created_count: int = 0
    created_amount: Decimal = Decimal(0)

    @property
    def win_rate(self) -> float | None:
        return percent_share(self.won, self.won + self.lost)

    @property
    def average_won(self) -> Decimal | None:
        return self.won_amount / self.won if self.won else None

    @property
    def average_created(self) -> Decimal | None:
        return self.created_amount / self.created_count if self.created_count else None

    @property
    def cycle_days(self) -> float | None:
        return self.cycle_seconds / 86400 if self.cycle_seconds else None

    @property
    def velocity_per_day(self) -> Decimal | None:
        """(open deals × average won deal × win rate) ÷ sales cycle in days."""
        if not (self.open_count and self.won and self.cycle_seconds):
            return None
        average_won = self.won_amount / self.won
        rate = Decimal(self.won) / Decimal(self.won + self.lost)
        days = Decimal(str(self.cycle_seconds / 86400))
        return (Decimal(self.open_count) * average_won * rate / days).quantize(Decimal("0.01"))


@dataclass
class Pipeline:
    stages: list[StageRow]
    forecast: list[ForecastRow]
    reach: list[ReachRow]
    times: list[StageTime]
    currencies: list[CurrencyFlow]
    open_count: int
    open_probability_sum: int
    stale: int
    stalled_early: int
    stall_age_days: int
    this_month: datetime.date
    pending: Pending = field(default_factory=Pending)

    @property
    def average_probability(self) -> float | None:
        return self.open_probability_sum / self.open_count if self.open_count else None

    @property
    def won(self) -> int:
        return sum(c.won for c in self.currencies)

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.currencies)

    @property
    def win_rate(self) -> float | None:
        return percent_share(self.won, self.won + self.lost)

    def forecast_currencies(self) -> list[str]:
        seen: dict[str, int] = defaultdict(int)
        for row in self.forecast:
            seen[row.currency] += row.count
        return sorted(seen, key=lambda c: (-seen[c], c))


# The request memo's key for the open deals (the dated cohorts are keyed by rollup model).
OPEN_DEALS = "open"
OPEN_FIGURES = (
    "count", "amount_sum", "weighted", "age", "probability_sum", "stale", "stalled_early",
    *(key for key, _label, _low, _high in AGE_BUCKETS),
)  # fmt: skip


def open_deal_figures(r: ReportRequest, group_by: list[str]) -> Grouped:
    """Figures of the deals open now, per group: the rollup snapshot (ages moved on to
    `r.now`) when the request may use it, else the source rows."""
    cached = r.memo.get((OPEN_DEALS, tuple(group_by)))
    if cached is not None:
        return {key: dict(values) for key, values in cached[1].items()}
    if r.rollups_as_of is not None and "month" in group_by:
        grouped = grouped_aggregates(
            scoped_opportunities(OpenForecast.objects.all(), r),
            group_by,
            {
                "count": Sum("count"),
                "amount_sum": Sum("amount_sum"),
                "weighted": Sum("weighted_sum"),
            },
        )
    elif r.rollups_as_of is not None:
        qs = scoped_opportunities(OpenPipeline.objects.filter(pending=False), r)
        grouped = grouped_aggregates(
            qs,
            group_by,
            {
                "count": Sum("count"),
                "amount_sum": Sum("amount_sum"),
                "weighted": Sum("weighted_sum"),
                "age": Sum("age_seconds"),
                "probability_sum": Sum("probability_sum"),
                "stale": Sum("stale"),
                "stalled_early": Sum("stalled_early"),
                **{
                    key: Sum("count", filter=Q(age_bucket=key))
                    for key, _label, _low, _high in AGE_BUCKETS
                },
            },
        )
        shift = (r.now - r.rollups_as_of).total_seconds()
        for values in grouped.values():
            values["age"] = (values["age"] or 0) + shift * (values["count"] or 0)
    else:
        measures = opportunity_measures(r)
        buckets = {
            key: Count("pk", filter=age_bucket_q(r.now, low, high))
            for key, _label, low, high in AGE_BUCKETS
        }
        grouped = grouped_aggregates(
            opportunities_open(r).annotate(month=TruncMonth("expected_close_date")),
            group_by,
            {
                "count": Count("pk"),
                "amount_sum": Sum("amount"),
                "weighted": Sum(weighted_amount()),
                "age": Sum(SecondsBetween(Value(r.now), F("stage_entered_at"))),
                "probability_sum": Sum("probability"),
                "stale": Count("pk", filter=measures["stale"]),
                "stalled_early": Count("pk", filter=measures["stalled_early"]),
                **buckets,
            },
        )
    return {
        key: {name: values.get(name) or 0 for name in OPEN_FIGURES}
        for key, values in grouped.items()
    }


def pending_approval(r: ReportRequest) -> Pending:
    """One GROUP BY currency over the open deals waiting for approval (the rollup's
    flagged rows while the request may read them)."""
    aggregates: dict[str, Aggregate]
    if r.rollups_as_of is not None:
        qs = scoped_opportunities(OpenPipeline.objects.filter(pending=True), r)
        aggregates = {"count": Sum("count"), "amount_sum": Sum("amount_sum")}
    else:
        qs = opportunities_pending(r)
        aggregates = {"count": Count("pk"), "amount_sum": Sum("amount")}
    result = Pending()
    for (currency,), values in sorted(grouped_aggregates(qs, ["currency"], aggregates).items()):
        if not values["count"]:
            continue
        result.count += values["count"]
        result.by_currency[currency] = values["count"]
        result.amount.add(currency, values["amount_sum"])
    return result


def precompute_open_deal_figures(
    r: ReportRequest, group_by: list[str], subsets: list[list[str]]
) -> None:
    """`open_deal_figures` once by all of `group_by`, kept on the request summed up to each
    grouping in `subsets`."""
    grouped = open_deal_figures(r, group_by)
    memoize_subtotals(r, OPEN_DEALS, group_by, list(OPEN_FIGURES), grouped, subsets)


def open_by_stage(r: ReportRequest) -> tuple[list[StageRow], dict[str, CurrencyFlow], int]:
    """One GROUP BY (stage, currency) over the open deals: value, weight, age, staleness."""
    grouped = open_deal_figures(r, ["stage_id", "currency"])
    keys = [key for key, _label, _low, _high in AGE_BUCKETS]
    rows = {s.pk: StageRow(stage=s, buckets=dict.fromkeys(keys, 0)) for s in r.stages}
    flows: dict[str, CurrencyFlow] = {}
    probability = 0
    for (stage_id, currency), values in grouped.items():
        row = rows[stage_id]
        row.count += values["count"]
        row.amount.add(currency, values["amount_sum"])
        row.weighted.add(currency, values["weighted"])
        row.age_seconds_sum += values["age"]
        row.stale += values["stale"]
        row.stalled_early += values["stalled_early"]
        for key in keys:
            row.buckets[key] += values[key]
        flow = flows.setdefault(currency, CurrencyFlow(currency))
        flow.open_count += values["count"]
        flow.open_amount += values["amount_sum"]
        flow.weighted += values["weighted"]
        probability += values["probability_sum"]
    open_rows = [row for row in rows.values() if not row.stage.is_closed]
    return open_rows, flows, probability


def forecast(r: ReportRequest) -> tuple[list[ForecastRow], datetime.date]:
    """Weighted value of the open deals by expected close month: past dates lumped, then
    the next twelve months, then the rest lumped."""
    today = timezone.localdate(r.now, r.filters.tz)
    this_month = today.replace(day=1)
    horizon = add_months(this_month, FORECAST_MONTHS)
    grouped = open_deal_figures(r, ["month", "currency"])
    rows: dict[tuple[datetime.date | None, str], ForecastRow] = {}
    for (month, currency), values in grouped.items():
        if isinstance(month, datetime.datetime):
            month = month.date()
        bucket = month if month is not None and month >= this_month else None
        bucket = horizon if bucket is not None and bucket >= horizon else bucket
        row = rows.setdefault(
            (bucket, currency),
            ForecastRow(bucket, currency, 0, Decimal(0), Decimal(0), later=bucket == horizon),
        )
        row.count += values["count"]
        row.amount += values["amount_sum"]
        row.weighted += values["weighted"]
    ordered = sorted(
        rows.values(),
        key=lambda row: (row.month is not None, row.month or this_month, row.currency),
    )
    return ordered, this_month


def stage_reach(r: ReportRequest) -> list[ReachRow]:
    """Of the deals created in the period: how many reached each open stage (or went
    further), and won. A deal's furthest stage is the furthest non-lost stage it entered."""
    open_stages = [s for s in r.stages if not s.is_closed and s.is_active]
    in_rollup = all(s.position < REACH_POSITIONS for s in open_stages)
    names = ["won_reach", *(f"reach_{s.position}" for s in open_stages)]
    reached = cohort_figures(
        OPPORTUNITIES_CREATED,
        r.with_rollups(in_rollup),
        [],
        names,
        source_rows=lambda r: with_furthest_stage(opportunities_visible(r)),
        measures=reach_measures()
        | {f"reach_{s.position}": Count("pk", filter=Q(furthest__gte=s.position))
           for s in open_stages},
    )[()]  # fmt: skip
    rows = [ReachRow(s, s.name, reached[f"reach_{s.position}"], None) for s in open_stages]
    rows.append(ReachRow(None, str(_("Won")), reached["won_reach"], None))
    for row, following in zip(rows, rows[1:], strict=False):
        row.to_next = percent_share(following.reached, row.reached)
    return rows


def time_in_stage(
    r: ReportRequest, open_rows: list[StageRow], *, medians: bool = True
) -> list[StageTime]:
    """How long deals sat in each stage before leaving it in the period (average, and with
    `medians` the exact median from the source rows), beside the deals sitting there now."""
    grouped = cohort_figures(STAGE_MOVES, r, ["from_stage_id"], ["moves", "seconds"])
    times: Grouped = {}
    if medians and r.rollups:
        times = exact_medians(STAGE_STAYS, r, ["from_stage_id"], ["median"])[0]
    elif medians:
        times = grouped_aggregates(
            stage_changes(r).filter(from_stage__isnull=False, time_in_previous_stage__isnull=False),
            ["from_stage_id"],
            {},
            medians={"median": DurationSeconds("time_in_previous_stage")},
        )
    open_by_id = {row.stage.pk: row for row in open_rows}
    result = []
    for stage in r.stages:
        if stage.is_closed:
            continue
        values = grouped.get((stage.pk,), {})
        moves = values.get("moves") or 0
        current = open_by_id.get(stage.pk)
        result.append(
            StageTime(
                stage=stage,
                moves=moves,
                average_seconds=values["seconds"] / moves if moves else None,
                median_seconds=times.get((stage.pk,), {}).get("median"),
                open_now=current.count if current else 0,
                open_average_age_seconds=current.average_age_seconds if current else None,
            )
        )
    return result


def closed_flows(r: ReportRequest, flows: dict[str, CurrencyFlow]) -> None:
    """Won / lost in the period and the sales cycle of the won deals, per currency."""
    closed = cohort_figures(OPPORTUNITIES_CLOSED, r, ["currency"], CLOSED_FIGURES)
    for (currency,), values in closed.items():
        if not (values["won"] or values["lost"]):
            continue
        flow = flows.setdefault(currency, CurrencyFlow(currency))
        flow.won, flow.lost = values["won"], values["lost"]
        flow.won_amount = Decimal(values["won_amount"] or 0)
        flow.cycle_seconds = values["cycle_seconds"] / values["won"] if values["won"] else None


def pipeline(
    r: ReportRequest,
    *,
    created: dict[str, tuple[int, Decimal]] | None = None,
    medians: bool = True,
    reach: bool = True,
) -> Pipeline:
    """`created`: {currency: (count, amount)} of the deals created in the period, when the
    caller has it (the pipeline-to-won ratio reads the same figures). The dashboard skips
    the medians and the stage reach (the pipeline page has them)."""
    open_rows, flows, probability = open_by_stage(r)
    closed_flows(r, flows)
    if created is None:
        created = {
            currency: (values["opportunities"], values["amount_sum"])
            for (currency,), values in cohort_figures(
                OPPORTUNITIES_CREATED, r, ["currency"], ["opportunities", "amount_sum"]
            ).items()
            if values["opportunities"]
        }
    for currency, (count, amount) in created.items():
        flow = flows.setdefault(currency, CurrencyFlow(currency))
        flow.created_count, flow.created_amount = count, amount or Decimal(0)
    rows, this_month = forecast(r)
    return Pipeline(
        stages=open_rows,
        forecast=rows,
        reach=stage_reach(r) if reach else [],
        times=time_in_stage(r, open_rows, medians=medians),
        currencies=sorted(flows.values(), key=lambda f: (-f.open_count - f.won, f.currency)),
        open_count=sum(row.count for row in open_rows),
        open_probability_sum=probability,
        stale=sum(row.stale for row in open_rows),
        stalled_early=sum(row.stalled_early for row in open_rows),
        stall_age_days=r.policy.stall_age_days,
        this_month=this_month,
        pending=pending_approval(r),
    )
