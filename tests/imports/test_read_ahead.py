"""The run reads the file one batch ahead in a thread when it runs as a worker does (in no
transaction, PostgreSQL): the same rows in, in file order, batch by batch, and the
reader's problems worded as in line; a cancelled run stops the reader too."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from imports import ahead, run
from imports.config import ImportConfig
from imports.models import ImportJob, ImportRowError
from imports.run import import_run
from imports.services import import_start
from leads.models import Lead
from tests.imports.conftest import csv_bytes, sf_row, upload


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_in_no_transaction_reads_ahead_and_takes_every_row_in_order(
    sdrs, revops, monkeypatch
):
    # given a file of three batches, one row of which has a date that does not exist
    monkeypatch.setattr(run, "BATCH_SIZE", 4)
    rows = [sf_row(n) for n in range(10)]
    rows[5] = sf_row(5, Created_Date="2024-02-31")
    job = upload(revops, csv_bytes(rows))
    threads: list[str] = []
    original = run._converted

    def converted(*args, **kwargs):
        threads.append(threading.current_thread().name)
        yield from original(*args, **kwargs)

    monkeypatch.setattr(run, "_converted", converted)
    # when it runs as a worker runs it (the eager task, after the start's commit)
    assert not connection.in_atomic_block
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    job = import_run(job_id=job.pk)  # already done: left as it is
    # then the file was read in the reading thread, and every row is in, in file order
    assert threads == ["import-read-ahead"]
    assert (job.status, job.processed, job.created, job.failed) == ("done", 10, 9, 1)
    emails = list(Lead.objects.order_by("pk").values_list("email", flat=True))
    assert emails == [f"ana{n}@nusantara.example" for n in range(10) if n != 5]
    (error,) = ImportRowError.objects.filter(job=job)
    assert error.row == 7
    assert [p["code"] for p in error.problems] == ["invalid_date"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_stops_its_reader(sdrs, revops, monkeypatch):
    monkeypatch.setattr(run, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(8)]))
    batches = 0
    original = run._run_batch

    def cancel_after_first(job_id, *args, **kwargs):
        nonlocal batches
        batches += 1
        if batches == 2:
            ImportJob.objects.filter(pk=job_id).update(cancel_requested_at=job.created_at)
        return original(job_id, *args, **kwargs)

    monkeypatch.setattr(run, "_run_batch", cancel_after_first)
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.status, job.processed, Lead.objects.count()) == ("cancelled", 2, 2)
    assert not [t for t in threading.enumerate() if t.name == "import-read-ahead"]


def test_an_error_while_reading_ahead_is_raised_to_the_run(monkeypatch):
    monkeypatch.setattr(ahead.connection, "vendor", "postgresql", raising=False)
    monkeypatch.setattr(ahead.connection, "in_atomic_block", False, raising=False)
    monkeypatch.setattr(ahead.connection, "close", lambda: None, raising=False)

    def broken():
        yield 1
        raise ValueError("unreadable")

    items = []
    with pytest.raises(ValueError, match="unreadable"):
        items.extend(ahead.read_ahead(broken))
    assert items == [1]
