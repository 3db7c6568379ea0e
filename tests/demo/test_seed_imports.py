"""After `seed_demo`, RevOps and managers find past imports on the Import leads page: a
finished migration with its error file, a dry run, a cancelled import; and the demo still
has exactly the leads asked for."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import User
from imports.models import ImportJob
from leads.models import Lead
from tests.demo.seeding import NOW, seed


@pytest.fixture
def seeded_imports(db: None) -> None:
    seed(leads=300)


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_seed_leaves_import_history_and_no_extra_lead(seeded_imports: None) -> None:
    assert Lead.objects.filter(is_demo=True).count() == 300
    jobs = {job.file_name: job for job in ImportJob.objects.all()}
    migration = jobs["salesforce-leads-export.csv"]
    assert migration.status == "done" and migration.created_by.username == "revops"
    assert migration.created > 0 and migration.updated > 0 and migration.skipped > 0
    assert migration.failed == 3 and migration.processed == migration.total
    assert (
        migration.created + migration.updated + migration.skipped + migration.failed
        == migration.total
    )
    assert jobs["webinar-attendees-hubspot.csv"].dry_run
    assert jobs["hubspot-contacts-all.csv"].status == "cancelled"
    assert all(job.created_at < job.finished_at <= NOW for job in jobs.values())


def test_revops_sees_the_imports_and_downloads_the_error_file(seeded_imports: None) -> None:
    client = _client("revops")
    page = client.get(reverse("imports:list"))
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="import-row"') == 3
    migration = ImportJob.objects.get(file_name="salesforce-leads-export.csv")
    detail = client.get(reverse("imports:detail", args=[migration.pk])).content.decode()
    assert 'data-testid="error-file"' in detail
    response = client.get(reverse("imports:errors", args=[migration.pk]))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="salesforce-leads-export-errors.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:2] == ["First Name", "Last Name"] and header[-2:] == ["Row", "Problems"]
    assert len(rows) == 3
    assert any("A lead cannot come in as" in row[-1] for row in rows)


def test_a_manager_sees_their_own_dry_run(seeded_imports: None) -> None:
    page = _client("manager").get(reverse("imports:list")).content.decode()
    assert "webinar-attendees-hubspot.csv" in page
    assert "dry run" in page
