"""Daily rollups: what the dashboard reads instead of scanning millions of rows.

Each rollup table (reports.models) holds, per UTC day and per combination of the fields
that scoping and filters need (source, team, owner, AE, ...), the *additive* figures of a
cohort: counts and sums. A report period in the reader's zone rarely starts at UTC
midnight, so a figure is

    SUM over the rollup rows of the whole UTC days inside the period
  + the same aggregate over the source rows of the partial days at its two ends,

which is exact for any period and zone. Medians are not additive: they are always
computed from the source rows (`reports.aggregates`).

Freshness: `refresh()` runs every 30 seconds (beat) and rebuilds only the days touched by
what changed since the last run (rows updated or created, lead events and transitions,
stage changes), with a safety overlap for transactions that commit late; once a night it
rebuilds everything, which also heals writes that bypass `updated_at` (bulk updates).
Pages use the rollups only while they are fresher than `ROLLUP_MAX_AGE`; otherwise they
fall back to the source tables (slower, never wrong). The API always reads the source
tables (live figures).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import (
    Case,
    Count,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncHour, TruncMonth
from django.utils import timezone

from leads.models import Handoff, Lead, LeadEvent
from opportunities.models import Opportunity, StageChange
from reports.aggregates import DurationSeconds, SecondsBetween, grouped_aggregates
from reports.filters import ReportFilters
from reports.models import DAY as DAY_GRAIN  # the grains; DAY, HOUR below are timedeltas
from reports.models import HOUR as HOUR_GRAIN
from reports.models import (
    MONTH,
    REACH_POSITIONS,
    HandoffDay,
    LeadAssignedDay,
    LeadCreatedDay,
    LeadScope,
    OpenForecast,
    OpenPipeline,
    OpportunityClosedDay,
    OpportunityCreatedDay,
    RollupState,
    StageMoveDay,
    TimerDay,
)
from reports.selectors import base
from sla.models import SlaTimer

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
# Transactions commit after their `updated_at` was taken: look back this far past the
# watermark so a late commit is not missed.
OVERLAP = datetime.timedelta(minutes=5)
# Above this many changed rows an incremental refresh is slower than a rebuild.
INCREMENTAL_LIMIT = 50_000


def max_age() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "THRESHOLD_ROLLUP_MAX_AGE", 600))


# --- reading ------------------------------------------------------------------------------------


def state() -> RollupState:
    obj, _created = RollupState.objects.get_or_create(pk=1)
    return obj


def usable(now: datetime.datetime) -> RollupState | None:
    """The state when the rollups are fresh enough for pages, else None (read the source)."""
    current = RollupState.objects.filter(pk=1).first()
    if current is None or current.refreshed_at is None:
        return None
    if now - current.refreshed_at > max_age():
        return None
    return current


HOUR = datetime.timedelta(hours=1)


def _floor(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    moment = moment.astimezone(UTC)
    if step == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    floor = _floor(moment, step)
    return floor if floor == moment else floor + step


@dataclass
class Cover:
    """An interval as rollup rows (whole months, days and hours, UTC) plus the source
    ranges of what is left (the minutes at its ends in zones off the whole hour)."""

    rows: Q | None
    raw: list[tuple[datetime.datetime, datetime.datetime]]

    def raw_q(self, field: str) -> Q | None:
        condition = None
        for low, high in self.raw:
            part = Q(**{f"{field}__gte": low, f"{field}__lt": high})
            condition = part if condition is None else condition | part
        return condition


def _or(a: Q | None, b: Q | None) -> Q | None:
    if a is None:
        return b
    return a if b is None else a | b


def cover(start: datetime.datetime, end: datetime.datetime) -> Cover:
    result = Cover(None, [])
    if start >= end:
        return result
    first_day, last_day = _ceil(start, DAY), _floor(end, DAY)
    if first_day < last_day:
        result.rows = _days_q(first_day.date(), (last_day - DAY).date())
        edges = [(start, first_day), (last_day, end)]
    else:
        edges = [(start, end)]
    for low, high in edges:
        if low >= high:
            continue
        first_hour, last_hour = _ceil(low, HOUR), _floor(high, HOUR)
        if first_hour < last_hour:
            result.rows = _or(result.rows, _hours_q(first_hour, last_hour))
            result.raw += [(a, b) for a, b in ((low, first_hour), (last_hour, high)) if a < b]
        else:
            result.raw.append((low, high))
    return result


def _days_q(first: datetime.date, last: datetime.date) -> Q:
    """The rows of the days `first`..`last`: a month row per month they cover whole."""
    condition = None
    day = first
    while day <= last:
        month_start = day.replace(day=1)
        following = (month_start + datetime.timedelta(days=32)).replace(day=1)
        month_end = following - DAY
        if day == month_start and month_end <= last:
            part = Q(grain=MONTH, day=month_start)
        else:
            part = Q(grain=DAY_GRAIN, day__gte=day, day__lte=min(month_end, last))
        condition = _or(condition, part)
        day = following
    return condition


def _hours_q(first: datetime.datetime, last: datetime.datetime) -> Q:
    """The hour rows of ``[first, last)`` (whole UTC hours, possibly across midnight)."""
    condition = None
    moment = first
    while moment < last:
        day_end = _floor(moment, DAY) + DAY
        stop = min(day_end, last)
        part = Q(grain=HOUR_GRAIN, day=moment.date(), hour__gte=moment.hour)
        if stop < day_end:
            part &= Q(hour__lt=stop.hour)
        condition = _or(condition, part)
        moment = stop
    return condition


@dataclass(frozen=True)
class Rollup:
    """How one rollup table answers for one source cohort."""

    model: type[models.Model]
    time_field: str
    scoped: Callable[[QuerySet, base.ReportRequest], QuerySet]  # scope + filters
    raw: Callable[[base.ReportRequest], QuerySet]  # source rows, scoped, no period
    measures: Callable[[base.ReportRequest], dict[str, Any]]  # raw aggregates by name


def rolled(
    rollup: Rollup,
    r: base.ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    *,
    clock: dict[str, tuple[str, str]] | None = None,
    rollup_sums: dict[str, Any] | None = None,
    raw: Callable[[base.ReportRequest], QuerySet] | None = None,
    measures: dict[str, Any] | None = None,
) -> dict[tuple, dict[str, Any]]:
    """``{group key: {name: value}}``: rollup rows for the whole months, days and hours
    of the period, source rows for the rest, added up. `rollup_sums` maps a name to the
    rollup column (or aggregate) summed for it when that differs (None: nothing).

    `clock`, for figures that change with time (an SLA clock still running is "overdue"
    once past due): ``{name: (column, "before" | "after")}`` sums `column` over the rows
    before / after the current hour; that hour itself is read from the source rows."""
    names = list(names)
    rollup_sums = rollup_sums or {}
    f = r.filters
    result: dict[tuple, dict[str, Any]] = {}
    if clock is None:
        whole = cover(f.start_at, f.end_at)
        rows, raw_ranges, when = whole.rows, whole.raw, {}
    else:
        hour = _floor(r.now, HOUR)
        before = cover(f.start_at, min(f.end_at, hour))
        after = cover(max(f.start_at, hour + HOUR), f.end_at)
        rows = _or(before.rows, after.rows)
        current = (max(f.start_at, hour), min(f.end_at, hour + HOUR))
        raw_ranges = before.raw + after.raw + ([current] if current[0] < current[1] else [])
        when = {"before": before.rows, "after": after.rows}
    if rows is not None:
        qs = rollup.scoped(rollup.model.objects.all(), r).filter(rows)
        sums = {}
        for name in names:
            if clock and name in clock:
                column, side = clock[name]
                if when[side] is not None:
                    sums[name] = Sum(column, filter=when[side])
                continue
            column = rollup_sums.get(name, name)
            if column is not None:
                sums[name] = Sum(column) if isinstance(column, str) else column
        _add(result, grouped_aggregates(qs, group_by, sums), names)
    raw_q = Cover(None, raw_ranges).raw_q(rollup.time_field)
    if raw_q is not None:
        all_measures = measures or rollup.measures(r)
        qs = (raw or rollup.raw)(r).filter(raw_q)
        _add(result, grouped_aggregates(qs, group_by, {n: all_measures[n] for n in names}), names)
    if not group_by and () not in result:
        result[()] = dict.fromkeys(names, 0)
    return result


def counts(
    rollup: Rollup,
    r: base.ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    *,
    clock: dict[str, tuple[str, str]] | None = None,
    rollup_sums: dict[str, Any] | None = None,
    raw: Callable[[base.ReportRequest], QuerySet] | None = None,
    measures: dict[str, Any] | None = None,
) -> dict[tuple, dict[str, Any]]:
    """The named figures of a cohort in the report period, per group: from the rollup
    when the request may use it (`r.rollups`), else from the source rows. Both paths use
    the same raw measures, so they agree (tests/reports/test_rollups.py).

    `raw` / `measures` replace the cohort's source queryset and measures (for figures the
    rollup keeps in other columns, mapped by `rollup_sums`)."""
    names = list(names)
    plain = clock is None and not rollup_sums and raw is None and measures is None
    cached = r.memo.get((rollup.model, tuple(group_by))) if plain else None
    if cached is not None and set(names) <= cached[0]:
        return {key: {n: values[n] for n in names} for key, values in cached[1].items()}
    if r.rollups:
        return rolled(
            rollup, r, group_by, names, clock=clock, rollup_sums=rollup_sums, raw=raw,
            measures=measures,
        )  # fmt: skip
    qs = (raw or rollup.raw)(r).filter(base.in_period(rollup.time_field, r.filters))
    all_measures = measures or rollup.measures(r)
    grouped = grouped_aggregates(qs, group_by, {n: all_measures[n] for n in names})
    return {key: {n: (values.get(n) or 0) for n in names} for key, values in grouped.items()} or (
        {(): dict.fromkeys(names, 0)} if not group_by else {}
    )


def prime(
    rollup: Rollup,
    r: base.ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    subsets: Iterable[list[str]],
) -> None:
    """Compute a cohort's figures once, grouped by all of `group_by`, and remember them
    grouped by each of `subsets` (summed up) for the `counts` calls that follow."""
    names = list(names)
    remember(r, rollup.model, group_by, names, counts(rollup, r, group_by, names), subsets)


def remember(
    r: base.ReportRequest,
    model: Any,
    group_by: list[str],
    names: list[str],
    grouped: dict[tuple, dict[str, Any]],
    subsets: Iterable[list[str]],
) -> None:
    for subset in subsets:
        positions = [group_by.index(column) for column in subset]
        derived: dict[tuple, dict[str, Any]] = {}
        for key, values in grouped.items():
            row = derived.setdefault(tuple(key[i] for i in positions), dict.fromkeys(names, 0))
            for name in names:
                row[name] += values[name] or 0
        if not subset and () not in derived:
            derived[()] = dict.fromkeys(names, 0)
        r.memo[(model, tuple(subset))] = (set(names), derived)


def _add(into: dict, part: dict, names: list[str]) -> None:
    for key, values in part.items():
        row = into.setdefault(key, dict.fromkeys(names, 0))
        for name in names:
            value = values.get(name)
            if value is not None:
                row[name] = row[name] + value


# --- the rollups ----------------------------------------------------------------------------------


def _lead_measures(r: base.ReportRequest) -> dict[str, Any]:
    m = base.lead_measures(r)
    return {
        "leads": Count("pk"),
        **{
            name: Count("pk", filter=m[name])
            for name in ("mql", "sal", "sql", "converted", "won", "lost_to_competitor")
        },
        "score_sum": Sum("score"),
        "assigned": Count("pk"),
        "first_contacted": Count("pk", filter=m["first_contacted"]),
        "accepted": Count("pk", filter=m["accepted"]),
        "first_contact_seconds": Sum(SecondsBetween(F("first_contacted_at"), F("assigned_at"))),
        "acceptance_seconds": Sum(SecondsBetween(F("accepted_at"), F("assigned_at"))),
    }


def _opportunity_measures(r: base.ReportRequest) -> dict[str, Any]:
    m = base.opportunity_measures(r)
    won = Q(stage__is_won=True)
    return {
        **{name: Count("pk", filter=m[name] or None) for name in m},
        "opportunities": Count("pk"),
        "amount_sum": Sum("amount"),
        "won_amount": Sum("amount", filter=won),
        "cycle_seconds": Sum(SecondsBetween(F("closed_at"), F("created_at")), filter=won),
    }


def reach_measures() -> dict[str, Any]:
    """Over opportunities annotated by `with_furthest_stage`: reached a won stage, and
    reached (or passed) each stage position."""
    return {
        "won_reach": Count("pk", filter=Q(stage__is_won=True) | Q(reached_won=True)),
        **{f"reach_{p}": Count("pk", filter=Q(furthest__gte=p)) for p in range(REACH_POSITIONS)},
    }


def _stage_move_measures(r: base.ReportRequest) -> dict[str, Any]:
    return {"moves": Count("pk"), "seconds": Sum(DurationSeconds("time_in_previous_stage"))}


def _handoff_measures(r: base.ReportRequest) -> dict[str, Any]:
    m = base.handoff_measures()
    return {
        **{name: Count("pk", filter=m[name] or None) for name in m},
        "handoffs": Count("pk"),
        "rating_sum": Sum("ae_rating"),
    }


def _timer_measures(r: base.ReportRequest) -> dict[str, Any]:
    m = base.timer_measures(r)
    return {name: Count("pk", filter=m[name] or None) for name in m} | {"timers": Count("pk")}


def _stage_moves_raw(r: base.ReportRequest) -> QuerySet:
    return base.stage_changes_visible(r).filter(
        from_stage__isnull=False, time_in_previous_stage__isnull=False
    )


LEADS_CREATED = Rollup(
    LeadCreatedDay, "created_at", base.scoped_leads, base.leads_visible, _lead_measures
)
LEADS_ASSIGNED = Rollup(
    LeadAssignedDay, "assigned_at", base.scoped_leads, base.leads_visible, _lead_measures
)
OPPORTUNITIES_CREATED = Rollup(
    OpportunityCreatedDay,
    "created_at",
    base.scoped_opportunities,
    base.opportunities_visible,
    _opportunity_measures,
)
OPPORTUNITIES_CLOSED = Rollup(
    OpportunityClosedDay,
    "closed_at",
    base.scoped_opportunities,
    base.opportunities_visible,
    _opportunity_measures,
)
STAGE_MOVES = Rollup(
    StageMoveDay, "changed_at", base.scoped_opportunities, _stage_moves_raw, _stage_move_measures
)
HANDOFFS = Rollup(
    HandoffDay,
    "created_at",
    lambda qs, r: base.scoped_handoffs(qs, r, LeadScope.objects.all()),
    base.handoffs_visible,
    _handoff_measures,
)
TIMERS = Rollup(TimerDay, "due_at", base.scoped_timers, base.timers_visible, _timer_measures)


# --- building -------------------------------------------------------------------------------------

_SCOPE_FIELDS = ("team_id", "owner_id", "ae_id", "source")
# What each rollup keeps of the lead behind a row: only what its scoping and filters read
# (the fewer, the fewer rollup rows). Opportunities: an SDR sees the deals of their leads.
# Clocks: a manager sees their team's (`lead__team`), filtered by the lead's source.
OPPORTUNITY_SCOPE = ("owner_id",)
TIMER_SCOPE = ("team_id", "source")
HANDOFF_SCOPE = _SCOPE_FIELDS


def _scope_key(combo: tuple) -> str:
    return "|".join("" if part is None else str(part) for part in combo)


def _scoped_rows(
    qs: QuerySet, prefix: str, dims: list[str], measures: dict[str, Any], fields: tuple
) -> list[tuple[dict, int]]:
    """The grouped rows of `qs` by `dims` and the lead's `fields`, each with the id of its
    LeadScope (created when new; fields not kept are empty)."""
    columns = [f"{prefix}{name}" for name in fields]
    grouped = list(qs.values(*dims, *columns).annotate(**measures).order_by())
    combos = {}
    for row in grouped:
        values = dict(zip(fields, (row[c] for c in columns), strict=True))
        combo = tuple(values.get(name) for name in _SCOPE_FIELDS)
        combo = (*combo[:3], combo[3] or "")
        row["_combo"] = combo
        combos[_scope_key(combo)] = combo
    if combos:
        LeadScope.objects.bulk_create(
            [
                LeadScope(key=key, team_id=c[0], owner_id=c[1], ae_id=c[2], source=c[3])
                for key, c in combos.items()
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
    ids = dict(LeadScope.objects.filter(key__in=list(combos)).values_list("key", "pk"))
    return [(row, ids[_scope_key(row["_combo"])]) for row in grouped]


def _day(field: str) -> TruncHour:
    """The UTC hour a row falls in (named `day` in the grouped rows; see `_when`)."""
    return TruncHour(field, tzinfo=UTC)


def _when(bucket: datetime.datetime) -> dict[str, Any]:
    bucket = bucket.astimezone(UTC) if timezone.is_aware(bucket) else bucket
    return {"day": bucket.date(), "hour": bucket.hour, "grain": HOUR_GRAIN}


def _on_days(field: str, days: set[datetime.date] | None) -> Q:
    """Rows whose `field` falls on one of `days` (UTC), as ranges the index can use."""
    if days is None:
        return Q()
    condition = Q(pk__in=[])
    for low, high in _ranges(days):
        condition |= Q(
            **{
                f"{field}__gte": datetime.datetime.combine(low, datetime.time.min, tzinfo=UTC),
                f"{field}__lt": datetime.datetime.combine(high, datetime.time.min, tzinfo=UTC)
                + DAY,
            }
        )
    return condition


def _ranges(days: set[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    ordered = sorted(days)
    ranges: list[list[datetime.date]] = []
    for day in ordered:
        if ranges and day - ranges[-1][1] == DAY:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(a, b) for a, b in ranges]


def _replace(model: type[models.Model], days: set[datetime.date] | None, rows: list) -> int:
    """Replace the hour rows of `days` (None: all) with `rows`, then the day rows of those
    days and the month rows of their months, summed up from them."""
    hours_and_days = model.objects.filter(grain__in=[HOUR_GRAIN, DAY_GRAIN])
    # Derived rows with no relations pointing at them: Django deletes them in one query.
    (hours_and_days if days is None else hours_and_days.filter(day__in=days)).delete()
    # In time order: a period's rows then sit on neighbouring pages.
    rows.sort(key=lambda row: (row.day, row.hour))
    model.objects.bulk_create(rows, batch_size=5000)
    hours = model.objects.filter(grain=HOUR_GRAIN)
    _sum_up(model, hours if days is None else hours.filter(day__in=days), F("day"), DAY_GRAIN)
    months = None if days is None else {day.replace(day=1) for day in days}
    daily = model.objects.filter(grain=DAY_GRAIN)
    month_rows = model.objects.filter(grain=MONTH)
    if months is not None:
        condition = Q(pk__in=[])
        for month in months:
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            condition |= Q(day__gte=month, day__lt=following)
        daily = daily.filter(condition)
        month_rows = month_rows.filter(day__in=months)
    month_rows.delete()
    _sum_up(model, daily, TruncMonth("day"), MONTH)
    return len(rows)


def _sum_up(model: type[models.Model], rows: QuerySet, period: Any, grain: str) -> None:
    """Insert `grain` rows summing `rows` per `period` (a day or a month) and dimensions."""
    dims, measures = [], []
    for f in model._meta.concrete_fields:
        if f.name in ("id", "day", "hour", "grain"):
            continue
        (dims if f.is_relation or isinstance(f, models.CharField) else measures).append(f.attname)
    grouped = (
        rows.annotate(period=period)
        .values("period", *dims)
        .annotate(**{f"m_{m}": Sum(m) for m in measures})
        .order_by("period")
    )
    model.objects.bulk_create(
        [
            model(
                grain=grain,
                day=_date(row["period"]),
                **{d: row[d] for d in dims},
                **{m: row[f"m_{m}"] or 0 for m in measures},
            )
            for row in grouped
        ],
        batch_size=5000,
    )


def _date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _request(now: datetime.datetime) -> base.ReportRequest:
    from reports.feedback import SystemReader

    today = now.date()
    return base.ReportRequest(
        user=SystemReader(), filters=ReportFilters(start=today, end=today), now=now
    )


def build_leads(days: set[datetime.date] | None, r: base.ReportRequest, *, assigned: bool) -> int:
    field = "assigned_at" if assigned else "created_at"
    model = LeadAssignedDay if assigned else LeadCreatedDay
    measures = _lead_measures(r)
    names = (
        ("assigned", "first_contacted", "accepted", "first_contact_seconds", "acceptance_seconds")
        if assigned
        else ("leads", "mql", "sal", "sql", "converted", "won", "lost_to_competitor", "score_sum")
    )
    qs = (
        Lead.objects.filter(_on_days(field, days), **{f"{field}__isnull": False})
        .annotate(day=_day(field))
        .values("day", "source", "team_id", "owner_id", "ae_id")
        .annotate(**{f"m_{n}": measures[n] for n in names})
        .order_by()
    )
    rows = [
        model(
            **_when(row["day"]),
            source=row["source"],
            team_id=row["team_id"],
            owner_id=row["owner_id"],
            ae_id=row["ae_id"],
            **{n: row[f"m_{n}"] or 0 for n in names},
        )
        for row in qs
    ]
    return _replace(model, days, rows)


def build_opportunities(
    days: set[datetime.date] | None, r: base.ReportRequest, *, closed: bool
) -> int:
    from reports.selectors.pipeline import with_furthest_stage

    field = "closed_at" if closed else "created_at"
    model = OpportunityClosedDay if closed else OpportunityCreatedDay
    measures = _opportunity_measures(r)
    qs = Opportunity.objects.filter(_on_days(field, days), **{f"{field}__isnull": False})
    qs = qs.annotate(day=_day(field))
    dims = ["day", "owner_id", "source", "currency"]
    if closed:
        names = ["won", "lost", "won_amount", "cycle_seconds"]
    else:
        names = [
            "opportunities", "lost", "lost_early", "stalled_early", "won", "override",
            "decision_maker", "amount_sum",
        ]  # fmt: skip
        qs = with_furthest_stage(qs)
        measures = measures | reach_measures()
        names += ["won_reach", *(f"reach_{p}" for p in range(REACH_POSITIONS))]
    rows = []
    measures = {f"m_{n}": measures[n] for n in names}
    for row, scope in _scoped_rows(qs, "lead__", dims, measures, OPPORTUNITY_SCOPE):
        rows.append(
            model(
                **_when(row["day"]),
                owner_id=row["owner_id"],
                lead_id=scope,
                source=row["source"],
                currency=row["currency"],
                **{n: row[f"m_{n}"] or 0 for n in names},
            )
        )
    return _replace(model, days, rows)


def build_stage_moves(days: set[datetime.date] | None, r: base.ReportRequest) -> int:
    qs = StageChange.objects.filter(
        _on_days("changed_at", days), from_stage__isnull=False, time_in_previous_stage__isnull=False
    ).annotate(day=_day("changed_at"))
    measures = _stage_move_measures(r)
    dims = ["day", "from_stage_id", "opportunity__owner_id", "opportunity__source"]
    rows = [
        StageMoveDay(
            **_when(row["day"]),
            from_stage_id=row["from_stage_id"],
            owner_id=row["opportunity__owner_id"],
            lead_id=scope,
            source=row["opportunity__source"],
            moves=row["m_moves"],
            seconds=row["m_seconds"] or 0,
        )
        for row, scope in _scoped_rows(
            qs,
            "opportunity__lead__",
            dims,
            {f"m_{n}": measures[n] for n in measures},
            OPPORTUNITY_SCOPE,
        )
    ]
    return _replace(StageMoveDay, days, rows)


def build_handoffs(days: set[datetime.date] | None, r: base.ReportRequest) -> int:
    qs = Handoff.objects.filter(_on_days("created_at", days)).annotate(day=_day("created_at"))
    measures = _handoff_measures(r)
    rows = [
        HandoffDay(
            **_when(row["day"]),
            from_user_id=row["from_user_id"],
            to_user_id=row["to_user_id"],
            lead_id=scope,
            **{n: row[f"m_{n}"] or 0 for n in measures},
        )
        for row, scope in _scoped_rows(
            qs,
            "lead__",
            ["day", "from_user_id", "to_user_id"],
            {f"m_{n}": measures[n] for n in measures},
            HANDOFF_SCOPE,
        )
    ]
    return _replace(HandoffDay, days, rows)


def build_timers(days: set[datetime.date] | None, r: base.ReportRequest) -> int:
    qs = SlaTimer.objects.filter(_on_days("due_at", days)).annotate(day=_day("due_at"))
    measures = _timer_measures(r)
    names = ["timers", "met", "breached", "cancelled"]
    rows = [
        TimerDay(
            **_when(row["day"]),
            policy_id=row["policy_id"],
            responsible_id=row["responsible_id"],
            lead_id=scope,
            running=row["m_running"],
            **{n: row[f"m_{n}"] for n in names},
        )
        for row, scope in _scoped_rows(
            qs,
            "lead__",
            ["day", "policy_id", "responsible_id"],
            {
                **{f"m_{n}": measures[n] for n in names},
                "m_running": Count("pk", filter=Q(stopped_at__isnull=True)),
            },
            TIMER_SCOPE,
        )
    ]
    return _replace(TimerDay, days, rows)


def build_open_pipeline(r: base.ReportRequest) -> int:
    """The open deals as of `r.now`, by stage and by close month: rebuilt whole on every
    refresh (they are few, and their ages move with the clock)."""
    from reports.selectors.pipeline import AGE_BUCKETS, _weighted

    measures = base.opportunity_measures(r)
    buckets = []
    for key, _label, low, high in AGE_BUCKETS:
        condition = Q(stage_entered_at__lte=r.now - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_at__gt=r.now - datetime.timedelta(days=high))
        buckets.append(When(condition, then=Value(key)))
    open_deals = Opportunity.objects.filter(stage__is_won=False, stage__is_lost=False)
    money = {"m_count": Count("pk"), "m_amount": Sum("amount"), "m_weighted": Sum(_weighted())}
    by_stage = _scoped_rows(
        open_deals.annotate(age_bucket=Case(*buckets, default=Value(AGE_BUCKETS[0][0]))),
        "lead__",
        ["stage_id", "owner_id", "source", "currency", "age_bucket"],
        {
            **money,
            "m_age": Sum(SecondsBetween(Value(r.now), F("stage_entered_at"))),
            "m_probability": Sum("probability"),
            "m_stale": Count("pk", filter=measures["stale"]),
            "m_stalled": Count("pk", filter=measures["stalled_early"]),
        },
        OPPORTUNITY_SCOPE,
    )
    by_month = _scoped_rows(
        open_deals.annotate(month=TruncMonth("expected_close_date")),
        "lead__",
        ["month", "owner_id", "source", "currency"],
        money,
        OPPORTUNITY_SCOPE,
    )

    def common(row: dict, scope: int) -> dict:
        return {
            "owner_id": row["owner_id"],
            "lead_id": scope,
            "source": row["source"],
            "currency": row["currency"],
            "count": row["m_count"],
            "amount_sum": row["m_amount"] or Decimal(0),
            "weighted_sum": row["m_weighted"] or Decimal(0),
        }

    stage_rows = [
        OpenPipeline(
            stage_id=row["stage_id"],
            age_bucket=row["age_bucket"],
            age_seconds=row["m_age"] or 0,
            probability_sum=row["m_probability"] or 0,
            stale=row["m_stale"],
            stalled_early=row["m_stalled"],
            **common(row, scope),
        )
        for row, scope in by_stage
    ]
    month_rows = [
        OpenForecast(
            month=row["month"].date()
            if isinstance(row["month"], datetime.datetime)
            else row["month"],
            **common(row, scope),
        )
        for row, scope in by_month
    ]
    OpenPipeline.objects.all().delete()
    OpenForecast.objects.all().delete()
    OpenPipeline.objects.bulk_create(stage_rows, batch_size=5000)
    OpenForecast.objects.bulk_create(month_rows, batch_size=5000)
    return len(stage_rows) + len(month_rows)


# --- refreshing -----------------------------------------------------------------------------------


@dataclass
class RefreshReport:
    full: bool
    seconds: float
    rows: dict[str, int]
    days: dict[str, int]


def _dates(values: Iterable[datetime.datetime | None]) -> set[datetime.date]:
    return {v.astimezone(UTC).date() for v in values if v is not None}


def _changed(since: datetime.datetime, st: RollupState) -> tuple[set[int], set[int]] | None:
    """Ids of the leads and opportunities whose rollup days need rebuilding; None when a
    rebuild is cheaper (or rows were deleted)."""
    if Lead.objects.count() < st.lead_count or Opportunity.objects.count() < st.opportunity_count:
        return None
    leads = set(
        Lead.objects.filter(Q(updated_at__gte=since) | Q(pk__gt=st.lead_max_id)).values_list(
            "pk", flat=True
        )[: INCREMENTAL_LIMIT + 1]
    )
    # Lifecycle moves save the lead; the discovery rating (hand-off) only writes an event.
    leads |= set(LeadEvent.objects.filter(created_at__gte=since).values_list("lead_id", flat=True))
    # Clocks start and stop with lead changes; new ones are new rows.
    leads |= set(SlaTimer.objects.filter(pk__gt=st.timer_max_id).values_list("lead_id", flat=True))
    leads |= set(Handoff.objects.filter(pk__gt=st.handoff_max_id).values_list("lead_id", flat=True))
    opportunities = set(
        Opportunity.objects.filter(
            Q(updated_at__gte=since) | Q(pk__gt=st.opportunity_max_id)
        ).values_list("pk", flat=True)[: INCREMENTAL_LIMIT + 1]
    )
    opportunities |= set(
        StageChange.objects.filter(
            Q(changed_at__gte=since) | Q(pk__gt=st.stage_change_max_id)
        ).values_list("opportunity_id", flat=True)
    )
    # A deal's outcome is its lead's "won"; a lead's owner is its deals' scope.
    leads |= set(
        Opportunity.objects.filter(pk__in=opportunities, lead__isnull=False).values_list(
            "lead_id", flat=True
        )
    )
    opportunities |= set(Opportunity.objects.filter(lead__in=leads).values_list("pk", flat=True))
    if len(leads) > INCREMENTAL_LIMIT or len(opportunities) > INCREMENTAL_LIMIT:
        return None
    return leads, opportunities


def refresh(*, now: datetime.datetime | None = None, full: bool = False) -> RefreshReport:
    """Bring every rollup up to date with the source tables (see the module docstring)."""
    started = time.monotonic()
    now = now or timezone.now()
    r = _request(now)
    rows: dict[str, int] = {}
    days: dict[str, int] = {}
    with transaction.atomic():
        st = RollupState.objects.select_for_update().get_or_create(pk=1)[0]
        changed = None
        if not full and st.refreshed_at is not None:
            changed = _changed(st.refreshed_at - OVERLAP, st)
        full = changed is None
        if full:
            plan: dict[str, set[datetime.date] | None] = dict.fromkeys(
                ("created", "assigned", "opp_created", "opp_closed", "moves", "handoffs", "timers")
            )
        else:
            plan = _plan(*changed)
            plan["opp_created"] |= _stall_crossings(st.refreshed_at, r)
        rows["leads_created"] = build_leads(plan["created"], r, assigned=False)
        rows["leads_assigned"] = build_leads(plan["assigned"], r, assigned=True)
        rows["opportunities_created"] = build_opportunities(plan["opp_created"], r, closed=False)
        rows["opportunities_closed"] = build_opportunities(plan["opp_closed"], r, closed=True)
        rows["stage_moves"] = build_stage_moves(plan["moves"], r)
        rows["handoffs"] = build_handoffs(plan["handoffs"], r)
        rows["timers"] = build_timers(plan["timers"], r)
        rows["open_pipeline"] = build_open_pipeline(r)
        days = {k: (-1 if v is None else len(v)) for k, v in plan.items()}
        counts = {
            "lead_count": Lead.objects.count(),
            "lead_max_id": Lead.objects.aggregate(m=Max("pk"))["m"] or 0,
            "opportunity_count": Opportunity.objects.count(),
            "opportunity_max_id": Opportunity.objects.aggregate(m=Max("pk"))["m"] or 0,
            "timer_max_id": SlaTimer.objects.aggregate(m=Max("pk"))["m"] or 0,
            "handoff_max_id": Handoff.objects.aggregate(m=Max("pk"))["m"] or 0,
            "stage_change_max_id": StageChange.objects.aggregate(m=Max("pk"))["m"] or 0,
        }
        for name, value in counts.items():
            setattr(st, name, value)
        st.refreshed_at = now
        if full:
            st.rebuilt_at = now
        st.last_seconds = time.monotonic() - started
        st.save()
    if full:
        _analyze()
    return RefreshReport(full=full, seconds=time.monotonic() - started, rows=rows, days=days)


def _stall_crossings(last: datetime.datetime, r: base.ReportRequest) -> set[datetime.date]:
    """Creation days of the deals that became "stalled early" since the last refresh:
    open in an early stage, entered it between the two refreshes' stall cutoffs."""
    stall = datetime.timedelta(days=r.policy.stall_age_days)
    crossed = Opportunity.objects.filter(
        stage__counts_as_early=True,
        stage__is_won=False,
        stage__is_lost=False,
        stage_entered_at__gte=last - OVERLAP - stall,
        stage_entered_at__lt=r.now - stall,
    )
    return _dates(crossed.values_list("created_at", flat=True))


ROLLUP_MODELS = (
    LeadCreatedDay, LeadAssignedDay, OpportunityCreatedDay, OpportunityClosedDay,
    StageMoveDay, HandoffDay, TimerDay, OpenPipeline, OpenForecast, LeadScope,
)  # fmt: skip


def _analyze() -> None:
    """Fresh planner statistics after a rebuild (PostgreSQL), or the first dashboard
    queries are planned for the empty tables they were before."""
    if connection.vendor != "postgresql":
        return
    names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in ROLLUP_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")


def _plan(leads: set[int], opportunities: set[int]) -> dict[str, set[datetime.date] | None]:
    """The UTC days each rollup must rebuild for these changed rows: the days they fall on
    now, and for timestamps that can move, the days they fell on before."""
    lead_rows = Lead.objects.filter(pk__in=leads)
    assigned_before = LeadEvent.objects.filter(
        lead__in=leads, kind=LeadEvent.Kind.ASSIGNED
    ).values_list("created_at", flat=True)
    opp_rows = Opportunity.objects.filter(pk__in=opportunities)
    closed_before = StageChange.objects.filter(
        Q(to_stage__is_won=True) | Q(to_stage__is_lost=True), opportunity__in=opportunities
    ).values_list("changed_at", flat=True)
    return {
        "created": _dates(lead_rows.values_list("created_at", flat=True)),
        "assigned": _dates(lead_rows.values_list("assigned_at", flat=True))
        | _dates(assigned_before),
        "opp_created": _dates(opp_rows.values_list("created_at", flat=True)),
        "opp_closed": _dates(opp_rows.values_list("closed_at", flat=True)) | _dates(closed_before),
        "moves": _dates(
            StageChange.objects.filter(opportunity__in=opportunities).values_list(
                "changed_at", flat=True
            )
        ),
        "handoffs": _dates(
            Handoff.objects.filter(lead__in=leads).values_list("created_at", flat=True)
        ),
        "timers": _dates(SlaTimer.objects.filter(lead__in=leads).values_list("due_at", flat=True)),
    }
