"""The import's Celery task, on the "imports" queue (`CELERY_TASK_ROUTES`): a long run
never delays an SLA sweep or an e-mail.

Safe to deliver twice: a finished job is left as it is, and a running one resumes after
its last committed batch (`imports.run`), so a redelivery after a worker died neither
skips nor repeats a row.
"""

from __future__ import annotations

from celery import shared_task

from imports.run import import_run


@shared_task(name="imports.tasks.import_run_task")
def import_run_task(*, job_id: int) -> str:
    return import_run(job_id=job_id).status
