"""Recording warnings, breaches and escalations exactly once.

Both the sweep and a clock stopped late record events. Either may race the other (a lead
met its deadline while a sweep was looking), so each INSERT lets the unique constraint
`sla_event_once` (timer, kind, level) decide: ``ON CONFLICT DO NOTHING RETURNING`` tells
the caller which rows it really wrote, and only those are announced.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field

from sla.models import SlaEvent

# Rows per INSERT statement: 6 parameters each stays well under SQLite's variable limit.
INSERT_CHUNK = 1_000
# Rows per INSERT on PostgreSQL, where a statement binds six arrays whatever its rows.
UNNEST_CHUNK = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class EventRow:
    """One `SlaEvent` to record, as plain values (no model instance per row)."""

    timer_id: int
    kind: str
    level: int
    notified_id: int | None
    responsible_id: int | None
    created_at: datetime.datetime


def record_events(rows: list[EventRow]) -> list[tuple[int, str, int]]:
    """INSERT the events, skipping any already recorded; return the (timer, kind, level)
    of the rows this statement really inserted. Works on PostgreSQL (rows bound as arrays,
    ``unnest``) and SQLite >= 3.35 (multi-row VALUES)."""
    if not rows:
        return []
    meta = SlaEvent._meta
    columns = [
        _column(name)
        for name in ("timer", "kind", "level", "notified", "responsible", "created_at")
    ]
    conflict = [_column(name) for name in ("timer", "kind", "level")]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "
    tail = (
        f" ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING "
        f"RETURNING {quote(columns[0])}, {quote(columns[1])}, {quote(columns[2])}"
    )
    if connection.vendor == "postgresql":
        # Six arrays, whatever the number of rows: nothing per row for the driver to bind.
        sql = (
            f"{head}SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::integer[], "
            f"%s::bigint[], %s::bigint[], %s::timestamptz[]){tail}"
        )
        batches: Iterator[tuple[str, list[Any]]] = (
            (
                sql,
                [
                    [row.timer_id for row in chunk],
                    [str(row.kind) for row in chunk],
                    [row.level for row in chunk],
                    [row.notified_id for row in chunk],
                    [row.responsible_id for row in chunk],
                    [row.created_at for row in chunk],
                ],
            )
            for chunk in in_chunks(rows, UNNEST_CHUNK)
        )
    else:
        batches = (_values_statement(head, tail, chunk) for chunk in in_chunks(rows, INSERT_CHUNK))
    inserted: list[tuple[int, str, int]] = []
    for sql, params in batches:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted += [(int(t), str(k), int(lvl)) for t, k, lvl in cursor.fetchall()]
    return inserted


def _values_statement(head: str, tail: str, chunk: Sequence[EventRow]) -> tuple[str, list[Any]]:
    """A multi-row VALUES INSERT, for databases without arrays (SQLite)."""
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
    params: list[Any] = []
    for row in chunk:
        params += [
            row.timer_id,
            str(row.kind),
            row.level,
            row.notified_id,
            row.responsible_id,
            connection.ops.adapt_datetimefield_value(row.created_at),
        ]
    return f"{head}VALUES {values}{tail}", params


def _column(name: str) -> str:
    field = SlaEvent._meta.get_field(name)
    assert isinstance(field, Field)  # a concrete column, not a reverse relation
    return str(field.column)


def in_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`, so no statement grows with the backlog."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
