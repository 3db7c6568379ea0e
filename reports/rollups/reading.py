"""Reading a cohort's figures: from the rollups while they are fresh, else the source rows.

A figure over a period is the sum over the rollup rows the period covers whole plus the
same aggregate over the source rows of what is left (`reports.rollups.periods`), which is
exact for any period and zone. Both paths use the same measures, so they agree
(tests/reports/test_rollups.py).
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When

from reports.aggregates import Grouped, grouped_aggregates
from reports.cohorts import ReportRequest, in_period
from reports.models import RollupState
from reports.rollups.periods import HOUR, PeriodCover, cover_period, either, floor_to

# A clock split: ``{figure: (rollup column, "before" | "after")}`` (see `rollup_figures`).
ClockSplit = dict[str, tuple[str, str]]


def rollup_max_age() -> datetime.timedelta:
    """How stale the rollups may be before pages read the source rows instead."""
    return datetime.timedelta(seconds=getattr(settings, "THRESHOLD_ROLLUP_MAX_AGE", 600))


def rollup_state() -> RollupState:
    """The one row that says how far the rollups are up to date (created when missing)."""
    obj, _created = RollupState.objects.get_or_create(pk=1)
    return obj


def fresh_rollup_state(now: datetime.datetime) -> RollupState | None:
    """The state when the rollups are fresh enough for pages, else None (read the source)."""
    current = RollupState.objects.filter(pk=1).first()
    # Without the duration rows (`reports.rollups.durations`, built by the next refresh
    # after they were added) the medians could not be read: read the source until then.
    if current is None or current.refreshed_at is None or current.durations_built_at is None:
        return None
    if now - current.refreshed_at > rollup_max_age():
        return None
    return current


@dataclass(frozen=True)
class Rollup:
    """How one rollup table answers for one source cohort."""

    model: type[models.Model]
    time_field: str
    scope: Callable[[QuerySet[Any], ReportRequest], QuerySet[Any]]  # scope + filters
    source_rows: Callable[[ReportRequest], QuerySet[Any]]  # scoped, no period
    measures: Callable[[ReportRequest], dict[str, Any]]  # source aggregates by name

    def rows(self) -> QuerySet[Any]:
        return self.model._default_manager.all()


def rollup_figures(
    rollup: Rollup,
    r: ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    *,
    clock: ClockSplit | None = None,
    rollup_sums: dict[str, Any] | None = None,
    source_rows: Callable[[ReportRequest], QuerySet[Any]] | None = None,
    measures: dict[str, Any] | None = None,
) -> Grouped:
    """``{group key: {name: value}}``: rollup rows for the whole months, days and hours
    of the period, source rows for the rest, added up. `rollup_sums` maps a name to the
    rollup column (or aggregate) summed for it when that differs (None: nothing).

    `clock`, for figures that change with time (an SLA clock still running is "overdue"
    once past due): ``{name: (column, "before" | "after")}`` sums `column` over the rows
    before / after the current hour; that hour itself is read from the source rows."""
    names = list(names)
    rollup_sums = rollup_sums or {}
    f = r.filters
    result: Grouped = {}
    split: dict[str, Any] = {}
    if clock is None:
        whole = cover_period(f.start_at, f.end_at)
        rows, source_ranges = whole.rollup_rows, whole.source_ranges
    else:
        hour = floor_to(r.now, HOUR)
        before = cover_period(f.start_at, min(f.end_at, hour))
        after = cover_period(max(f.start_at, hour + HOUR), f.end_at)
        rows = either(before.rollup_rows, after.rollup_rows)
        current = (max(f.start_at, hour), min(f.end_at, hour + HOUR))
        source_ranges = [*before.source_ranges, *after.source_ranges]
        if current[0] < current[1]:
            source_ranges.append(current)
        split = {"before": before.rollup_rows, "after": after.rollup_rows}
    if rows is not None:
        qs = rollup.scope(rollup.rows(), r).filter(rows)
        sums = {}
        for name in names:
            if clock and name in clock:
                column, side = clock[name]
                if split[side] is not None:
                    sums[name] = Sum(column, filter=split[side])
                continue
            column = rollup_sums.get(name, name)
            if column is not None:
                sums[name] = Sum(column) if isinstance(column, str) else column
        _add_into(result, grouped_aggregates(qs, group_by, sums), names)
    source_q = PeriodCover(None, source_ranges).source_rows_q(rollup.time_field)
    if source_q is not None:
        all_measures = measures or rollup.measures(r)
        qs = (source_rows or rollup.source_rows)(r).filter(source_q)
        _add_into(
            result, grouped_aggregates(qs, group_by, {n: all_measures[n] for n in names}), names
        )
    if not group_by and () not in result:
        result[()] = dict.fromkeys(names, 0)
    return result


def cohort_figures(
    rollup: Rollup,
    r: ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    *,
    clock: ClockSplit | None = None,
    rollup_sums: dict[str, Any] | None = None,
    source_rows: Callable[[ReportRequest], QuerySet[Any]] | None = None,
    measures: dict[str, Any] | None = None,
) -> Grouped:
    """The named figures of a cohort in the report period, per group: figures the request
    computed already (`precompute_figures`), else from the rollup when the request may use
    it (`r.rollups`), else from the source rows. Both paths use the same source measures,
    so they agree.

    `source_rows` / `measures` replace the cohort's source queryset and measures (for
    figures the rollup keeps in other columns, mapped by `rollup_sums`)."""
    names = list(names)
    plain = clock is None and not rollup_sums and source_rows is None and measures is None
    cached = r.memo.get((rollup.model, tuple(group_by))) if plain else None
    if cached is not None and set(names) <= cached[0]:
        return {key: {n: values[n] for n in names} for key, values in cached[1].items()}
    if r.rollups:
        return rollup_figures(
            rollup, r, group_by, names, clock=clock, rollup_sums=rollup_sums,
            source_rows=source_rows, measures=measures,
        )  # fmt: skip
    qs = (source_rows or rollup.source_rows)(r).filter(in_period(rollup.time_field, r.filters))
    all_measures = measures or rollup.measures(r)
    grouped = grouped_aggregates(qs, group_by, {n: all_measures[n] for n in names})
    return {key: {n: (values.get(n) or 0) for n in names} for key, values in grouped.items()} or (
        {(): dict.fromkeys(names, 0)} if not group_by else {}
    )


def figures_by_period(
    rollup: Rollup,
    r: ReportRequest,
    periods: Sequence[tuple[datetime.datetime, datetime.datetime]],
    group_by: list[str],
    names: Iterable[str],
) -> Grouped:
    """A cohort's figures in each of several periods at once (the months of a year, say),
    ignoring the request's own period: ``{(period index, *group key): {name: value}}``.

    Two queries whatever the number of periods: the rollup rows each period covers whole
    (when the request may read them) and the source rows of what is left, each row tagged
    with the index of the period it falls in."""
    names = list(names)
    result: Grouped = {}
    if r.rollups:
        covers = [cover_period(start, end) for start, end in periods]
        tagged_rows = [(i, c.rollup_rows) for i, c in enumerate(covers) if c.rollup_rows]
        ranges = [(i, edge) for i, c in enumerate(covers) for edge in c.source_ranges]
        if tagged_rows:
            qs = _tagged(rollup.scope(rollup.rows(), r), tagged_rows)
            sums = {name: Sum(name) for name in names}
            _add_into(result, grouped_aggregates(qs, ["_period", *group_by], sums), names)
    else:
        ranges = list(enumerate(periods))
    if ranges:
        field = rollup.time_field
        conditions = [
            (i, Q(**{f"{field}__gte": low, f"{field}__lt": high})) for i, (low, high) in ranges
        ]
        measures = rollup.measures(r)
        qs = _tagged(rollup.source_rows(r), conditions)
        aggregates = {name: measures[name] for name in names}
        _add_into(result, grouped_aggregates(qs, ["_period", *group_by], aggregates), names)
    return result


def _tagged(qs: QuerySet[Any], conditions: Sequence[tuple[int, Q]]) -> QuerySet[Any]:
    """The rows of `qs` meeting one of `conditions` (disjoint), as ``_period``: its index."""
    every = functools.reduce(operator.or_, (condition for _i, condition in conditions))
    tag = Case(
        *(When(condition, then=Value(i)) for i, condition in conditions),
        output_field=IntegerField(),
    )
    return qs.filter(every).annotate(_period=tag)


def precompute_figures(
    rollup: Rollup,
    r: ReportRequest,
    group_by: list[str],
    names: Iterable[str],
    subsets: Iterable[list[str]],
) -> None:
    """Compute a cohort's figures once, grouped by all of `group_by`, and keep them on the
    request summed up to each grouping in `subsets`, for the `cohort_figures` calls that
    follow (a page showing a cohort by source and by owner reads it once)."""
    names = list(names)
    grouped = cohort_figures(rollup, r, group_by, names)
    memoize_subtotals(r, rollup.model, group_by, names, grouped, subsets)


def memoize_subtotals(
    r: ReportRequest,
    cohort_key: Any,
    group_by: list[str],
    names: list[str],
    grouped: Grouped,
    subsets: Iterable[list[str]],
) -> None:
    """Keep `grouped` (figures grouped by `group_by`) on the request, summed up to each
    grouping in `subsets` (each a sub-list of `group_by`), under `cohort_key`."""
    for subset in subsets:
        positions = [group_by.index(column) for column in subset]
        derived: Grouped = {}
        for key, values in grouped.items():
            row = derived.setdefault(tuple(key[i] for i in positions), dict.fromkeys(names, 0))
            for name in names:
                row[name] += values[name] or 0
        if not subset and () not in derived:
            derived[()] = dict.fromkeys(names, 0)
        r.memo[(cohort_key, tuple(subset))] = (set(names), derived)


def _add_into(into: Grouped, part: Grouped, names: list[str]) -> None:
    """Add the figures of `part` to those of `into`, group by group (None adds nothing)."""
    for key, values in part.items():
        row = into.setdefault(key, dict.fromkeys(names, 0))
        for name in names:
            value = values.get(name)
            if value is not None:
                row[name] = row[name] + value
