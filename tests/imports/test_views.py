"""The import pages: who sees them (403 / no button, no menu entry), upload to mapping to
preview to start, the progress card htmx polls, cancel, the error file, the setting."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.forms import MappingForm
from imports.models import ImportJob, ImportSettings, ImportSettingsChange
from imports.services import import_settings_update
from imports.views import _values_in_file
from leads.models import Lead
from tests.factories import UserFactory
from tests.imports.conftest import csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db


def _file(content: bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _mapping_post(job: ImportJob, action: str, **changes: str) -> dict[str, str]:
    """What the mapping page posts when the user changes only `changes`."""
    form = MappingForm(job=job, values=_values_in_file(job, job.columns))
    data = {name: form[name].initial for name in form.fields}
    data = {name: value for name, value in data.items() if value not in (None, False)}
    return {**data, "action": action, **changes}


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_get_403_and_see_no_entry(client, role):
    user = UserFactory(role=role)
    client.force_login(user)
    refused = client.get(reverse("imports:list"))
    assert refused.status_code == 403
    # the page says who may import and who can open it to SDRs
    assert "Importing leads is for RevOps and managers" in refused.content.decode()
    assert client.get(reverse("imports:settings")).status_code == 403
    queue = client.get(reverse("leads:list")).content.decode()
    assert 'data-testid="import-leads"' not in queue
    assert reverse("imports:list") not in queue  # nor in the sidebar


def test_an_sdr_may_import_own_leads_once_revops_allows(client, revops, sdr):
    import_settings_update(by=revops, sdrs_may_import=True)
    client.force_login(sdr)
    assert client.get(reverse("imports:list")).status_code == 200
    assert 'data-testid="import-leads"' in client.get(reverse("leads:list")).content.decode()
    job = upload(sdr, csv_bytes([sf_row(1)]))
    response = client.post(reverse("imports:mapping", args=[job.pk]), _mapping_post(job, "start"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.queued_at is not None and job.default_owner is None


@pytest.mark.parametrize("role", ["manager", "revops"])
def test_managers_and_revops_see_the_entry(client, role):
    client.force_login(UserFactory(role=role))
    page = client.get(reverse("leads:list")).content.decode()
    assert 'data-testid="import-leads"' in page
    assert client.get(reverse("imports:list")).status_code == 200


def test_upload_map_preview_start(client, revops, sdrs, django_capture_on_commit_callbacks):
    client.force_login(revops)
    content = csv_bytes([sf_row(1), sf_row(2, Company="")])
    response = client.post(reverse("imports:list"), {"file": _file(content)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "imports:mapping", args=[job.pk]
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="mapping-row"') == 8
    # the user leaves the phone column out and previews
    phone = job.headers.index("Phone")
    preview = client.post(
        reverse("imports:mapping", args=[job.pk]),
        _mapping_post(job, "preview", **{f"col_{phone}": ""}),
    )
    body = preview.content.decode()
    assert 'data-outcome="created"' in body and 'data-outcome="failed"' in body
    assert "Enter the company name." in body
    job.refresh_from_db()
    assert job.columns[phone] == "" and job.queued_at is None
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("imports:mapping", args=[job.pk]),
            _mapping_post(job, "start", **{f"col_{phone}": ""}),
        )
    assert started.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("done", 1, 1)  # Celery runs eagerly here
    card = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in card  # finished: polling stops
    assert 'data-testid="error-file"' in card


def test_a_mapping_without_a_company_is_refused_on_the_page(client, revops):
    client.force_login(revops)
    job = upload(revops, csv_bytes([sf_row(1)]))
    company = job.headers.index("Company")
    response = client.post(
        reverse("imports:mapping", args=[job.pk]),
        _mapping_post(job, "start", **{f"col_{company}": ""}),
    )
    assert response.status_code == 400
    assert "Map a column to Company." in response.content.decode()


def test_a_broken_file_is_refused_on_the_page(client, revops):
    client.force_login(revops)
    response = client.post(reverse("imports:list"), {"file": _file(b"%PDF-1.4 binary")})
    assert response.status_code == 400
    assert "PDF document" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_progress_card_polls_while_the_run_is_going(client, revops):
    client.force_login(revops)
    job = upload(revops, csv_bytes([sf_row(1), sf_row(2)]))
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed=1)
    card = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in card
    assert 'value="1" max="2"' in card and "50 %" in card


def test_cancel_from_the_page(client, revops):
    client.force_login(revops)
    job = upload(revops, csv_bytes([sf_row(1)]))
    response = client.post(reverse("imports:cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.chunks.exists()


def test_someone_elses_import_is_not_found(client, revops):
    job = upload(revops, csv_bytes([sf_row(1)]))
    client.force_login(UserFactory(manager=True))
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:cancel", args=[job.pk])).status_code == 404


def test_the_error_file(client, run_import, revops):
    rows = [sf_row(1), sf_row(2, Email="nope", Phone="=HYPERLINK(1)"), sf_row(3, Company="")]
    job = run_import(csv_bytes(rows, delimiter=";"))
    client.force_login(revops)
    response = client.get(reverse("imports:errors", args=[job.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert "leads-errors.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][-2:] == ["Row", "Problems"]
    assert [r[-2] for r in rows[1:]] == ["3", "4"]
    assert rows[1][:8] == sf_row(2, Email="nope", Phone="'=HYPERLINK(1)")  # formula neutralized
    assert rows[1][-1] == "Email: Enter a valid email address."
    assert rows[2][-1] == "Company: Enter the company name."
    # fixed and sent back, the error file is a file to import
    fixed = text.replace("nope", "ana2@x.example").replace(";;Row", ";;Row").encode()
    again = run_import(fixed)
    assert again.created == 1 and Lead.objects.filter(phone="=HYPERLINK(1)").exists()


def test_settings_page_revops_edits_managers_read(client, revops, manager):
    client.force_login(manager)
    page = client.get(reverse("imports:settings"))
    assert page.status_code == 200 and 'data-testid="read-only"' in page.content.decode()
    assert client.post(reverse("imports:settings"), {"sdrs_may_import": "on"}).status_code == 403
    client.force_login(revops)
    assert client.post(reverse("imports:settings"), {"sdrs_may_import": "on"}).status_code == 302
    assert ImportSettings.objects.get().sdrs_may_import
    change = ImportSettingsChange.objects.get()
    assert (change.old, change.new, change.actor) == (
        {"sdrs_may_import": False},
        {"sdrs_may_import": True},
        revops,
    )
    hub = client.get(reverse("settings")).content.decode()
    assert reverse("imports:settings") in hub
