"""A finished dry run is run for real from its page, without uploading the file again: a new
import with the same file, mapping and defaults (`imports.services.import_run_for_real`).
The dry run keeps its file for a day; the watchdog lets it go after that."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.exceptions import DomainError
from imports.models import ImportFileChunk, ImportJob
from imports.run import import_run
from imports.services import import_run_for_real
from imports.tasks import import_watchdog_task
from leads.models import Lead
from tests.imports.conftest import csv_bytes, sf_row

pytestmark = pytest.mark.django_db

FILE = csv_bytes([sf_row(1), sf_row(2), sf_row(3, Company="", Email="")])


def test_a_dry_run_is_run_for_real_with_its_file_and_mapping(run_import, revops):
    dry = run_import(FILE, dry_run=True, on_duplicate="fill", default_campaign="Expo 2026")
    assert ImportFileChunk.objects.filter(job=dry).exists()  # kept to be run for real

    real = import_run_for_real(job_id=dry.pk, by=revops)
    import_run(job_id=real.pk)

    real.refresh_from_db()
    assert real.pk != dry.pk and not real.dry_run
    assert (real.status, real.on_duplicate, real.default_campaign) == ("done", "fill", "Expo 2026")
    assert real.columns == dry.columns and real.date_formats == dry.date_formats
    assert (real.created, real.failed) == (dry.created, dry.failed) == (2, 1)
    assert Lead.objects.count() == 2
    dry.refresh_from_db()
    assert (dry.status, dry.created) == ("done", 2)  # the rehearsal's counts stay
    assert not ImportFileChunk.objects.exists()  # moved over, then let go by the real run
    with pytest.raises(DomainError):  # once: the file went with it
        import_run_for_real(job_id=dry.pk, by=revops)


def test_only_a_finished_dry_run_can_be_run_for_real(run_import, revops):
    real = run_import(FILE)
    with pytest.raises(DomainError):
        import_run_for_real(job_id=real.pk, by=revops)
    assert ImportJob.objects.count() == 1


def test_someone_who_may_not_import_cannot_run_it(run_import, sdrs):
    dry = run_import(FILE, dry_run=True)
    with pytest.raises(DomainError):
        import_run_for_real(job_id=dry.pk, by=sdrs[0])
    assert ImportJob.objects.count() == 1


def test_the_page_offers_it_and_the_button_starts_the_new_import(client, run_import, revops):
    dry = run_import(FILE, dry_run=True)
    client.force_login(revops)

    page = client.get(reverse("imports:detail", args=[dry.pk])).content.decode()
    response = client.post(reverse("imports:run-for-real", args=[dry.pk]))

    assert 'data-testid="run-for-real"' in page
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", args=[real.pk])
    assert real.queued_at is not None and not real.dry_run
    again = client.get(reverse("imports:detail", args=[dry.pk])).content.decode()
    assert 'data-testid="run-for-real"' not in again  # the file moved to the new import


def test_a_dry_runs_file_is_let_go_after_a_day(run_import):
    dry = run_import(FILE, dry_run=True)
    fresh = run_import(FILE, dry_run=True)
    ImportJob.objects.filter(pk=dry.pk).update(
        finished_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )

    import_watchdog_task()

    assert not ImportFileChunk.objects.filter(job=dry).exists()
    assert ImportFileChunk.objects.filter(job=fresh).exists()
