"""Rows in bulk for `leads.services.bulk_intake`: each row checked as intake checks it,
then written: a binary COPY on PostgreSQL (the server parses nothing: five times faster
than text for timestamps), one executemany INSERT elsewhere (SQLite: development and
tests), and the lead ids reserved up front so a lead's children go in the same batch.

Rows are plain tuples in a known column order; values are what the ORM would store (each
prepared by its field on the executemany path).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from django.db import connection, models
from django.db.models import Lookup
from django.db.models.lookups import In
from django.utils.translation import gettext as _

from crm.exceptions import Problem
from crm.models import User
from crm.placeholders import is_placeholder
from leads import gate
from leads.models import Lead, Qualification, Source
from leads.services.assignment import may_own_leads, not_an_owner
from leads.services.edits import EDITABLE_FIELDS

Status = Lead.Status
# Statuses a lead may come in with; SQL and beyond need Threshold's own qualification.
IMPORT_STATUSES = (Status.MQL, Status.SAL, Status.NURTURE, Status.DISQUALIFIED)
TRANSITION_COLUMNS = ("lead_id", "from_status", "to_status", "actor_id", "reason", "created_at")
EVENT_COLUMNS = ("lead_id", "kind", "actor_id", "created_at", "changes", "note")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class BulkRow:
    """One lead to take in: `data` holds EDITABLE_FIELDS only (blank is "" or None)."""

    data: dict[str, Any]
    at: datetime.datetime | None = None
    status: str = Status.MQL
    status_label: str = ""  # the status as the file wrote it, for the history
    owner: User | None = None  # this row's owner, before any default


# --- checking ---------------------------------------------------------------------------------


@cache
def _char_limits() -> dict[str, int]:
    return {
        f.name: f.max_length
        for f in Lead._meta.concrete_fields
        if f.name in EDITABLE_FIELDS and isinstance(f, models.CharField) and f.max_length
    }


@cache
def _char_limit_items() -> tuple[tuple[str, int], ...]:
    return tuple(_char_limits().items())


_EDITABLE = frozenset(EDITABLE_FIELDS)


def row_problems(row: BulkRow) -> list[Problem]:
    """Everything wrong with a row, as `lead_intake` and the API word it."""
    data = row.data
    problems = [] if _passes_intake(data) else gate.intake_problems(data)
    if not _EDITABLE.issuperset(data):
        problems += [
            Problem("unknown_field", name, _("This field cannot be set."))
            for name in sorted(set(data) - _EDITABLE)
        ]
    for name, limit in _char_limit_items():
        value = data.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                Problem(
                    "max_length",
                    name,
                    _("Ensure this field has no more than %(max)d characters.") % {"max": limit},
                )
            )
    email = data.get("email")
    if email and not _EMAIL.fullmatch(str(email).strip()):
        problems.append(Problem("invalid", "email", _("Enter a valid email address.")))
    if row.status not in IMPORT_STATUSES:
        problems.append(
            Problem("invalid_choice", "status", _("A lead cannot come in with this status."))
        )
    if row.owner is not None and not may_own_leads(row.owner):
        problems.append(not_an_owner())
    return problems


_SOURCES = frozenset(Source.values)
# Company and last names repeat down a file (a company's people, a family name): each
# distinct value is judged once.
_placeholder_text = lru_cache(maxsize=65_536)(is_placeholder)


_DIGIT = re.compile(r"\d")


def _is_placeholder(value: Any) -> bool:
    if not isinstance(value, str):
        return is_placeholder(value)
    # A digit is a word character no placeholder has: "Pérez 17", a phone number and most
    # e-mail addresses are answers, known without normalizing them.
    if _DIGIT.search(value):
        return False
    return _placeholder_text(value)


def _passes_intake(data: dict[str, Any]) -> bool:
    """True exactly when `gate.intake_problems(data)` is empty, without its translated
    messages or its `Source.values` (rebuilt per call): the rows that pass take this
    shortcut, the others get the gate's own problems."""
    if _is_placeholder(data.get("company_name")) or _is_placeholder(data.get("last_name")):
        return False
    if _is_placeholder(data.get("email")) and _is_placeholder(data.get("phone")):
        return False
    if data.get("source") not in _SOURCES:
        return False
    score = data.get("score")
    text = "" if score is None else str(score)
    return not text or (text.isdigit() and int(text) <= 100)


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    columns: tuple[str, ...]
    defaults: dict[str, Any]
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]


@cache
def lead_spec() -> _Spec:
    """Every column of a lead row, with the model's defaults (a field added later with a
    default needs nothing here)."""
    fields = Lead._meta.concrete_fields
    columns = tuple(f.attname for f in fields)
    return _Spec(columns, {f.attname: f.get_default() for f in fields}, itemgetter(*columns))


def qualification_rows(
    lead_ids: Iterable[int], by_id: int | None, now: datetime.datetime
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """A blank qualification per lead, as `Qualification.objects.create` makes it."""
    fields = [f for f in Qualification._meta.concrete_fields if not f.primary_key]
    values = {f.attname: f.get_default() for f in fields} | {
        "updated_by_id": by_id,
        "updated_at": now,
    }
    columns = ("lead_id", *(name for name in values if name != "lead_id"))
    rest = tuple(values[name] for name in columns[1:])
    return columns, [(lead_id, *rest) for lead_id in lead_ids]


def reserve_lead_ids(count: int) -> list[int]:
    """The next `count` lead ids: children reference the leads before the leads exist."""
    if not count:
        return []
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite runs one writer at a time (IMMEDIATE transactions): the top id is ours.
        cursor.execute(
            "SELECT MAX(top) FROM (SELECT MAX(id) AS top FROM leads_lead UNION ALL "
            "SELECT seq FROM sqlite_sequence WHERE name = %s)",
            [table],
        )
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


_copy_types: dict[tuple[str, tuple[str, ...]], list[int]] = {}


def write_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (tuples in `columns` order): a binary COPY on PostgreSQL (the server
    parses nothing), one executemany elsewhere, each value prepared by its field."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    fields = [_concrete(model, c) for c in columns]
    names = ", ".join(qn(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            prepare = [f.get_db_prep_save for f in fields]
            params = [[p(v, connection) for p, v in zip(prepare, row, strict=True)] for row in rows]
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", params)
            return
        from psycopg.types.json import Jsonb

        key = (table, tuple(columns))
        if key not in _copy_types:
            cursor.execute(f"SELECT {names} FROM {table} LIMIT 0")
            _copy_types[key] = [column.type_code for column in cursor.description]
        json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_copy_types[key])
            write = copy.write_row
            if not json_at:
                for row in rows:
                    write(row)
                return
            for row in rows:
                row = tuple(
                    Jsonb(v) if i in json_at and not isinstance(v, Jsonb) else v
                    for i, v in enumerate(row)
                )
                write(row)


def json_value(value: Any) -> Any:
    """`value` for a JSON column of `write_rows`, serialized once: a batch repeats a few
    values (`{}`, one owner's name) thousands of times; pass the same object for each."""
    if connection.vendor != "postgresql":
        return value
    from psycopg.types.json import Jsonb

    return Jsonb(json.dumps(value).encode(), dumps=_as_is)


def _as_is(data: Any) -> Any:
    return data


@contextmanager
def server_binding() -> Iterator[None]:
    """Statements inside bind their parameters on the server (PostgreSQL): a batch's
    lookups pass arrays of thousands of e-mail addresses and names, which the client-side
    binding Django uses by default quotes and escapes one by one in Python."""
    if connection.vendor != "postgresql":
        yield
        return
    # Defined only when psycopg 3 is installed, so the stubs do not know it.
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    connection.ensure_connection()
    raw = connection.connection
    previous = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor
    try:
        yield
    finally:
        raw.cursor_factory = previous


class _AnyOf(Lookup):
    """`lhs = ANY(%s)`, the right-hand side one array parameter (PostgreSQL)."""

    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def any_of(expression: Any, values: Iterable[Any]) -> Any:
    """`expression IN values` as one array parameter on PostgreSQL (`= ANY(%s)`): a batch's
    five thousand values as as many placeholders cost more to send and parse than the
    lookup itself. Other databases get the plain IN."""
    values = list(values)
    if connection.vendor != "postgresql":
        return In(expression, values)
    return _AnyOf(expression, values)


def _concrete(model: type[models.Model], column: str) -> models.Field[Any, Any]:
    """The model field stored in `column` (`owner_id` is the `owner` foreign key)."""
    field = model._meta.get_field(_field_name(column))
    assert isinstance(field, models.Field)  # a concrete column, not a reverse relation
    return field


def _field_name(column: str) -> str:
    return column.removesuffix("_id") if column.endswith("_id") and column != "id" else column
