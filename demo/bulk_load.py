"""Writing the generated rows fast: PostgreSQL binary COPY with foreign keys and plain
indexes set aside until the end, one executemany INSERT per table elsewhere (SQLite).
Primary keys come from the generator, so the sequences are moved past them afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar, cast

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from demo.rows import WRITE_ORDER, Row, table_spec

T = TypeVar("T")


class CopyWriter:
    """PostgreSQL: binary COPY FROM STDIN. Binary, because in text format the server spends
    most of the load parsing timestamps back out of their text form (5x slower here)."""

    def __init__(self) -> None:
        self._types: dict[type[models.Model], list[int]] = {}

    def write(self, model: type[models.Model], rows: list[Row]) -> None:
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in table_spec(model).fields)
        name = qn(model._meta.db_table)
        with connection.cursor() as cursor:
            if model not in self._types:  # binary COPY needs each column's type up front
                cursor.execute(f"SELECT {columns} FROM {name} LIMIT 0")
                self._types[model] = [column.type_code for column in cursor.description]
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(self._types[model])
                for row in rows:
                    copy.write_row(row)


class InsertWriter:
    """Other backends (SQLite): one executemany INSERT per table, each value prepared by
    its field as the ORM would (aware datetimes to UTC text, dicts to JSON, ...)."""

    def write(self, model: type[models.Model], rows: list[Row]) -> None:
        spec = table_spec(model)
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in spec.fields)
        placeholders = ", ".join(["%s"] * len(spec.fields))
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        prepare = [f.get_db_prep_save for f in spec.fields]
        params = [
            [prep(value, connection) for prep, value in zip(prepare, row, strict=True)]
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the rows are made. The generator makes millions
    of small tuples and dicts (no cycles: reference counting frees them), and each time
    the collector runs it walks every object alive, a whole chunk of rows: a third of the
    generator's time at a hundred thousand leads."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def made_ahead(items: Iterable[T]) -> Iterator[T]:
    """`items`, each next one made in a second thread while the caller uses this one: the
    generator builds the next chunk while the database takes in the last. The items are
    still made one after another, in order, so the seeded Random gives the same data.
    The maker must not use the database (its connection belongs to the caller's thread)."""
    iterator = iter(items)
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-generator") as pool:
        upcoming = pool.submit(next, iterator, done)
        while (item := upcoming.result()) is not done:
            upcoming = pool.submit(next, iterator, done)
            yield cast(T, item)


def row_writer() -> CopyWriter | InsertWriter:
    """The fastest writer the database offers."""
    return CopyWriter() if connection.vendor == "postgresql" else InsertWriter()


def first_free_ids() -> dict[type[models.Model], int]:
    """Per table, the first primary key above every existing row: where the demo's ids start."""
    return {
        model: (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1
        for model in WRITE_ORDER
    }


def lock_tables() -> None:
    """PostgreSQL: keep other writers out until commit, since primary keys are allocated
    here rather than by the sequences. Readers are not blocked."""
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    names = ", ".join(qn(model._meta.db_table) for model in WRITE_ORDER)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


@contextmanager
def bulk_load(tables: Sequence[type[models.Model]]) -> Iterator[None]:
    """PostgreSQL: drop the foreign keys and plain indexes of `tables`, load, re-create them.

    What pg_restore does, for the same reason: Django's foreign keys are checked one
    inserted row at a time (at commit, being deferred), which is a third of the load time
    at a million leads, while re-adding a key checks every row with one join; and building
    an index once is cheaper than updating it row by row. Unique indexes stay, so keys are
    still enforced as rows arrive. All of it is inside the seeding transaction: if anything
    fails, the rollback restores the schema as it was."""
    if connection.vendor != "postgresql":
        yield
        return
    names = [model._meta.db_table for model in tables]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending checks
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [names],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisunique AND NOT indisprimary",
            [names],
        )
        indexes = cursor.fetchall()
        for table_name, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT {qn(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks the other tables queued
        # Sort memory for the index builds, this transaction only (the default is 64 MB).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table_name, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table_name} ADD CONSTRAINT {qn(name)} {definition}")


def move_sequences_past_demo_rows() -> None:
    """The next row the app inserts must get a fresh id, not one the demo used."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(WRITE_ORDER))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze_tables() -> None:
    """Fresh planner statistics, or the first dashboard queries plan for empty tables."""
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in WRITE_ORDER:
            cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")
