"""What the outbox holds, for `/health/` and the admin."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q

from crm.outbox.models import UNDELIVERED, OutboxMessage


@dataclass(frozen=True)
class Backlog:
    pending: int
    dead: int
    oldest_pending_at: datetime.datetime | None


def outbox_backlog_counts() -> Backlog:
    """Undelivered rows in one query over the partial index: how many wait, how many are
    dead letters, and when the oldest waiting one was written."""
    live = Q(dead_at__isnull=True)
    row = OutboxMessage.objects.filter(UNDELIVERED).aggregate(
        pending=Count("pk", filter=live),
        dead=Count("pk", filter=~live),
        oldest=Min("created_at", filter=live),
    )
    return Backlog(pending=row["pending"], dead=row["dead"], oldest_pending_at=row["oldest"])
