"""The watchdog: ends a running import whose worker died, so it does not say "running"
forever, and queues again the run of one the broker lost, so it does not say "waiting"
forever. Beat runs it every minute (`CELERY_BEAT_SCHEDULE["import-watchdog"]`, on the
sweeps queue: the imports worker may be the one that died, or busy with a long run).

How it knows: the run saves the job row whole with each batch it commits, which stamps
`ImportJob.updated_at` (`auto_now`); a running job neither started nor written for
`STALLED_AFTER` has lost its worker. A worker's child killed (out of memory) is redelivered
the task at once (acks late, reject on worker lost) and resumes well within that; a
machine gone is redelivered only after the broker's visibility timeout (an hour on
Redis), by when the watchdog has ended the job and the redelivery leaves it finished.

It also lets go of the files dry runs kept to be run for real, after a day.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imports.models import ImportFileChunk, ImportJob
from imports.run import _finish as finish_run

logger = logging.getLogger(__name__)

# A batch commits in about a second; a run that has written nothing for this long has lost
# its worker (killed, out of memory, its machine gone).
STALLED_AFTER = datetime.timedelta(minutes=10)
# How long a finished dry run keeps its file to be run for real (`import_run_for_real`).
DRY_RUN_KEPT_FOR = datetime.timedelta(days=1)


def imports_let_rehearsal_files_go(*, now: datetime.datetime) -> int:
    """Delete the files of dry runs that finished more than DRY_RUN_KEPT_FOR ago, in one
    statement: kept so the user can run them for real, not for ever. Returns how many
    chunks went."""
    deleted, _by_model = ImportFileChunk.objects.filter(
        job__dry_run=True, job__finished_at__lt=now - DRY_RUN_KEPT_FOR
    ).delete()
    return deleted


def imports_stop_stalled(
    *, now: datetime.datetime, stalled_after: datetime.timedelta = STALLED_AFTER
) -> list[int]:
    """End every running import whose worker stopped: failed (cancelled, if the user had
    asked to stop it), with a message naming the rows that are in. Returns their ids.

    Ended rather than queued again: nothing tells a dead worker from one stuck on a lock,
    and two runs of one job would each take the rows after `processed`. Ending it sets
    `cancel_requested_at` too, so a run that was only slow stops before its next batch
    and writes nothing more; a redelivered task finds the job finished and leaves it."""
    cutoff = now - stalled_after
    minutes = max(1, int(stalled_after.total_seconds() // 60))
    stopped = []
    for job_id in ImportJob.objects.stalled(since=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            # A batch holds the row while it commits: skipped, it is alive after all.
            job = (
                ImportJob.objects.stalled(since=cutoff)
                .select_for_update(skip_locked=True)
                .filter(pk=job_id)
                .first()
            )
            if job is None:
                continue
            asked_to_stop = job.cancel_requested_at is not None
            if not asked_to_stop:
                job.cancel_requested_at = now
                job.save(update_fields=["cancel_requested_at"])
            status = ImportJob.Status.CANCELLED if asked_to_stop else ImportJob.Status.FAILED
            finish_run(job.pk, status, stalled_message(job, minutes=minutes))
            logger.warning(
                "import %s stalled after %s rows: ended as %s", job.pk, job.processed, status
            )
        stopped.append(job_id)
    return stopped


def imports_queue_lost(
    *,
    now: datetime.datetime,
    queue: Callable[[int], object],
    lost_after: datetime.timedelta = STALLED_AFTER,
) -> list[int]:
    """Queue again the run of every import still waiting `lost_after` after it was queued:
    the broker took the task and lost it (a Redis restarted without persistence), or no
    worker of the "imports" queue has been up since. Returns their ids.

    Safe even when the first task was only slow to come: two runs of one job never both
    write a batch (`imports.run._run_batch` checks the job's row count on the locked row),
    and a run that finds the job finished leaves it. `queued_at` moves to now, so a job is
    queued again once per `lost_after`, not on every tick. `queue(job_id)` hands the run
    to the broker, after the commit (`imports.tasks` passes it: this module is below it)."""

    waiting = ImportJob.objects.filter(
        status=ImportJob.Status.PENDING,
        started_at__isnull=True,
        cancel_requested_at__isnull=True,
        queued_at__lt=now - lost_after,
    )
    queued = []
    for job_id in waiting.values_list("pk", flat=True):
        with transaction.atomic():
            # The WHERE is checked again on the row: a run that began, a cancel, or another
            # watchdog that queued it first leaves nothing to update.
            if not waiting.filter(pk=job_id).update(queued_at=now):
                continue
            transaction.on_commit(partial(queue, job_id))
        logger.warning("import %s waited since before %s: its run is queued again", job_id, now)
        queued.append(job_id)
    return queued


def stalled_message(job: ImportJob, *, minutes: int) -> str:
    """Why the import ended and exactly which rows of the file are in."""
    stopped = ngettext(
        "The import stopped: its worker wrote nothing for %(minutes)d minute.",
        "The import stopped: its worker wrote nothing for %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    if not job.processed:
        rows = _("No row of the file was imported.")
    else:
        rows = _(
            "Rows 2 to %(last)s of the file are in (%(done)s of %(total)s rows); nothing "
            "after row %(last)s was imported."
        ) % {
            "last": f"{job.last_row:,}",
            "done": f"{job.processed:,}",
            "total": f"{job.total:,}",
        }
    again = _(
        "Upload the file again to import the rest: leads already in are recognised and not "
        "added twice."
    )
    return f"{stopped} {rows} {again}"
