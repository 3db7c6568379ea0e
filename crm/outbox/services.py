"""Writing to the outbox, handing it to the relay after the commit, retrying by hand."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone

from crm.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Effect:
    """One side effect: the handler task (or its registered name), its keyword
    arguments (JSON: ids and short strings), and the key that names this effect."""

    task: Task | str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.task if isinstance(self.task, str) else self.task.name


def outbox_put(task: Task | str, *, key: str, **payload: Any) -> None:
    """Write one side effect in the caller's transaction; see `outbox_put_many`."""
    outbox_put_many([Effect(task, key, payload)])


def outbox_put_many(effects: Iterable[Effect]) -> list[str]:
    """Write side effects in the caller's transaction (one INSERT), and hand them to the
    relay after it commits. An effect whose key is already in the outbox is not written
    again. Nothing is delivered if the transaction rolls back: the rows go with it."""
    now = timezone.now()
    rows = {
        effect.key: OutboxMessage(
            kind=effect.kind,
            payload=dict(effect.payload),
            delivery_key=effect.key,
            created_at=now,
            available_at=now,
        )
        for effect in effects
    }
    if not rows:
        return []
    OutboxMessage.objects.bulk_create(rows.values(), ignore_conflicts=True, batch_size=1000)
    keys = list(rows)
    hand_off_after_commit(keys)
    return keys


def hand_off_after_commit(keys: list[str]) -> None:
    """Hand rows the caller wrote itself (a set-based INSERT, as the SLA sweep's) to the
    relay once the transaction commits: the one after-commit hook side effects use."""
    if keys:
        transaction.on_commit(lambda: hand_off(keys))


def hand_off(keys: list[str]) -> None:
    """After the commit: ask a worker to deliver these rows now. Never raises — the rows
    are committed, and beat's sweep delivers whatever this could not hand over."""
    from crm.enqueue import publish
    from crm.tasks import outbox_relay_task

    try:
        publish(
            outbox_relay_task,
            {"keys": keys},
            consequence="beat's outbox sweep delivers its rows instead",
        )
    except Exception:  # noqa: BLE001 - a committed change must not become an error
        logger.exception("Outbox hand-off failed after the commit; the sweep will deliver")


def outbox_retry(*, ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Try undelivered rows again now, dead letters included, with a fresh set of
    attempts (their last error is kept until the next attempt)."""
    now = now or timezone.now()
    with transaction.atomic():
        queryset = OutboxMessage.objects.filter(pk__in=list(ids), delivered_at__isnull=True)
        keys = list(queryset.values_list("delivery_key", flat=True))
        changed = queryset.update(dead_at=None, attempts=0, available_at=now)
        if keys:
            transaction.on_commit(lambda: hand_off(keys))
    return changed
