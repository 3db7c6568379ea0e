"""Celery tasks of the SLA engine: thin wrappers around `sla.sweep`.

Why the sweep is safe to deliver more than once
------------------------------------------------
Celery runs with at-least-once delivery here (`CELERY_TASK_ACKS_LATE` and
`CELERY_TASK_REJECT_ON_WORKER_LOST` in settings): a sweep whose worker dies mid-run is
delivered again, and beat may start a sweep while the previous one is still running.
Running `timers_sweep` twice, or twice at once, changes nothing the first run did not:

* each batch is one transaction, so a killed worker leaves either the whole batch
  recorded or nothing of it;
* on PostgreSQL the due timers are locked with ``FOR NO KEY UPDATE SKIP LOCKED``:
  concurrent sweepers take disjoint batches instead of queueing behind each other;
* every warning, breach and escalation is an INSERT guarded by the unique constraint
  `sla_event_once` (timer, kind, level) with ``ON CONFLICT DO NOTHING RETURNING`` (on
  PostgreSQL in the same statement that locks and advances the timers, `sla.sweep_sql`),
  and bell notifications are written only for rows that INSERT returned, in the same
  transaction (`sla.sweep_fanout`);
* a timer leaves the sweep's range once handled (its `next_check_at` moves past `now`).

E-mail is the one external effect: the sweep writes one outbox row per notification in
the batch's transaction (`crm.outbox`), and the relay sends each once per delivery key.
`sla.emails.sla_notification_emails_task` stays registered (the import below) only to
drain messages queued before the outbox existed.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from sla.emails import sla_notification_emails_task
from sla.sweep import timers_sweep

__all__ = ["sla_notification_emails_task", "timers_sweep_task"]


@shared_task(name="sla.tasks.timers_sweep_task")
def timers_sweep_task() -> dict[str, int]:
    """Beat runs this every 15 seconds (CELERY_BEAT_SCHEDULE["sla-sweep"])."""
    result = timers_sweep(now=timezone.now())
    return {
        "examined": result.examined,
        "warnings": result.warnings,
        "breaches": result.breaches,
        "escalations": result.escalations,
        "notifications": result.notifications,
    }
