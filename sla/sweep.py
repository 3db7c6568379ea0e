"""The sweep's tick: warnings, breaches and escalations for the SLA timers that are due.

The beat task (`sla.tasks.timers_sweep_task`) calls `timers_sweep(now=...)` every few
seconds. A tick with nothing due is one probe of a partial index; a tick with work runs
batches, each one transaction of a few set-based statements:

* on PostgreSQL one statement (`sla.sweep_sql`) locks the due timers, records their
  events exactly once and moves them on; elsewhere `sla.sweep_portable` does the same
  with a handful of statements planned row by row;
* `sla.sweep_fanout` words a message for each person to tell of the events really
  recorded, then writes the bell rows and their e-mail's outbox rows in one statement.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import connection, transaction

from sla.models import SlaTimer
from sla.sweep_fanout import Announcement, BatchOutcome, MessageBuilder, messages_for
from sla.sweep_fanout import write_notifications as _write_notifications
from sla.sweep_portable import sweep_batch_portable
from sla.sweep_sql import Chains, policy_chains, sweep_batch_sql

logger = logging.getLogger(__name__)

# One sweep transaction handles at most this many timers, so a large backlog (say, after
# an outage) is worked off in short transactions instead of one that locks everything.
SWEEP_BATCH_SIZE = 5_000


@dataclass
class SweepResult:
    """What one sweep did. Counts are of rows actually inserted, so a redelivered or
    concurrent sweep reports zero for what another run had already recorded."""

    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    notifications: int = 0
    batches: int = 0

    def add(self, batch: BatchOutcome) -> None:
        if batch.examined:
            self.batches += 1
            self.examined += batch.examined
        self.warnings += batch.warnings
        self.breaches += batch.breaches
        self.escalations += batch.escalations


def timers_sweep(*, now: datetime.datetime, batch_size: int = SWEEP_BATCH_SIZE) -> SweepResult:
    """Record the warnings, breaches and escalations that are due at `now`, exactly once,
    and tell the people concerned (bell, and e-mail through the outbox after the commit).

    Each batch is one transaction: a killed worker leaves the whole batch recorded or
    nothing of it, and its redelivery records the rest. Concurrent sweepers lock disjoint
    batches (``SKIP LOCKED``), and the unique constraint `sla_event_once` decides any
    race with a clock stopped late, so every (timer, kind, level) is recorded and told
    once. The cost is that of the due timers only: timers not yet due are never read.
    """
    result = SweepResult()
    # Most ticks find nothing due: one probe of the partial index answers that, without a
    # transaction, row locks or the joins the batch query needs.
    if not _anything_due(now):
        return result
    chains: Chains | None = policy_chains() if connection.vendor == "postgresql" else None
    builder: MessageBuilder | None = None
    while True:
        with transaction.atomic():
            if chains is not None:
                batch = sweep_batch_sql(now=now, limit=batch_size, chains=chains)
            else:
                batch = sweep_batch_portable(now=now, limit=batch_size)
            if batch.told and builder is None:
                builder = MessageBuilder()
            result.notifications += _tell(batch.told, builder)
        result.add(batch)
        # A short batch took the last due timers; after a full one, the index probe (not
        # the batch statement) tells whether any are left.
        if batch.examined < batch_size or not _anything_due(now):
            break
    if result.examined:
        logger.info("SLA sweep at %s: %s", now.isoformat(), result)
    return result


def _tell(told: list[Announcement], builder: MessageBuilder | None) -> int:
    """Word and write the batch's messages in its transaction; how many were written."""
    if not told or builder is None:
        return 0
    outgoing = messages_for(told, builder)
    _write_notifications(outgoing)
    return len(outgoing.messages)


_PROBE: list[str] = []


def _anything_due(now: datetime.datetime) -> bool:
    """Is any running timer's next check at or before `now`? One probe of the partial
    index `sla_timer_due_check_idx`, with SQL written once per process: an idle tick
    costs the database's index descent, not the ORM's query compilation."""
    if not _PROBE:
        table = connection.ops.quote_name(SlaTimer._meta.db_table)
        _PROBE.append(
            f"SELECT 1 FROM {table} WHERE stopped_at IS NULL AND next_check_at <= %s LIMIT 1"  # noqa: S608
        )
    with connection.cursor() as cursor:
        cursor.execute(_PROBE[0], [connection.ops.adapt_datetimefield_value(now)])
        return cursor.fetchone() is not None
