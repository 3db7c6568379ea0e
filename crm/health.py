"""What `/health/` checks: each dependency, answered fast and named when it fails.

`health_report()` runs one bounded check per dependency — database (`SELECT 1` under a
statement timeout), cache (a write/read round trip), broker (a ping with a socket
timeout), the worker's heartbeat age and the outbox backlog — and never raises: a check
that fails is reported by name, the others still run. Redis timeouts come from
`CACHES["default"]["OPTIONS"]` and `THRESHOLD_HEALTH_TIMEOUT`, so a blackholed Redis
costs about a second, not a hung load balancer probe.

The worker's heartbeat is written to the cache *and* to a file
(`THRESHOLD_HEARTBEAT_FILE`); the newer of the two counts. The file is what keeps the
heartbeat readable while the cache is down: it needs no schema and no service beyond the
disk. Where web and worker do not share a disk (the compose file's containers) point
`THRESHOLD_HEARTBEAT_FILE` at a shared volume; otherwise the age is read from the cache
only, and while the cache is down `/health/` is 503 for the cache anyway. (A database row
would reach every container without a volume: `heartbeat_record`/`heartbeat_last` are the
only two places to change.)

The outbox check reads the undelivered rows of `crm.outbox`: 503 ("backlogged") when the
oldest has waited longer than `THRESHOLD_OUTBOX_MAX_AGE` seconds, or ("dead letters") while
any row was given up on, until someone retries or deletes it in the admin.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "threshold:worker-heartbeat"
HEARTBEAT_MISSED_BEATS = 3  # the worker counts as down after this many missed beats


# --- the worker heartbeat ---------------------------------------------------------------


def heartbeat_period() -> float:
    """Seconds between beats, as scheduled in `CELERY_BEAT_SCHEDULE["heartbeat"]`."""
    return float(settings.CELERY_BEAT_SCHEDULE["heartbeat"]["schedule"])


def heartbeat_record(*, at: datetime.datetime) -> None:
    """Store the worker's beat where `/health/` finds it even while the cache is down."""
    stamp = at.isoformat()
    caches["default"].set(HEARTBEAT_KEY, stamp, timeout=None)
    path = Path(settings.THRESHOLD_HEARTBEAT_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial_file = path.with_name(f".{path.name}.{os.getpid()}")
        partial_file.write_text(stamp)
        partial_file.replace(path)  # atomic: a reader never sees half a timestamp
    except OSError as error:
        logger.warning("Could not write the heartbeat file %s: %s", path, error)


def heartbeat_last() -> datetime.datetime | None:
    """When a worker last beat: the newer of the cache's and the file's record."""
    stamps: list[str] = []
    try:
        cached = caches["default"].get(HEARTBEAT_KEY)
    except Exception as error:  # noqa: BLE001 - a cache that raises is a missing record
        logger.debug("Heartbeat not readable from the cache: %s", error)
        cached = None
    if isinstance(cached, str):
        stamps.append(cached)
    with contextlib.suppress(OSError):  # no file yet, or not shared with the worker
        stamps.append(Path(settings.THRESHOLD_HEARTBEAT_FILE).read_text().strip())
    beats = [_parse_instant(s) for s in stamps]
    return max((b for b in beats if b is not None), default=None)


def _parse_instant(value: str) -> datetime.datetime | None:
    try:
        instant = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if timezone.is_aware(instant) else None


# --- the outbox ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxBacklog:
    """Undelivered side effects: how many wait, how long the oldest has waited, and how
    many were given up on (dead letters); `ok` unless the relay is behind or gave up."""

    pending: int
    oldest_age_seconds: float | None
    ok: bool
    dead: int = 0


def outbox_max_age() -> float:
    """Seconds the oldest undelivered side effect may wait before `/health/` is 503."""
    return float(settings.THRESHOLD_OUTBOX_MAX_AGE)


def outbox_backlog(*, now: datetime.datetime | None = None) -> OutboxBacklog:
    """The outbox's undelivered rows (one query over its partial index, under the health
    statement timeout on PostgreSQL). Not ok when the oldest waiting row is older than
    `THRESHOLD_OUTBOX_MAX_AGE` (the relay and the sweep are not keeping up: no worker,
    no beat, or a handler failing) or when any row is a dead letter."""
    from crm.outbox.selectors import outbox_backlog_counts

    now = now or timezone.now()
    with transaction.atomic():
        _statement_timeout()
        counts = outbox_backlog_counts()
    oldest = counts.oldest_pending_at
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else None
    behind = age is not None and age > outbox_max_age()
    return OutboxBacklog(
        pending=counts.pending,
        oldest_age_seconds=round(age, 1) if age is not None else None,
        ok=not behind and counts.dead == 0,
        dead=counts.dead,
    )


# --- the checks -------------------------------------------------------------------------


def _timeout() -> float:
    return float(settings.THRESHOLD_HEALTH_TIMEOUT)


def _statement_timeout() -> None:
    """For the current transaction only: a locked-up server fails the check, not the probe."""
    if connection.vendor == "postgresql":
        milliseconds = str(int(_timeout() * 1000))
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [milliseconds])


def _database() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        _statement_timeout()
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    backend = caches["default"]
    key = f"threshold:health:{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    check = getattr(backend, "check", None)  # crm.cache_guard: bypasses its circuit, raises
    if check is not None:
        check(key, token)
        return
    backend.set(key, token, timeout=30)
    if backend.get(key) != token:
        raise LookupError("the value read back is not the value written")
    backend.delete(key)


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    scheme = url.split("://", 1)[0]
    if scheme == "filesystem":
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        for name in ("data_folder_in", "data_folder_out"):
            folder = Path(options.get(name, "."))
            if not folder.is_dir() or not os.access(folder, os.R_OK | os.W_OK):
                raise FileNotFoundError(f"broker folder {folder} is not a writable directory")
        return
    if scheme in ("redis", "rediss"):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=_timeout(),
            socket_timeout=_timeout(),
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=_timeout()) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=_timeout())


# Per process: what the previous probe found, so a load balancer polling every few seconds
# logs one line when a dependency goes down and one when it is back, not one per probe.
_last_seen: dict[str, str] = {}


def _note(name: str, state: str, detail: str = "") -> None:
    before = _last_seen.get(name, "ok")
    _last_seen[name] = state
    if state != "ok" and before == "ok":
        logger.warning("Health: %s is %s%s", name, state, f" ({detail})" if detail else "")
    elif state == "ok" and before != "ok":
        logger.warning("Health: %s is ok again (was %s)", name, before)
    elif state != "ok":
        logger.debug("Health: %s still %s%s", name, state, f" ({detail})" if detail else "")


@dataclass
class HealthReport:
    checks: dict[str, str] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failing

    def record(self, name: str, state: str, detail: str = "") -> None:
        self.checks[name] = state
        if state != "ok":
            self.failing.append(name)
        _note(name, state, detail)

    def run(self, name: str, probe: Callable[[], None]) -> None:
        started = time.monotonic()
        try:
            probe()
        except Exception as error:  # noqa: BLE001 - any failure of a dependency is "down"
            took = (time.monotonic() - started) * 1000
            self.record(name, "unavailable", f"{type(error).__name__}: {error}, {took:.0f} ms")
        else:
            self.record(name, "ok")

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "degraded",
            "failing": self.failing,
            **self.checks,
            **self.extra,
        }


def health_report(*, now: datetime.datetime | None = None) -> HealthReport:
    """Every dependency's state; never raises."""
    now = now or timezone.now()
    started = time.monotonic()
    report = HealthReport()
    report.run("database", _database)
    report.run("cache", _cache)
    report.run("broker", _broker)

    beat = heartbeat_last()
    age = (now - beat).total_seconds() if beat is not None else None
    limit = HEARTBEAT_MISSED_BEATS * heartbeat_period()
    if age is None:
        report.record("worker", "no heartbeat")
    elif age > limit:
        report.record("worker", "stale", f"last beat {age:.0f} s ago")
    else:
        report.record("worker", "ok")
    if report.checks["worker"] != "ok":
        # The heartbeat is a task celery beat schedules and a worker runs: either can be the
        # one down, and the operator reading this needs to know to look at both.
        report.extra["worker_hint"] = (
            "celery beat schedules crm.tasks.heartbeat_task every "
            f"{heartbeat_period():.0f} s and a worker runs it: check that both are running"
        )
    report.extra["worker_heartbeat"] = beat.isoformat() if beat is not None else None
    report.extra["worker_heartbeat_age_seconds"] = round(age, 1) if age is not None else None
    report.extra["worker_heartbeat_max_age_seconds"] = limit

    try:
        backlog = outbox_backlog(now=now)
    except Exception as error:  # noqa: BLE001 - e.g. the database is down: named, not raised
        report.record("outbox", "unknown", f"{type(error).__name__}: {error}")
        report.extra["outbox_pending"] = report.extra["outbox_dead"] = None
        report.extra["outbox_oldest_age_seconds"] = None
    else:
        state = "ok" if backlog.ok else ("dead letters" if backlog.dead else "backlogged")
        report.record("outbox", state, f"{backlog.pending} pending, {backlog.dead} dead")
        report.extra["outbox_pending"] = backlog.pending
        report.extra["outbox_dead"] = backlog.dead
        report.extra["outbox_oldest_age_seconds"] = backlog.oldest_age_seconds
    report.extra["outbox_max_age_seconds"] = outbox_max_age()

    report.extra["time"] = now.isoformat()
    report.extra["took_ms"] = round((time.monotonic() - started) * 1000)
    return report
