"""Report and dashboard reads on a PostgreSQL read replica, when there is one.

Set `DATABASE_REPLICA_URL` to a streaming replica of the primary and the GET requests of
the paths in `REPLICA_READ_PATHS` (the dashboard, the reports and their API) read from
it; everything else, and every write, stays on the primary. Three things keep a reader
from seeing the past:

- **Reads after writes.** A user who changed something in the last
  `REPLICA_LAG_TOLERANCE` seconds reads from the primary, so the report they open after
  converting a lead shows that conversion. The mark is a cache key per user, so it holds
  for browser sessions and API tokens alike; with the cache down nobody is marked and
  everybody reads from the primary (slower, never stale).
- **Lag.** The replica's replay lag is measured at most every `REPLICA_LAG_CHECK_SECONDS`
  per process; above the tolerance, reads go to the primary until it catches up.
- **Failure.** A replica that cannot be reached counts as lagging.

The router only answers for reads made inside `replica_reads()`, which the middleware
opens around the request, and only for the models of `REPLICA_APPS` (leads, deals, clocks,
rollups): sessions, users and tokens are always read from the primary, so a user who just
signed in is never signed out by a lagging replica. A read that must be fresh inside such
a request can say `.using("default")`. Tasks and management commands never read from the
replica.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

log = logging.getLogger(__name__)

REPLICA = "replica"


class _Reads:
    """The request being served inside `replica_reads()`. API requests authenticate in the
    view, after the middleware ran, so whether the user just wrote is decided at the first
    read made once the user is known, and remembered for the rest of the request."""

    def __init__(self, request: HttpRequest | None) -> None:
        self.request = request
        self.sticky: bool | None = None

    def allowed(self) -> bool:
        user = self.request.__dict__.get("user") if self.request is not None else None
        if isinstance(user, SimpleLazyObject) and getattr(user, "_wrapped", empty) is empty:
            return True  # not known yet: the only reads before that are the sign-in's own
        if user is None or not user.is_authenticated:
            return True
        if self.sticky is None:
            self.sticky = wrote_recently(user.pk)
        return not self.sticky


_reading: ContextVar[_Reads | None] = ContextVar("replica_reads", default=None)
_lag_seen: dict[str, float] = {}  # {"at": monotonic time of the check, "lag": seconds}


def replica_configured() -> bool:
    return bool(getattr(settings, "REPLICA_READS", False)) and REPLICA in connections.databases


@contextmanager
def replica_reads(request: HttpRequest | None = None) -> Iterator[None]:
    """Reads inside this block may be served by the replica (if it is fresh enough and
    `request`'s user has not just written)."""
    token = _reading.set(_Reads(request))
    try:
        yield
    finally:
        _reading.reset(token)


def replica_lag() -> float | None:
    """Seconds the replica is behind the primary, or None if it cannot be asked.

    An idle primary sends no WAL, so "time since the last replayed transaction" grows
    while the replica is in fact current: when everything received has been replayed,
    the lag is zero. A database that is not in recovery (a copy, as in the tests) is
    current by definition."""
    sql = """
        SELECT CASE
            WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
        END
    """
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    except DatabaseError:
        log.warning("Read replica unreachable; reports read from the primary.", exc_info=True)
        return None
    return float(row[0]) if row else None


def replica_fresh() -> bool:
    """Whether the replica is within the lag tolerance (checked at most every few seconds
    per process, so a report pays one probe now and then, not one per query)."""
    now = time.monotonic()
    every = float(getattr(settings, "REPLICA_LAG_CHECK_SECONDS", 5.0))
    if not _lag_seen or now - _lag_seen["at"] >= every:
        lag = replica_lag()
        _lag_seen.update(at=now, lag=float("inf") if lag is None else lag)
    return _lag_seen["lag"] <= float(settings.REPLICA_LAG_TOLERANCE)


def _wrote_key(user_id: int) -> str:
    return f"replica:wrote:{user_id}"


def mark_wrote(user_id: int) -> None:
    cache.set(_wrote_key(user_id), 1, timeout=max(1, int(settings.REPLICA_LAG_TOLERANCE) + 1))


def wrote_recently(user_id: int) -> bool:
    """True when the user wrote within the tolerance, or when the cache cannot tell (a
    fail-open cache that is down answers every key as absent)."""
    if cache.get(_wrote_key(user_id)) is not None:
        return True
    return bool(getattr(cache, "is_down", False))


class ReplicaRouter:
    """Sends reads made inside `replica_reads()` to the replica; all else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        reads = _reading.get()
        if reads is None or model._meta.app_label not in settings.REPLICA_APPS:
            return None
        if replica_configured() and reads.allowed() and replica_fresh():
            return REPLICA
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica is a copy of the primary: a row read there may point at one here.
        return True


class ReplicaReadsMiddleware:
    """Opens `replica_reads()` around safe requests to report paths and marks users who
    just wrote, so their next report reads from the primary."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        if request.method in self.SAFE and request.path.startswith(
            tuple(settings.REPLICA_READ_PATHS)
        ):
            with replica_reads(request):
                return self.get_response(request)
        response = self.get_response(request)
        if request.method in self.SAFE:
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and response.status_code < 400:
            mark_wrote(user.pk)
        return response
