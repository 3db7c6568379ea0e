"""Writing rollup rows: hour rows grouped from the source rows, then the day and month rows
summed up from them, and the `LeadScope` rows the rollups of deals, hand-offs and clocks
point at (what scoping and filters need of the lead behind a row)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models import Case, CharField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractHour,
    TruncDate,
    TruncHour,
    TruncMonth,
)
from django.utils import timezone

from reports.models import DAY as DAY_GRAIN
from reports.models import HOUR as HOUR_GRAIN
from reports.models import MONTH, LeadScope
from reports.rollups.periods import DAY, UTC

SCOPE_FIELDS = ("team_id", "owner_id", "ae_id", "source", "status")
# What each rollup keeps of the lead behind a row: only what its scoping and filters read
# (the fewer, the fewer rollup rows). Opportunities: an SDR sees the deals of their leads.
# Clocks: a manager sees their team's (`lead__team`) and the running ones of leads
# without an owner (`lead__owner`), filtered by the lead's source.
OPPORTUNITY_SCOPE = ("owner_id",)
TIMER_SCOPE = ("team_id", "source", "owner_id")
HANDOFF_SCOPE = SCOPE_FIELDS


def _scope_key(combo: tuple[Any, ...]) -> str:
    return "|".join("" if part is None else str(part) for part in combo)


def grouped_with_scope(
    qs: QuerySet[Any],
    prefix: str,
    dims: list[str],
    measures: dict[str, Any],
    fields: tuple[str, ...],
) -> list[tuple[dict[str, Any], int]]:
    """The grouped rows of `qs` by `dims` and the lead's `fields` (reached through
    `prefix`), each with the id of its LeadScope (created when new; fields not kept are
    empty)."""
    columns = [f"{prefix}{name}" for name in fields]
    if "status" in fields:
        qs = qs.annotate(scope_status=unowned_status(prefix))
        columns[fields.index("status")] = "scope_status"
    grouped = list(qs.values(*dims, *columns).annotate(**measures).order_by())
    combos: dict[str, tuple[Any, ...]] = {}
    for row in grouped:
        values = dict(zip(fields, (row[c] for c in columns), strict=True))
        combo = tuple(values.get(name) for name in SCOPE_FIELDS)
        combo = (*combo[:3], combo[3] or "", combo[4] or "")
        row["_combo"] = combo
        combos[_scope_key(combo)] = combo
    if combos:
        LeadScope.objects.bulk_create(
            [
                LeadScope(
                    key=key, team_id=c[0], owner_id=c[1], ae_id=c[2], source=c[3], status=c[4]
                )
                for key, c in combos.items()
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
    ids = dict(LeadScope.objects.filter(key__in=list(combos)).values_list("key", "pk"))
    return [(row, ids[_scope_key(row["_combo"])]) for row in grouped]


def unowned_status(prefix: str = "") -> Case:
    """The lead's status when it has no owner, else "" (see `reports.models.LeadScope`)."""
    return Case(
        When(**{f"{prefix}owner__isnull": True}, then=F(f"{prefix}status")),
        default=Value(""),
        output_field=CharField(),
    )


def hour_bucket(field: str) -> TruncHour:
    """The UTC hour a row falls in (named `day` in the grouped rows; see `hour_row_fields`)."""
    return TruncHour(field, tzinfo=UTC)


def hour_row_fields(bucket: datetime.datetime) -> dict[str, Any]:
    """The `day`, `hour` and `grain` of the hour row for a `hour_bucket` value."""
    bucket = bucket.astimezone(UTC) if timezone.is_aware(bucket) else bucket
    return {"day": bucket.date(), "hour": bucket.hour, "grain": HOUR_GRAIN}


def falls_on_days(field: str, days: set[datetime.date] | None) -> Q:
    """Rows whose `field` falls on one of `days` (UTC), as ranges the index can use; None:
    every row."""
    if days is None:
        return Q()
    condition = Q(pk__in=[])
    for low, high in _consecutive_ranges(days):
        condition |= Q(
            **{
                f"{field}__gte": datetime.datetime.combine(low, datetime.time.min, tzinfo=UTC),
                f"{field}__lt": datetime.datetime.combine(high, datetime.time.min, tzinfo=UTC)
                + DAY,
            }
        )
    return condition


def _consecutive_ranges(days: set[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """`days` as runs of consecutive days: ``[(first, last), ...]``."""
    ordered = sorted(days)
    ranges: list[list[datetime.date]] = []
    for day in ordered:
        if ranges and day - ranges[-1][1] == DAY:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(a, b) for a, b in ranges]


def replace_rows(
    model: type[models.Model], days: set[datetime.date] | None, rows: list[Any]
) -> int:
    """Replace the hour rows of `days` (None: all) with `rows`, then the day rows of those
    days and the month rows of their months, summed up from them."""
    _delete_hours_and_days(model, days)
    # In time order: a period's rows then sit on neighbouring pages.
    rows.sort(key=lambda row: (row.day, row.hour))
    model._default_manager.bulk_create(rows, batch_size=5000)
    _sum_up(model, days)
    return len(rows)


def replace_rows_from(
    model: type[models.Model],
    days: set[datetime.date] | None,
    grouped: QuerySet[Any],
    columns: dict[str, str],
) -> int:
    """As `replace_rows`, the hour rows being `grouped` (a `values()` query with `day`
    and `hour` columns, see `hour_of`), each column of ``{row column: query column}``:
    one INSERT ... SELECT, nothing through Python (a full rebuild writes millions)."""
    _delete_hours_and_days(model, days)
    try:
        select, params = grouped.order_by().query.sql_with_params()
    except EmptyResultSet:  # no days to rebuild
        written = 0
    else:
        quote = connection.ops.quote_name
        targets = ["grain", "day", "hour", *columns]
        picked = ["day", "hour", *columns.values()]
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(t) for t in targets)}) "
            f"SELECT %s, {', '.join(f's.{quote(c)}' for c in picked)} FROM ({select}) s "
            f"ORDER BY s.{quote('day')}, s.{quote('hour')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, (HOUR_GRAIN, *params))
            written = max(cursor.rowcount, 0)
    _sum_up(model, days)
    return written


def hour_of(field: str) -> dict[str, Any]:
    """The `day` and `hour` (UTC) a row's `field` falls in, as annotations to group by."""
    return {"day": TruncDate(field, tzinfo=UTC), "hour": ExtractHour(field, tzinfo=UTC)}


def _delete_hours_and_days(model: type[models.Model], days: set[datetime.date] | None) -> None:
    hours_and_days = model._default_manager.filter(grain__in=[HOUR_GRAIN, DAY_GRAIN])
    # Derived rows with no relations pointing at them: Django deletes them in one query.
    (hours_and_days if days is None else hours_and_days.filter(day__in=days)).delete()


def _sum_up(model: type[models.Model], days: set[datetime.date] | None) -> None:
    """The day rows of `days` (None: all) and the month rows of their months, summed up
    from the hour rows and the day rows."""
    manager = model._default_manager
    hours = manager.filter(grain=HOUR_GRAIN)
    _insert_sums(model, hours if days is None else hours.filter(day__in=days), F("day"), DAY_GRAIN)
    months = None if days is None else {day.replace(day=1) for day in days}
    daily = manager.filter(grain=DAY_GRAIN)
    month_rows = manager.filter(grain=MONTH)
    if months is not None:
        condition = Q(pk__in=[])
        for month in months:
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            condition |= Q(day__gte=month, day__lt=following)
        daily = daily.filter(condition)
        month_rows = month_rows.filter(day__in=months)
    month_rows.delete()
    _insert_sums(model, daily, TruncMonth("day"), MONTH)


def _insert_sums(model: type[models.Model], rows: QuerySet[Any], period: Any, grain: str) -> None:
    """Insert `grain` rows summing `rows` per `period` (a day or a month) and dimensions:
    one INSERT ... SELECT, nothing through Python (a full rebuild sums millions of rows)."""
    dims: list[str] = []
    measures: list[models.Field[Any, Any]] = []
    numbers = (models.IntegerField, models.DecimalField, models.FloatField)
    for f in model._meta.concrete_fields:
        if f.name in ("id", "day", "hour", "grain"):
            continue
        is_measure = isinstance(f, numbers) and not f.is_relation
        if is_measure:
            measures.append(f)
        else:
            dims.append(f.attname)
    grouped = (
        rows.annotate(period=Cast(period, models.DateField()))
        .values("period", *dims)
        .annotate(
            **{
                f"m_{m.attname}": Coalesce(Sum(m.attname), Value(0), output_field=m)
                for m in measures
            }
        )
        .order_by()
    )
    try:
        select, params = grouped.query.sql_with_params()
    except EmptyResultSet:  # no days to sum up (a filter on an empty set of days)
        return
    quote = connection.ops.quote_name
    columns = ["period", *dims, *(f"m_{m.attname}" for m in measures)]
    targets = ["grain", "hour", "day", *dims, *(m.attname for m in measures)]
    table = quote(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(t) for t in targets)}) "
        f"SELECT %s, 0, {', '.join(f's.{quote(c)}' for c in columns)} "
        f"FROM ({select}) s ORDER BY s.{quote('period')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (grain, *params))
