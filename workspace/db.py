"""Planner settings for a few statements of the workspace's own, and only those."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# The settings a statement may be given here, so no caller passes SQL in a name.
KNOWN = frozenset({"enable_seqscan", "jit"})


@contextmanager
def planner_settings(**values: str) -> Iterator[None]:
    """Run the statements inside with these planner settings (PostgreSQL; elsewhere as
    they are): SET LOCAL in a transaction of their own, each previous value put back
    afterwards for a transaction that encloses this one (a test's, a view's)."""
    if connection.vendor != "postgresql" or not values:
        yield
        return
    unknown = set(values) - KNOWN
    if unknown:
        raise ValueError(f"Not a setting this helper changes: {sorted(unknown)}")
    names = sorted(values)
    # current_setting before set_config in each pair: one statement reads and sets all.
    pairs = ", ".join("current_setting(%s), set_config(%s, %s, true)" for _ in names)
    params = [p for name in names for p in (name, name, values[name])]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {pairs}", params)
        row = cursor.fetchone() or ()
        previous = list(row[0::2])
        try:
            yield
        finally:
            restore = ", ".join("set_config(%s, %s, true)" for _ in names)
            cursor.execute(
                f"SELECT {restore}",
                [p for name, value in zip(names, previous, strict=True) for p in (name, value)],
            )
