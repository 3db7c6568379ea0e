"""SQL building blocks the report selectors share: durations in seconds and exact medians.

Medians are exact on both databases. PostgreSQL has the ordered-set aggregate
``percentile_cont(0.5) WITHIN GROUP (ORDER BY x)``: `Median` compiles to it and sits in
the same GROUP BY as the counts. SQLite has no such aggregate, so `grouped_medians`
computes the same value with window functions instead: ROW_NUMBER and COUNT over each
group, then the average of the middle one or two rows - percentile_cont's definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Aggregate, Expression, F, FloatField, Func, QuerySet, Value

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.db.models.sql.compiler import _AsSqlType as SqlAndParams

GroupKey = tuple[Any, ...]
# Figures per group: ``{(group values...): {figure name: value}}``.
Grouped = dict[GroupKey, dict[str, Any]]


class SecondsBetween(Func):
    """``end - start`` in seconds as a float (NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> SqlAndParams:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        # SQLite keeps instants as ISO text in UTC; julianday() reads them to the ms.
        return f"((julianday({end}) - julianday({start})) * 86400.0)", (*end_params, *start_params)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> SqlAndParams:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        return (
            f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)",
            (*end_params, *start_params),
        )


def seconds_between(end: str, start: str) -> SecondsBetween:
    return SecondsBetween(F(end), F(start))


class Median(Aggregate):
    """The exact median (``percentile_cont(0.5)``) of a numeric expression. PostgreSQL
    only; on other databases use `grouped_medians`, which falls back to window functions."""

    function = "PERCENTILE_CONT"
    name = "Median"
    output_field = FloatField()
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> SqlAndParams:
        if connection.vendor != "postgresql":
            raise NotImplementedError("Median() needs PostgreSQL; use grouped_medians().")
        given = {"function": function, "template": template, "arg_joiner": arg_joiner}
        extra_context.update({name: value for name, value in given.items() if value is not None})
        return super().as_sql(compiler, connection, **extra_context)


def has_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


def grouped_aggregates(
    queryset: QuerySet,
    group_by: Sequence[str],
    aggregates: Mapping[str, Aggregate],
    medians: Mapping[str, Expression] | None = None,
) -> Grouped:
    """``{(group values...): {name: value}}`` for `aggregates` and the medians of the
    `medians` expressions (NULLs ignored) over `queryset`, grouped by `group_by`.

    On PostgreSQL one query (the medians are `Median` aggregates in the same GROUP BY);
    elsewhere two (the counts, then one window-function query for every median).
    With an empty `group_by` the result has one row, keyed ``()``, even over no rows.
    """
    medians = dict(medians or {})
    qs = queryset.order_by()
    # Aliases of their own: a count named like a field ("met") would otherwise shadow the
    # field in its own FILTER (WHERE met) and in later annotations.
    alias = {name: f"_agg_{name}" for name in [*aggregates, *medians]}
    annotations: dict[str, Any] = {alias[name]: agg for name, agg in aggregates.items()}
    if has_percentile_cont():
        # Ordered-set aggregates skip NULL inputs: no FILTER needed.
        annotations.update({alias[name]: Median(expr) for name, expr in medians.items()})
    if group_by:
        rows = qs.values(*group_by).annotate(**annotations).order_by()
        raw = {tuple(row[g] for g in group_by): row for row in rows}
    else:
        raw = {(): qs.aggregate(**annotations) if annotations else {}}
    result = {key: {name: row.get(alias[name]) for name in alias} for key, row in raw.items()}
    if medians and not has_percentile_cont():
        window = window_medians(qs, group_by, medians)
        for key, row in result.items():
            for name in medians:
                row[name] = window.get(key, {}).get(name)
    return result


def window_medians(
    queryset: QuerySet, group_by: Sequence[str], medians: Mapping[str, Expression]
) -> dict[GroupKey, dict[str, float]]:
    """Exact medians with window functions, one query for all of them:

    the rows of every measure are stacked (UNION ALL, tagged with the measure's index),
    numbered within (group, measure) in value order, and the middle one or two averaged.
    Works on any database with window functions (SQLite >= 3.25, PostgreSQL)."""
    names = list(medians)
    if not names or queryset.query.is_empty():
        return {}
    # Explicit aliases: a UNION's columns are named after its first part's.
    columns = [f"_g{i}" for i in range(len(group_by))]
    parts = [
        queryset.order_by()
        .annotate(
            **{c: F(g) for c, g in zip(columns, group_by, strict=True)},
            _m=Value(index),
            _v=medians[name],
        )
        .filter(_v__isnull=False)
        .values(*columns, "_m", "_v")
        for index, name in enumerate(names)
    ]
    stacked = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    inner, params = stacked.query.sql_with_params()
    quote = connection.ops.quote_name
    keys = ", ".join(quote(c) for c in [*columns, "_m"])
    sql = (
        f"SELECT {keys}, AVG({quote('_v')}) FROM ("
        f" SELECT *,"
        f" ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {quote('_v')}) AS rn,"
        f" COUNT(*) OVER (PARTITION BY {keys}) AS cnt"
        f" FROM ({inner}) stacked"
        f") ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY {keys}"
    )
    result: dict[GroupKey, dict[str, float]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            *key, measure, value = row
            result.setdefault(tuple(key), {})[names[int(measure)]] = value
    return result


class DurationSeconds(Func):
    """A DurationField in seconds as a float: PostgreSQL intervals, SQLite microseconds."""

    output_field = FloatField()
    arity = 1

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> SqlAndParams:
        value, params = compiler.compile(self.source_expressions[0])
        return f"({value} / 1000000.0)", params

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> SqlAndParams:
        value, params = compiler.compile(self.source_expressions[0])
        return f"CAST(EXTRACT(EPOCH FROM {value}) AS double precision)", params
