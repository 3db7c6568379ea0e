"""The run: rows in, failed rows in the error file with the API's codes, counts that add
up, historical dates kept, re-importing adding nothing, cancelling between batches, and a
restarted run neither skipping nor repeating a row."""

from __future__ import annotations

import datetime

import pytest

from crm.models import Notification
from imports import run as run_module
from imports.config import ImportConfig
from imports.models import ImportRowError
from imports.run import import_preview, import_run
from imports.services import import_cancel, import_start
from leads.models import Lead, LeadEvent
from sla.models import SlaTimer
from tests.factories import LeadFactory
from tests.imports.conftest import csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db


def test_a_salesforce_export_goes_in_routed_with_clocks_and_its_own_dates(run_import, sdrs):
    content = csv_bytes([sf_row(1, Created_Date="2023-11-05"), sf_row(2, Lead_Source="Trade Show")])
    job = run_import(content)
    assert (job.status, job.total, job.processed, job.created, job.failed) == ("done", 2, 2, 2, 0)
    first, second = Lead.objects.order_by("pk")
    assert first.created_at.date() == datetime.date(2023, 11, 5)
    assert (first.source, second.source) == ("inbound", "event")
    assert {first.owner, second.owner} == set(sdrs)  # round robin
    assert first.status == "mql" and first.company_name == "PT Nusantara 1"
    assert SlaTimer.objects.filter(lead=first, stopped_at__isnull=True).count() == 2
    assert LeadEvent.objects.filter(lead=first, kind="created", note="import").exists()
    # each owner is told once, for the whole import
    assert Notification.objects.filter(kind="assignment").count() == 2
    assert not job.chunks.exists()  # the file is let go


def test_failed_rows_keep_their_values_and_name_their_problems(run_import):
    content = csv_bytes(
        [
            sf_row(1),
            sf_row(2, Company="", Email="not-an-address"),
            sf_row(3, Created_Date="31/31/2024"),
            sf_row(4, Lead_Status="Closed - Converted"),
        ]
    )
    job = run_import(content)
    assert (job.created, job.failed, job.processed) == (1, 3, 4)
    errors = {e.row: e for e in ImportRowError.objects.filter(job=job)}
    assert sorted(errors) == [3, 4, 5]
    assert errors[3].values == sf_row(2, Company="", Email="not-an-address")
    assert [p["code"] for p in errors[3].problems] == ["required", "invalid"]
    assert errors[3].problems[0] == {
        "code": "required",
        "field": "company_name",
        "message": "Enter the company name.",
    }
    assert errors[4].problems[0]["code"] == "invalid_date"
    assert errors[5].problems[0]["code"] == "status_not_importable"


def test_importing_the_same_file_again_creates_nothing(run_import):
    content = csv_bytes([sf_row(n) for n in range(5)] + [sf_row(9, Email="", Phone="+62 812 9")])
    first = run_import(content)
    leads = Lead.objects.count()
    events = LeadEvent.objects.count()
    again = run_import(content)
    assert first.created == 6
    assert (again.created, again.skipped) == (0, 6)
    assert (Lead.objects.count(), LeadEvent.objects.count()) == (leads, events)


@pytest.mark.parametrize(
    ("mode", "phone"), [("skip", ""), ("fill", "+62 1"), ("overwrite", "+62 1")]
)
def test_on_duplicate(run_import, mode, phone):
    lead = LeadFactory(email="ana1@nusantara.example", phone="", company_name="Old name")
    job = run_import(csv_bytes([sf_row(1, Phone="+62 1")]), on_duplicate=mode)
    lead.refresh_from_db()
    assert lead.phone == phone
    assert lead.company_name == ("PT Nusantara 1" if mode == "overwrite" else "Old name")
    assert (job.updated, job.skipped) == ((0, 1) if mode == "skip" else (1, 0))


def test_a_dry_run_counts_and_writes_no_lead(run_import):
    job = run_import(csv_bytes([sf_row(1), sf_row(2, Company="")]), dry_run=True)
    assert (job.status, job.created, job.failed) == ("done", 1, 1)
    assert not Lead.objects.exists()
    assert ImportRowError.objects.filter(job=job).count() == 1


def test_the_preview_shows_each_rows_fate(revops, sdrs):
    LeadFactory(email="ana1@nusantara.example")
    job = upload(revops, csv_bytes([sf_row(1), sf_row(2), sf_row(3, Last_Name="")]))
    preview = import_preview(job, ImportConfig.of(job), by=revops)
    assert [(p.row, p.outcome) for p in preview] == [(2, "skipped"), (3, "created"), (4, "failed")]
    assert preview[2].problems[0].field == "last_name"
    assert not Lead.objects.filter(email__startswith="ana2").exists()


def test_cancel_stops_between_batches_and_says_which_rows_are_in(run_import, revops, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(7)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    calls = []
    original = run_module._run_batch

    def cancelling(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # a user cancels while the second batch is under way
            import_cancel(job_id=job.pk, by=revops)
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", cancelling)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert (job.processed, job.created, job.last_row) == (2, 2, 3)
    assert Lead.objects.count() == 2


def _crash_on_second_batch(monkeypatch, error: BaseException) -> None:
    original = run_module._run_batch
    calls = []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_batch", crashing)


def test_an_error_keeps_the_committed_batches(revops, sdrs, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(5)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    _crash_on_second_batch(monkeypatch, RuntimeError("database went away"))
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created, job.last_row) == ("failed", 2, 2, 3)
    assert "RuntimeError" in job.error
    assert Lead.objects.count() == 2


def test_a_run_whose_worker_died_resumes_after_its_last_batch(revops, sdrs, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_SIZE", 2)
    job = upload(revops, csv_bytes([sf_row(n) for n in range(5)]))
    import_start(job_id=job.pk, by=revops, config=ImportConfig.of(job))
    original = run_module._run_batch
    _crash_on_second_batch(monkeypatch, KeyboardInterrupt())  # the process is killed
    with pytest.raises(KeyboardInterrupt):
        import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("running", 2)
    monkeypatch.setattr(run_module, "_run_batch", original)
    import_run(job_id=job.pk)  # Celery delivers the task again
    job.refresh_from_db()
    assert (job.status, job.processed, job.created) == ("done", 5, 5)
    assert Lead.objects.count() == 5
