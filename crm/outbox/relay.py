"""The relay: deliver outbox rows, one claimed row per transaction.

`outbox_deliver(keys)` is what the after-commit hand-off runs (`outbox_relay_task`);
`outbox_sweep(now=...)` is what beat runs every 15 s (`outbox_sweep_task`): every row
whose `available_at` has passed, oldest first, at most `SWEEP_LIMIT` per run. Both go
through `_deliver_one`, which

1. claims the row: ``SELECT ... FOR UPDATE SKIP LOCKED`` of an undelivered, live row that
   is due — a row another relay holds is skipped, not waited for, and a row delivered
   meanwhile no longer matches;
2. runs the handler (the Celery task named by `kind`, called in this process) inside a
   savepoint, so its own writes roll back when it fails;
3. marks the row delivered in the same transaction, or records the failure: `attempts`
   + 1, `last_error`, `available_at` pushed back by `backoff(attempts)`, and `dead_at`
   once `MAX_ATTEMPTS` are spent.

One row per transaction keeps a worker killed mid-sweep to at most one effect repeated
(the one whose handler had run but whose commit had not), where a batch per transaction
would repeat the whole batch. See `crm/outbox/__init__.py` for the guarantee.

`outbox_purge` (hourly) forgets rows delivered more than a week ago.
"""

from __future__ import annotations

import datetime
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.outbox.mail import delivering
from crm.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # 1+2+4+…+60 minutes: about four hours of trying before a dead letter
BACKOFF_CAP = datetime.timedelta(hours=1)
SWEEP_LIMIT = 500  # rows per sweep; the next sweep (15 s later) takes the rest
ERROR_LENGTH = 2000
KEEP_DELIVERED_FOR = datetime.timedelta(days=7)


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"  # delivered meanwhile, held by another relay, or not due


@dataclass
class RelayResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
            "skipped": self.skipped,
        }


def backoff(attempts: int) -> datetime.timedelta:
    """How long to wait after the `attempts`-th failure: 1, 2, 4, 8 … minutes, at most
    an hour."""
    exponent = min(max(attempts - 1, 0), 6)  # 2**6 minutes is past the cap already
    return min(datetime.timedelta(minutes=2**exponent), BACKOFF_CAP)


def handler_for(kind: str) -> Callable[..., Any]:
    """The body of the Celery task registered as `kind`, to call in this process."""
    from crm.celery import app

    if kind not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery: every app's `tasks` module
    task = app.tasks.get(kind)
    if task is None:
        raise LookupError(f"No task is registered as {kind!r}")
    return task.run


def _claim(lookup: Q, *, now: datetime.datetime) -> OutboxMessage | None:
    """The row, locked, if it is undelivered, live, due and nobody else holds it. A row
    never tried is always due: a worker whose clock is behind the web server's must not
    leave a fresh row to the sweep."""
    due = Q(available_at__lte=now) | Q(attempts=0)
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .pending()
        .filter(lookup, due)
        .first()
    )


def _deliver_one(lookup: Q, *, now: datetime.datetime) -> Outcome:
    with transaction.atomic():
        message = _claim(lookup, now=now)
        if message is None:
            return Outcome.SKIPPED
        message.attempts += 1
        try:
            handler = handler_for(message.kind)
            # A savepoint: a failing handler's writes roll back. Its e-mail names the row's
            # delivery key, so a message sent again after a lost COMMIT is the same message.
            with transaction.atomic(), delivering(message.delivery_key):
                handler(**message.payload)
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
            return _failed(message, error, now=now)
        message.delivered_at = timezone.now()
        message.save(update_fields=["attempts", "delivered_at"])
        return Outcome.DELIVERED


def _failed(message: OutboxMessage, error: Exception, *, now: datetime.datetime) -> Outcome:
    message.last_error = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    message.available_at = now + backoff(message.attempts)
    dead = message.attempts >= MAX_ATTEMPTS
    if dead:
        message.dead_at = now
        logger.error(
            "Outbox: %s gave up after %s attempts (%s); retry it from the admin",
            message,
            message.attempts,
            message.last_error,
        )
    else:
        logger.warning(
            "Outbox: %s failed (attempt %s of %s, next at %s): %s",
            message,
            message.attempts,
            MAX_ATTEMPTS,
            message.available_at.isoformat(),
            message.last_error,
        )
    message.save(update_fields=["attempts", "last_error", "available_at", "dead_at"])
    return Outcome.DEAD if dead else Outcome.FAILED


def outbox_deliver(keys: Iterable[str], *, now: datetime.datetime | None = None) -> RelayResult:
    """Deliver the rows with these delivery keys, if they are due and nobody has yet."""
    now = now or timezone.now()
    result = RelayResult()
    for key in keys:
        result.add(_deliver_one(Q(delivery_key=key), now=now))
    return result


def outbox_sweep(*, now: datetime.datetime | None = None, limit: int = SWEEP_LIMIT) -> RelayResult:
    """Deliver every row that is due, oldest first: what the hand-off missed (a broker
    that was down or lost the message) and the retries whose backoff has passed."""
    now = now or timezone.now()
    due = list(
        OutboxMessage.objects.pending()
        .filter(available_at__lte=now)
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    result = RelayResult()
    for pk in due:
        result.add(_deliver_one(Q(pk=pk), now=now))
    if result.delivered or result.failed or result.dead:
        logger.info("Outbox sweep: %s", result.as_dict())
    return result


def outbox_purge(*, now: datetime.datetime | None = None) -> int:
    """Forget rows delivered more than a week ago (undelivered ones are never purged)."""
    cutoff = (now or timezone.now()) - KEEP_DELIVERED_FOR
    deleted, _ = OutboxMessage.objects.filter(delivered_at__lt=cutoff).delete()
    return deleted
