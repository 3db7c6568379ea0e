"""The import's Celery tasks. The run is on the "imports" queue (`CELERY_TASK_ROUTES`): a
long run never delays an SLA sweep or an e-mail.

Safe to deliver twice: a finished job is left as it is, and a running one resumes after
its last committed batch (`imports.run`), so a redelivery after a worker died neither
skips nor repeats a row. A worker that died for good is what the watchdog is for: beat
runs it every minute (`CELERY_BEAT_SCHEDULE["import-watchdog"]`).
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from imports.run import import_run
from imports.watchdog import (
    STALLED_AFTER,
    imports_let_rehearsal_files_go,
    imports_queue_lost,
    imports_stop_stalled,
)


@shared_task(name="imports.tasks.import_run_task")
def import_run_task(*, job_id: int) -> str:
    return import_run(job_id=job_id).status


@shared_task(name="imports.tasks.import_watchdog_task")
def import_watchdog_task(*, minutes: float | None = None) -> list[int]:
    """End the running imports whose worker wrote nothing for `minutes` (10 by default):
    failed, with the rows that are in named. Returns their ids. Also queues again the run
    of imports still waiting that long after they were queued (the broker lost the task),
    and lets go of the files of dry runs kept longer than a day."""
    after = datetime.timedelta(minutes=minutes) if minutes else STALLED_AFTER
    now = timezone.now()
    imports_let_rehearsal_files_go(now=now)
    imports_queue_lost(now=now, lost_after=after, queue=_queue_run)
    return imports_stop_stalled(now=now, stalled_after=after)


def _queue_run(job_id: int) -> None:
    """The run of import `job_id` to the broker again; a refusal is logged (`enqueue_now`)
    and the next watchdog tick tries again."""
    from crm.enqueue import enqueue_now

    enqueue_now(import_run_task, job_id=job_id)
