"""Exact medians without sorting a whole cohort: one row per source row and figure.

Medians are not additive, so the day rollups cannot hold them. Instead each duration a
median is taken over (a funnel step's time, a response time, a stay in a stage) is kept
as a narrow row (`reports.models.LeadDuration`, `StageStay`): the figure (`measure`),
the instant that puts it in its cohort (`at`), its value, the fields scoping reads, and a
`bucket`, a monotone quantization of the value (16 per doubling). The median of a period
is then read in two steps over one index range each:

1. count the rows per group and bucket (GROUP BY over the period, nothing sorted);
2. walk the cumulative counts to the bucket holding the middle rank(s) and sort only the
   rows of that bucket (a few percent of the cohort, one index range).

The rank picked is `percentile_cont(0.5)`'s (the middle row, or the two middle rows
interpolated), so the value equals the source query's (tests/reports/test_durations.py).
The rows are rebuilt with the other rollups (`reports.rollups.refresh`) for the UTC
days that changed, and read only while the rollups are fresh (`r.rollups`).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Floor, Ln

from opportunities.models import StageChange
from reports.aggregates import DurationSeconds, Grouped, GroupKey, SecondsBetween
from reports.cohorts import (
    ReportRequest,
    in_period,
    lead_rows,
    scoped_leads,
    scoped_opportunities,
)
from reports.models import LeadDuration, LeadScope, StageStay
from reports.rollups.storage import _scope_key, falls_on_days, unowned_status

# Buckets per doubling of the value: a bucket spans about 4 % of its values, so the
# middle one holds a few percent of a cohort.
STEPS_PER_DOUBLING = 16
_SCALE = STEPS_PER_DOUBLING / math.log(2)


def bucket_of_value() -> Case:
    """The bucket of the annotated duration `_v`: floor(16 log2(1 + v)) for v >= 0 and
    the mirror image below -1 for negative values (clocks set out of order), so buckets
    sort like the values."""
    return Case(
        When(
            Q(_v__gte=0),
            then=Floor(Ln(F("_v") + Value(1.0)) * Value(_SCALE)),
        ),
        default=Value(-1) - Floor(Ln(Value(1.0) - F("_v")) * Value(_SCALE)),
        output_field=models.IntegerField(),
    )


@dataclass(frozen=True)
class Figure:
    """One median figure: its code in `measure`, the cohort's time field, and the value
    as an expression over the source rows."""

    code: int
    time_field: str
    value: Any


@dataclass(frozen=True)
class DurationSet:
    """A table of duration rows: how it is scoped, built and grouped."""

    model: type[models.Model]
    figures: dict[str, Figure]
    # Source lookups copied into the row, by the row's column name.
    copied: dict[str, str]

    @property
    def by_scope(self) -> bool:
        """Rows of leads point at their `LeadScope`; stays carry the deal's fields."""
        return self.model is LeadDuration

    def scoped(self, r: ReportRequest) -> QuerySet[Any]:
        """The rows `r.user` may see, with the report filters: for leads, those of the
        visible scopes (the leads' own `visible_to` and filters, run on the scope rows)."""
        rows = self.model._default_manager.all()
        if self.by_scope:
            # The ids as a list, not a subquery: the planner then knows how many rows
            # pass (it cannot estimate the OR of joins inside `visible_to`).
            visible = scoped_leads(LeadScope.objects.all(), r).values_list("pk", flat=True)
            return rows.filter(scope_id__in=list(visible))
        return scoped_opportunities(rows, r)


def _seconds(end: str, start: str) -> SecondsBetween:
    return SecondsBetween(F(end), F(start))


LEAD_DURATIONS = DurationSet(
    LeadDuration,
    {
        # The funnel (leads created in the period), `reports.selectors.funnel.step_medians`.
        "mql_to_sal": Figure(1, "created_at", _seconds("accepted_at", "mql_at")),
        "sal_to_sql": Figure(2, "created_at", _seconds("qualified_at", "accepted_at")),
        "sql_to_opportunity": Figure(3, "created_at", _seconds("converted_at", "qualified_at")),
        "opportunity_to_won": Figure(
            4,
            "created_at",
            Case(
                When(
                    opportunity__stage__is_won=True,
                    then=_seconds("opportunity__closed_at", "converted_at"),
                )
            ),
        ),
        # Response times (leads assigned in the period), `reports.selectors.sla`.
        "first_contact_median": Figure(
            5, "assigned_at", _seconds("first_contacted_at", "assigned_at")
        ),
        "acceptance_median": Figure(6, "assigned_at", _seconds("accepted_at", "assigned_at")),
    },
    {"campaign": "campaign"},
)
STAGE_STAYS = DurationSet(
    StageStay,
    {"median": Figure(1, "changed_at", DurationSeconds("time_in_previous_stage"))},
    {
        "from_stage_id": "from_stage_id",
        "owner_id": "opportunity__owner_id",
        "lead_id": "opportunity__lead_id",
        "source": "opportunity__source",
    },
)
# The lead fields a scope row keeps, and how its key is spelled (`storage._scope_key`).
LEAD_SCOPE_KEY = ("team_id", "owner_id", "ae_id", "source", "status")


# --- building ------------------------------------------------------------------------------


def build_durations(
    durations: DurationSet, days_by_field: dict[str, set[datetime.date] | None]
) -> int:
    """Replace the rows whose cohort instant falls on the given UTC days (per time field;
    None: all days) with rows computed from the source; rows written. One INSERT ...
    SELECT per figure: nothing passes through Python."""
    written = 0
    for figure in durations.figures.values():
        days = days_by_field.get(figure.time_field, set())
        if days is not None and not days:
            continue
        stale = durations.model._default_manager.filter(measure=figure.code)
        (stale if days is None else stale.filter(falls_on_days("at", days))).delete()
        rows = _source_rows(durations, figure, days)
        if durations.by_scope:
            _create_scopes(rows)
        written += _insert_from(durations, figure, rows)
    return written


def _source_rows(
    durations: DurationSet, figure: Figure, days: set[datetime.date] | None
) -> QuerySet[Any]:
    field = figure.time_field
    if durations.by_scope:
        base: QuerySet[Any] = lead_rows()
    else:
        base = StageChange.objects.filter(
            from_stage__isnull=False, time_in_previous_stage__isnull=False
        )
    return (
        base.filter(falls_on_days(field, days), **{f"{field}__isnull": False})
        .annotate(_v=figure.value)
        .filter(_v__isnull=False)
    )


def _scope_key_sql() -> Concat:
    """A lead's `LeadScope.key` in SQL: its scope fields joined with "|" ("" for none)."""
    parts: list[Any] = []
    for name in LEAD_SCOPE_KEY:
        value = unowned_status() if name == "status" else F(name)
        parts += [Coalesce(Cast(value, models.CharField()), Value("")), Value("|")]
    return Concat(*parts[:-1], output_field=models.CharField())


def _create_scopes(leads: QuerySet[Any]) -> None:
    """The `LeadScope` rows of these leads' combinations, created when new."""
    combos = (
        leads.annotate(scope_status=unowned_status())
        .values_list(*LEAD_SCOPE_KEY[:-1], "scope_status")
        .distinct()
        .order_by()
    )
    new = {}
    for team, owner, ae, source, status in combos:
        combo = (team, owner, ae, source or "", status or "")
        new[_scope_key(combo)] = LeadScope(
            key=_scope_key(combo), team_id=team, owner_id=owner, ae_id=ae, source=combo[3],
            status=combo[4],
        )  # fmt: skip
    LeadScope.objects.bulk_create(list(new.values()), ignore_conflicts=True, batch_size=2000)


def _insert_from(durations: DurationSet, figure: Figure, rows: QuerySet[Any]) -> int:
    """INSERT INTO the duration table SELECT the figure's rows; lead rows join their
    scope row by its key (a hash join with a few hundred rows)."""
    model = durations.model
    columns: dict[str, Any] = {
        "c_measure": Value(figure.code),
        "c_at": F(figure.time_field),
        "c_bucket": bucket_of_value(),
        "c_value": F("_v"),
    }
    targets = ["measure", "at", "bucket", "value"]
    for column, lookup in durations.copied.items():
        columns[f"c_{column}"] = F(lookup)
        targets.append(column)
    if durations.by_scope:
        columns["c_key"] = _scope_key_sql()
    select, params = rows.annotate(**columns).values(*columns).order_by().query.sql_with_params()
    quote = connection.ops.quote_name
    picked = ", ".join(f"s.{quote(c)}" for c in columns if c != "c_key")
    source = f"({select}) s"
    if durations.by_scope:
        targets.append("scope_id")
        picked += ", k.id"
        source += f" INNER JOIN {quote(LeadScope._meta.db_table)} k ON k.{quote('key')} = s.c_key"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(t) for t in targets)}) "
        f"SELECT {picked} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# --- reading -------------------------------------------------------------------------------


def exact_medians(
    durations: DurationSet, r: ReportRequest, group_by: Sequence[str], names: Iterable[str]
) -> tuple[Grouped, dict[str, float | None]]:
    """The exact medians of the named figures over the period, per group of `group_by`
    and overall: ``({group key: {name: median}}, {name: median})`` (None: no rows)."""
    names = list(names)
    codes = {durations.figures[name].code: name for name in names}
    grouping = _Grouping(durations, list(group_by))
    rows = durations.scoped(r).filter(in_period("at", r.filters), measure__in=list(codes))
    # 1. Rows per (group, figure, bucket): the histogram the ranks are found in.
    histogram: dict[tuple[GroupKey | None, int], dict[int, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    # COUNT(*), not of the id: the id is not in the index, so the scan stays index-only.
    counted = rows.values(*grouping.columns, "measure", "bucket").annotate(n=Count("*"))
    for row in counted.order_by():
        key = grouping.key(row)
        histogram[(key, row["measure"])][row["bucket"]] += row["n"]
        if group_by:
            histogram[(None, row["measure"])][row["bucket"]] += row["n"]
    # 2. The bucket and the rank inside it of each middle row (percentile_cont's).
    wanted: dict[tuple[GroupKey | None, int], list[tuple[int, int]]] = {}
    for target, counts in histogram.items():
        total = sum(counts.values())
        wanted[target] = [_locate(counts, rank) for rank in ((total - 1) // 2, total // 2)]
    # 3. Sort only the rows of those buckets.
    values = _bucket_values(rows, grouping, wanted)
    grouped: Grouped = {}
    overall: dict[str, float | None] = dict.fromkeys(names)
    for (group, code), picks in wanted.items():
        first, second = (values[(group, code, bucket)][offset] for bucket, offset in picks)
        # percentile_cont(0.5): first + (second - first) * 0.5 between two middle rows.
        median = first if picks[0] == picks[1] else first + (second - first) * 0.5
        if group is None or not group_by:
            overall[codes[code]] = median
        if group is not None:
            grouped.setdefault(group, dict.fromkeys(names))[codes[code]] = median
    return grouped, overall


class _Grouping:
    """The columns a median query groups by, and the report's group key of a row.

    Lead rows group by their scope (and campaign): `source`, `team_id` and `owner_id`
    are read from the scope rows seen, so the query touches no other table."""

    def __init__(self, durations: DurationSet, group_by: list[str]) -> None:
        self.group_by = group_by
        self.via_scope = durations.by_scope and any(c != "campaign" for c in group_by)
        self.columns = [c for c in group_by if not self.via_scope or c == "campaign"]
        if self.via_scope:
            self.columns.insert(0, "scope_id")
        self._scopes: dict[int, dict[str, Any]] = {}

    def key(self, row: dict[str, Any]) -> GroupKey:
        if not self.via_scope:
            return tuple(row[c] for c in self.group_by)
        scope = self._scopes.get(row["scope_id"])
        if scope is None:
            self._load(row["scope_id"])
            scope = self._scopes[row["scope_id"]]
        return tuple(row[c] if c == "campaign" else scope[c] for c in self.group_by)

    def _load(self, first: int) -> None:
        """Every scope row at once (a few hundred), on the first one asked for."""
        fields = ("pk", "team_id", "owner_id", "source")
        for scope in LeadScope.objects.values(*fields):
            self._scopes[scope["pk"]] = scope
        self._scopes.setdefault(first, dict.fromkeys(fields))


def _locate(counts: dict[int, int], rank: int) -> tuple[int, int]:
    """The bucket holding the `rank`-th row (from 0) and its rank inside the bucket."""
    seen = 0
    for bucket in sorted(counts):
        if rank < seen + counts[bucket]:
            return bucket, rank - seen
        seen += counts[bucket]
    raise ValueError("rank beyond the rows counted")


def _bucket_values(
    rows: QuerySet[Any],
    grouping: _Grouping,
    wanted: dict[tuple[GroupKey | None, int], list[tuple[int, int]]],
) -> dict[tuple[GroupKey | None, int, int], list[float]]:
    """The sorted values of each (group or None for all, figure, bucket) the picks need:
    one query for the buckets picked per figure, ``measure = m AND bucket IN (...)``, an
    index-only range of the pick index per figure; each row is then kept for the groups
    that need its bucket (a bucket picked for one group also holds other groups' rows)."""
    found: dict[tuple[GroupKey | None, int, int], list[float]] = defaultdict(list)
    if not wanted:
        return found
    buckets: dict[int, set[int]] = defaultdict(set)
    for (_key, code), picks in wanted.items():
        buckets[code].update(bucket for bucket, _offset in picks)
    condition = Q(pk__in=[])
    for code, picked in buckets.items():
        condition |= Q(measure=code, bucket__in=sorted(picked))
    needed = {(key, code, b) for (key, code), picks in wanted.items() for b, _ in picks}
    fetched = rows.filter(condition).values(*grouping.columns, "measure", "bucket", "value")
    for row in fetched.order_by("value"):
        code, bucket, value = row["measure"], row["bucket"], row["value"]
        if (None, code, bucket) in needed:
            found[(None, code, bucket)].append(value)
        if grouping.group_by:
            key = grouping.key(row)
            if (key, code, bucket) in needed:
                found[(key, code, bucket)].append(value)
        elif ((), code, bucket) in needed:
            found[((), code, bucket)].append(value)
    return found
