"""The watchdog: a running import whose worker died (no batch written for minutes) is
ended as failed with the rows that are in named, in the browser and the API; a live one
is left alone; a run that was only slow writes nothing more once it has been ended."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from imports import run as run_module
from imports.config import ImportConfig
from imports.models import ImportJob
from imports.run import import_run
from imports.services import import_cancel, import_start
from imports.tasks import import_watchdog_task
from imports.watchdog import imports_queue_lost, imports_stop_stalled
from leads.models import Lead
from tests.imports.conftest import csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


def _killed_after_one_batch(revops, monkeypatch, rows: int = 5) -> ImportJob:
    """A run whose worker was killed (SIGKILL: no `except` runs) after its first batch of
    two rows: the job says running, with rows 2 and 3 of the file in."""
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(rows)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    original = run_module._run_batch
    calls = []

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", killed)
    with pytest.raises(KeyboardInterrupt):
        import_run(job_id=job.pk)
    monkeypatch.setattr(run_module, "_run_batch", original)
    job.refresh_from_db()
    assert (job.status, job.processed, job.last_row) == ("running", 2, 3)
    return job


def _beat(job: ImportJob) -> datetime.datetime:
    assert job.updated_at is not None
    return job.updated_at


def test_each_batch_is_a_heartbeat(revops, sdrs, monkeypatch):
    before = timezone.now()
    job = _killed_after_one_batch(revops, monkeypatch)
    assert job.started_at is not None
    assert _beat(job) >= before >= job.started_at - MINUTE


def test_a_dead_run_is_failed_naming_the_rows_that_are_in(revops, sdrs, monkeypatch):
    # given a run whose worker died after its first batch
    job = _killed_after_one_batch(revops, monkeypatch)
    # when nothing was written for nine minutes, then for eleven
    assert imports_stop_stalled(now=_beat(job) + 9 * MINUTE) == []
    stopped = imports_stop_stalled(now=_beat(job) + 11 * MINUTE)
    # then it is failed, and says exactly which rows are in
    assert stopped == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.processed, job.created, job.last_row) == ("failed", 2, 2, 3)
    assert job.finished_at is not None and not job.chunks.exists()
    assert job.error.startswith("The import stopped: its worker wrote nothing for 10 minutes.")
    assert "Rows 2 to 3 of the file are in (2 of 5 rows); nothing after row 3" in job.error
    assert Lead.objects.count() == 2
    # a redelivered task (or a run that was only slow) finds it ended and adds nothing
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("failed", 2) and Lead.objects.count() == 2


def test_a_slow_run_ended_by_the_watchdog_stops_before_its_next_batch(revops, sdrs, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(5)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    original = run_module._run_batch
    calls = []

    def stuck_then_going(job_id, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second batch waited on a lock for a quarter of an hour
            imports_stop_stalled(now=timezone.now() + 15 * MINUTE)
        return original(job_id, *args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", stuck_then_going)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created) == ("failed", 2, 2)
    assert Lead.objects.count() == 2


def test_a_live_or_finished_import_is_left_alone(revops, sdrs, run_import):
    done = run_import(csv_bytes([sf_row(1)]))
    waiting = upload(revops, csv_bytes([sf_row(2)]))
    import_start(job_id=waiting.pk, by=revops, config=ImportConfig.of(waiting))
    assert imports_stop_stalled(now=timezone.now() + datetime.timedelta(days=1)) == []
    done.refresh_from_db()
    waiting.refresh_from_db()
    assert (done.status, waiting.status) == ("done", "pending")


def test_a_dead_run_the_user_asked_to_stop_ends_cancelled(revops, sdrs, monkeypatch):
    job = _killed_after_one_batch(revops, monkeypatch)
    import_cancel(job_id=job.pk, by=revops)  # "Stopping…" forever: no worker to stop it
    job.refresh_from_db()
    imports_stop_stalled(now=_beat(job) + 11 * MINUTE)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("cancelled", 2)
    assert "Rows 2 to 3 of the file are in" in job.error


def test_a_dead_run_before_its_first_batch_says_no_row_is_in(revops, sdrs):
    job = upload(revops, csv_bytes([sf_row(1)]))
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", queued_at=long_ago, started_at=long_ago, updated_at=long_ago
    )
    assert import_watchdog_task(minutes=30) == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed"
    assert "for 30 minutes. No row of the file was imported." in job.error


def test_the_browser_and_the_api_show_why_and_which_rows(client, revops, sdrs, monkeypatch):
    job = _killed_after_one_batch(revops, monkeypatch)
    imports_stop_stalled(now=_beat(job) + 11 * MINUTE)
    api = APIClient()
    api.force_authenticate(revops)
    body = api.get(f"/api/v1/imports/{job.pk}/").json()
    assert (body["status"], body["processed"], body["last_row"]) == ("failed", 2, 3)
    assert "Rows 2 to 3 of the file are in" in body["error"]
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert 'data-status="failed"' in page
    assert "its worker wrote nothing for 10 minutes" in page
    assert "hx-trigger" not in page  # the progress card stops polling


def test_beat_runs_the_watchdog_every_minute_off_the_imports_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["import-watchdog"]
    assert entry["task"] == import_watchdog_task.name
    assert entry["schedule"] == 60.0
    assert entry["options"]["queue"] != "imports"  # that worker may be the dead one


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_batch_is_committing_is_left_alone(revops):
    """A batch holds the job's row while it commits (however long): the watchdog skips it
    rather than wait for it or end a run that is alive."""
    import threading

    from django.db import connection, connections, transaction

    job = upload(revops, csv_bytes([sf_row(1)]))
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", started_at=long_ago, updated_at=long_ago
    )
    done = threading.Event()
    stopped: list[list[int]] = []

    def watchdog() -> None:
        try:
            stopped.append(imports_stop_stalled(now=timezone.now()))
        finally:
            connections["default"].close()
            done.set()

    with transaction.atomic():
        ImportJob.objects.select_for_update().get(pk=job.pk)  # the batch, committing
        thread = threading.Thread(target=watchdog)
        thread.start()
        assert done.wait(timeout=10)
    thread.join()
    assert stopped == [[]]
    assert ImportJob.objects.get(pk=job.pk).status == "running"
    assert imports_stop_stalled(now=timezone.now()) == [job.pk]  # once the lock is gone
    assert connection.vendor == "postgresql"


def test_a_run_the_broker_lost_is_queued_again_and_runs_once(
    revops, sdrs, monkeypatch, django_capture_on_commit_callbacks
):
    # given an import queued, whose task the broker took and lost: no run ever began
    job = upload(revops, csv_bytes([sf_row(n) for n in range(3)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    job.refresh_from_db()
    assert (job.status, job.started_at) == ("pending", None) and job.queued_at is not None
    published = []

    def queue(job_id):
        published.append({"job_id": job_id})

    # when the watchdog looks after nine minutes, then after eleven
    assert imports_queue_lost(now=job.queued_at + 9 * MINUTE, queue=queue) == []
    later = job.queued_at + 11 * MINUTE
    with django_capture_on_commit_callbacks(execute=True):
        assert imports_queue_lost(now=later, queue=queue) == [job.pk]
    # then its run is queued again, once per ten minutes, not on every tick
    assert published == [{"job_id": job.pk}]
    job.refresh_from_db()
    assert job.queued_at == later
    assert imports_queue_lost(now=later + MINUTE, queue=queue) == []
    # and should the lost task turn up after all, the two runs take the file in once
    import_run(job_id=job.pk)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created) == ("done", 3, 3)
    assert Lead.objects.count() == 3


def test_a_cancelled_or_started_import_is_not_queued_again(revops, sdrs, monkeypatch):
    cancelled = upload(revops, csv_bytes([sf_row(1)]))
    import_start(job_id=cancelled.pk, by=revops, config=ImportConfig.of(cancelled))
    import_cancel(job_id=cancelled.pk, by=revops)
    started = _killed_after_one_batch(revops, monkeypatch)
    assert imports_queue_lost(now=timezone.now() + datetime.timedelta(hours=1), queue=print) == []
    assert started.status == "running"


def test_two_runs_of_one_job_never_both_write_a_batch(revops, sdrs, monkeypatch):
    # given a run that, while on its second batch, meets a second delivery of its task
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(5)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    original = run_module._run_batch
    calls = []

    def overtaken(job_id, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the other delivery runs the rest of the file meanwhile
            import_run(job_id=job_id)
        return original(job_id, *args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", overtaken)
    # when the first run goes on
    import_run(job_id=job.pk)
    # then it wrote nothing the other had written: every row in once, counted once
    job.refresh_from_db()
    assert (job.status, job.processed, job.created, job.failed) == ("done", 5, 5, 0)
    assert Lead.objects.count() == 5
