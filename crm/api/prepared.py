"""`values()` querysets compiled to SQL once per process and run again with new values.

Django compiles a queryset to SQL on every evaluation: for a lean detail (a 60-column
`values()` with four joins) the compilation costs several times the query itself. The hot
API reads ask the same few questions again and again: "this scope's row with id N", "this
scope's first page in this order". Here such a queryset is compiled once and its SQL kept
under a key made of everything that decides the SQL (the model, the database, the columns,
the joins, each condition with its value, the order, the slice); a later queryset with the
same key runs the kept SQL through Django's own cursor (so query logging, execute
wrappers and the connection's health checks still apply) and gets its rows through the
compiler's own converters (`from_db_value`, SQLite's types): the very dicts `values()`
gives. A queryset whose key cannot be made safely (a subquery, `extra()`, raw SQL, a
condition that is not a plain column against plain values) is simply evaluated.

`Prepared` goes one step further for a value that changes on every request (the id of a
detail): that value is a parameter of the kept SQL, so one compilation serves every id.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import F, Model, QuerySet
from django.db.models.expressions import Col
from django.db.models.functions.datetime import TimezoneMixin
from django.db.models.lookups import Lookup
from django.db.models.query import ValuesIterable
from django.db.models.sql.datastructures import BaseTable, Join
from django.db.models.sql.where import WhereNode

Converters = dict[int, tuple[list[Callable[..., Any]], Any]]
_PLAIN = (
    int,
    str,
    float,
    bool,
    decimal.Decimal,
    datetime.date,
    datetime.datetime,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    type(None),
)
# Keys kept per process: the scopes of the users served and the orders they sort by.
CACHE_SIZE = 512


class _Unkeyable(Exception):
    """The queryset holds something whose SQL its key could not pin down."""


def _value_key(value: Any) -> Hashable:
    if isinstance(value, _PLAIN):
        return (type(value), value)
    if isinstance(value, list | tuple | set | frozenset):
        items = tuple(_value_key(item) for item in value)
        return (type(value), frozenset(items) if isinstance(value, set | frozenset) else items)
    raise _Unkeyable(type(value).__name__)


def _where_key(node: Any) -> Hashable:
    if isinstance(node, WhereNode):
        return (node.connector, node.negated, tuple(_where_key(child) for child in node.children))
    if isinstance(node, Lookup) and isinstance(node.lhs, Col):
        lhs = node.lhs
        return (type(node), lhs.alias, lhs.target, lhs.output_field, _value_key(node.rhs))
    raise _Unkeyable(type(node).__name__)


def _expression_key(expression: Any) -> Hashable:
    """An annotation or ORDER BY term: strings as they are; an expression by its identity,
    unless it holds a query (whose identity does not tell two queries apart)."""
    if isinstance(expression, str):
        return expression
    if isinstance(expression, Col):
        return ("col", expression.alias, expression.target, expression.output_field)
    if isinstance(expression, TimezoneMixin):  # its SQL names the zone active when compiled
        raise _Unkeyable(type(expression).__name__)
    if type(expression) is F:
        return ("F", expression.name)
    if not hasattr(expression, "get_source_expressions"):
        raise _Unkeyable(type(expression).__name__)
    if getattr(expression, "contains_aggregate", False) or getattr(
        expression, "contains_over_clause", False
    ):
        raise _Unkeyable("aggregate")
    for source in expression.get_source_expressions():
        if source is not None and not isinstance(source, str):
            _expression_key(source)  # raises for what cannot be keyed
    if hasattr(expression, "query") or type(expression).__name__ in ("Query", "RawSQL"):
        raise _Unkeyable(type(expression).__name__)
    return expression.identity


def _joins_key(query: Any) -> Hashable:
    parts: list[Hashable] = []
    for alias, join in query.alias_map.items():
        if isinstance(join, Join):
            if join.filtered_relation is not None:
                raise _Unkeyable("FilteredRelation")
            parts.append(
                (alias, join.table_name, join.parent_alias, join.join_type, join.join_field)
            )
        elif type(join) is BaseTable:
            parts.append((alias, join.table_name))
        else:
            raise _Unkeyable(type(join).__name__)
    return tuple(parts)


def query_key(queryset: QuerySet[Any]) -> Hashable | None:
    """What decides the SQL of `queryset` (a `values()` queryset), or None when that
    cannot be said safely: then compile it as usual."""
    query = queryset.query
    if (
        queryset._iterable_class is not ValuesIterable
        or query.combinator
        or query.extra
        or query.select_for_update
        or query.distinct_fields
        or query.group_by is not None
        or query.subquery
        or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
    ):
        return None
    try:
        return (
            query.model,
            queryset.db,
            tuple(query.values_select),
            tuple((name, _expression_key(a)) for name, a in query.annotations.items()),
            tuple(query.annotation_select),
            _where_key(query.where),
            tuple(_expression_key(term) for term in query.order_by),
            query.default_ordering,
            query.standard_ordering,
            query.low_mark,
            query.high_mark,
            query.distinct,
            _joins_key(query),
        )
    except (_Unkeyable, TypeError, AttributeError):  # an unhashable or unknown part
        return None


@dataclass(frozen=True)
class Compiled:
    """A `values()` queryset's SQL and how to read its rows, made once."""

    using: str
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]
    width: int
    converters: Converters

    @classmethod
    def of(cls, queryset: QuerySet[Any]) -> Compiled | None:
        """None when the queryset can match no row (Django compiles nothing then)."""
        query = queryset.query
        compiler = query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        if not sql:
            return None
        names = list(query.selected) if query.selected else [
            *query.extra_select, *query.values_select, *query.annotation_select
        ]  # fmt: skip
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        return cls(queryset.db, sql, tuple(params), tuple(names), compiler.col_count,
                   compiler.get_converters(fields))  # fmt: skip

    def dicts(self, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """The rows as `values()` gives them, run with `params` (default: as compiled)."""
        connection = connections[self.using]
        with _cursor(connection) as cursor:
            cursor.execute(self.sql, self.params if params is None else params)
            rows = cursor.fetchall()
        names, width, converters = self.names, self.width, self.converters
        out = []
        for row in rows:
            values = list(row[:width])
            for position, (functions, expression) in converters.items():
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            out.append(dict(zip(names, values, strict=True)))
        return out


def _cursor(connection: Any) -> Any:
    """A cursor of Django's (logged, wrapped, health-checked like any), which on
    PostgreSQL runs each statement as a server-side prepared statement
    (`API_PREPARED_STATEMENTS`, default on): a kept statement is then planned once per
    connection, not on every request. The planning is most of the cost of these indexed
    reads (a lead detail: ~0.3 ms to plan, ~0.05 ms to run). Django's own cursors bind
    on the client and never prepare (so that transaction-pooling proxies work); set
    `API_PREPARED_STATEMENTS = False` behind one that does not support prepared
    statements (PgBouncer before 1.21 in transaction mode)."""
    if connection.vendor != "postgresql" or not getattr(settings, "API_PREPARED_STATEMENTS", True):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw_connection = connection.connection
        if raw_connection.prepare_threshold is None:
            # psycopg prepares nothing while the threshold is None. Django's cursors bind
            # on the client and never prepare; with a threshold no statement reaches, only
            # the `prepare=True` of the cursors made here does.
            raw_connection.prepare_threshold = 2**31 - 1
        cursor = _PreparingCursor(raw_connection)
        _register_zone(connection, cursor)
        return connection._prepare_cursor(cursor)


class _Kept:
    """A bounded map, oldest out first: enough for the scopes and orders in use."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        return self.entries.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)), None)
        self.entries[key] = value


_kept = _Kept()


def values_rows(queryset: QuerySet[Any]) -> list[Any]:
    """`list(queryset)`, from SQL compiled once per key when the queryset is a keyable
    `values()` queryset."""
    key = query_key(queryset)
    if key is None:
        return list(queryset)
    compiled = _kept.get(key)
    if compiled is None:
        compiled = Compiled.of(queryset)
        if compiled is None:
            return []
        _kept.put(key, compiled)
    return compiled.dicts()


# An id no row has, findable among a compiled query's parameters.
_SLOT = -7_318_004_926_551_093_301


@dataclass(frozen=True)
class Slotted:
    """A compiled query some of whose parameters change from run to run."""

    compiled: Compiled
    indexes: tuple[int, ...]

    @classmethod
    def of(cls, queryset: QuerySet[Any], *slots: Any) -> Slotted | None:
        """`queryset` compiled with `slots` standing for the values (each distinct, and a
        value no caller sends); None: it matches nothing."""
        compiled = Compiled.of(queryset)
        if compiled is None:
            return None
        indexes = []
        for slot in slots:
            found = [
                i for i, p in enumerate(compiled.params) if type(p) is type(slot) and p == slot
            ]
            if len(found) != 1:
                raise RuntimeError(f"{slot!r} is not one parameter of {compiled.sql}")
            indexes.append(found[0])
        return cls(compiled, tuple(indexes))

    def dicts(self, *values: Any) -> list[dict[str, Any]]:
        params = list(self.compiled.params)
        for index, value in zip(self.indexes, values, strict=True):
            params[index] = value
        return self.compiled.dicts(params)


def _slots(count: int) -> list[int]:
    """`count` distinct ids no row has, to compile a query over `count` ids once."""
    return [_SLOT + i for i in range(count)]


_by_ids = _Kept()


def rows_for_ids(
    model: type[Model], make: Callable[[list[int]], QuerySet[Any]], ids: Sequence[int]
) -> list[Any]:
    """`list(make(ids))` for a `values()` queryset of `model` over a list of ids (the rows
    related to a page), compiled once per number of ids: the ids are its parameters."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return list(make(ids))
    using = router.db_for_read(model)
    key = (make, using, len(ids))
    slotted = _by_ids.get(key)
    if slotted is None:
        slots = _slots(len(ids))
        queryset = make(slots).using(using)
        if query_key(queryset) is None:  # not a plain `values()` query: as usual
            return list(make(ids))
        slotted = Slotted.of(queryset, *slots)
        if slotted is None:
            return []
        _by_ids.put(key, slotted)
    return slotted.dicts(*ids)


class Prepared:
    """The row of `queryset` whose primary key is N: compiled once per scope, for every N."""

    def __init__(self) -> None:
        self._kept = _Kept()

    def one(self, queryset: QuerySet[Any], pk: Any) -> dict[str, Any] | None:
        """`queryset.filter(pk=pk).order_by()[:1]` as a dict, None when there is none
        (also when `pk` is no valid id, as the ORM answers)."""
        model: type[Model] = queryset.model
        key = query_key(queryset)
        value = _id_value(model, queryset.db, pk)
        if value is None:
            return None
        if key is None:
            found = list(queryset.filter(pk=value).order_by()[:1])
            return found[0] if found else None
        slotted = self._kept.get(key)
        if slotted is None:
            slotted = Slotted.of(queryset.filter(pk=_SLOT).order_by()[:1], _SLOT)
            if slotted is None:  # the scope matches nothing
                return None
            self._kept.put(key, slotted)
        found = slotted.dicts(value)
        return found[0] if found else None


def _id_value(model: type[Model], using: str, pk: Any) -> Any:
    """`pk` as the ORM sends it for `filter(pk=pk)`, or None when that finds nothing
    (not a number, or out of the column's range)."""
    field = model._meta.pk
    assert field is not None
    try:
        value = field.get_prep_value(pk)
    except (ValueError, TypeError):
        return None
    if isinstance(value, int):
        low, high = connections[using].ops.integer_field_range(field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            return None
    return value


try:
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )
    from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
        register_tzloader,
    )
    from psycopg import adapters
    from psycopg.pq import Format

    _TIMESTAMPTZ = adapters.types["timestamptz"].oid

    class _PreparingCursor(ServerBindingCursor):
        """Django's server-binding cursor that prepares every statement it runs."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            result = super().execute(query, params, **{**kwargs, "prepare": True})
            # psycopg keeps no query text for a prepared run; Django's query log
            # (`last_executed_query`) reads it there, so it gets the statement it ran.
            self._query = _Logged(self.connection, query, params)
            return result

    class _Logged:
        """The text of a statement run prepared, composed only when someone reads it."""

        def __init__(self, connection: Any, sql: str, params: Any) -> None:
            self.connection, self.sql, self.params = connection, sql, params

        @property
        def query(self) -> bytes:
            from psycopg import ClientCursor

            text = ClientCursor(self.connection).mogrify(self.sql, self.params)
            return text.encode()

    def _register_zone(connection: Any, cursor: Any) -> None:
        """What Django's `create_cursor` does for the cursors it makes."""
        loader = connection.connection.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, cursor)

    _CAN_PREPARE = True
except ImportError:  # psycopg 3 is not installed
    _CAN_PREPARE = False
