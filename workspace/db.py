"""Planner settings for a few statements of the workspace's own, and only those."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

# The settings a statement may be given here, so no caller passes SQL in a name.
KNOWN = frozenset({"enable_seqscan", "jit", "max_parallel_workers_per_gather"})


@contextmanager
def planner_settings(**values: str) -> Iterator[None]:
    """Run the statements inside with these planner settings (PostgreSQL; elsewhere as
    they are), each previous value put back afterwards.

    Outside a transaction (an API or page request: no ATOMIC_REQUESTS) one statement reads
    and sets them all for the session, and one puts them back — no BEGIN and COMMIT: two
    more round trips, and on a busy machine each round trip waits for both processes to
    be scheduled again (the search's budget is 100 ms). Should putting them back fail,
    the connection is closed, so no later statement runs with them. Inside a transaction
    (a test's, a view's) they are SET LOCAL within a savepoint of their own: an error
    rolls them back with it."""
    if connection.vendor != "postgresql" or not values:
        yield
        return
    unknown = set(values) - KNOWN
    if unknown:
        raise ValueError(f"Not a setting this helper changes: {sorted(unknown)}")
    names = sorted(values)
    if not connection.in_atomic_block:
        previous = _set(names, values, local=False)
        try:
            yield
        finally:
            try:
                _set(names, dict(zip(names, previous, strict=True)), local=False)
            except DatabaseError:
                connection.close()
                raise
        return
    with transaction.atomic():
        previous = _set(names, values, local=True)
        yield
        _set(names, dict(zip(names, previous, strict=True)), local=True)


def _set(names: list[str], values: dict[str, str], *, local: bool) -> list[str]:
    """Set each of `names` to its value in one statement; their previous values."""
    flag = "true" if local else "false"
    # current_setting before set_config in each pair: one statement reads and sets all.
    pairs = ", ".join(f"current_setting(%s), set_config(%s, %s, {flag})" for _ in names)
    params = [p for name in names for p in (name, name, values[name])]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pairs}", params)
        row = cursor.fetchone() or ()
    return list(row[0::2])
