"""`INSERT … ON CONFLICT … RETURNING` for one model instance.

Django's `get_or_create` costs a SELECT, a SAVEPOINT, the INSERT and a RELEASE (and a
second SELECT when it loses a race); `bulk_create(ignore_conflicts=True)` cannot say
which row it kept. Finding-or-creating an account or a contact during a conversion is
one statement here: the database's unique key decides, and the row comes back.

PostgreSQL and SQLite (3.35+) both speak this dialect.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connections, router
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def insert_returning(obj: M, *, on_conflict: str = "DO NOTHING") -> M | None:
    """INSERT `obj` (its `pre_save` values: auto timestamps and the like) with the given
    `ON CONFLICT …` clause; return the row as stored — the new one, or the existing one
    when `on_conflict` is a `DO UPDATE` — or None when the conflict did nothing."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields: list[Field] = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
    returned: list[Field] = list(meta.concrete_fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT {on_conflict} "
        f"RETURNING {', '.join(quote(f.column) for f in returned)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    decoded = []
    for field, value in zip(returned, row, strict=True):
        column = field.get_col(meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        for convert in converters:
            value = convert(value, column, connection)
        decoded.append(value)
    return model.from_db(alias, [f.attname for f in returned], decoded)
