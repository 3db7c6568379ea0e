"""What a user's walk-through of the CSV import found: a remembered date format beating the
file's own, our own export not mapping back, a broken entity in the preview, an upload
left at its mapping looking like a waiting run, website URLs and employee ranges, the
owner rule's wording, the API naming its problems one round at a time, problems named by
field keys, a date note with no date column, an owner and a team both chosen, a started
message outliving the run, and a skipped row with no reason."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from imports.columns import auto_map, segment_index, source_index, status_index
from imports.config import ImportConfig
from imports.models import ImportJob
from imports.run import PreviewRow, import_preview, import_run
from imports.services import config_problems, import_start
from leads.exports import lead_export_header, lead_export_rows
from leads.models import Lead
from tests.factories import LeadFactory, UserFactory
from tests.imports.conftest import SALESFORCE, csv_bytes, sf_row, upload
from tests.imports.test_views import _mapping_post

pytestmark = pytest.mark.django_db
API = "/api/v1/imports/"
CREATED = SALESFORCE.index("Created Date")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _start(job: ImportJob, by, **changes) -> ImportJob:
    config = ImportConfig.of(job)
    for name, value in changes.items():
        setattr(config, name, value)
    import_start(job_id=job.pk, by=by, config=config)
    job.refresh_from_db()
    return job


# --- 1. the file's own date format wins over a remembered one ---------------------------------


def test_a_remembered_day_first_format_does_not_override_an_iso_file(revops, sdrs):
    # given a day/month/year file whose mapping is remembered for these headers
    earlier = upload(revops, csv_bytes([sf_row(1, Created_Date="25/01/2026")]))
    assert earlier.date_formats[str(CREATED)] == "dmy"
    _start(earlier, revops)
    # when a file with the same headers writes its dates year first
    job = upload(revops, csv_bytes([sf_row(2, Created_Date="2026-01-10")]))
    # then its own format is proposed, and every row goes in
    assert job.date_formats[str(CREATED)] == "iso"
    _start(job, revops)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.created, job.failed) == (1, 0)
    lead = Lead.objects.get(email="ana2@nusantara.example")
    assert lead.created_at.date() == datetime.date(2026, 1, 10)


def test_a_remembered_format_settles_only_a_column_the_file_leaves_ambiguous(revops, sdrs):
    _start(upload(revops, csv_bytes([sf_row(1, Created_Date="25/01/2026")])), revops)
    # 05/01 and 03/02 read either way: the earlier file's day-first order decides
    ambiguous = upload(
        revops,
        csv_bytes([sf_row(2, Created_Date="05/01/2026"), sf_row(3, Created_Date="03/02/2026")]),
    )
    assert ambiguous.date_formats[str(CREATED)] == "dmy"
    # 01/25 is month first, whatever was remembered
    month_first = upload(revops, csv_bytes([sf_row(2, Created_Date="01/25/2026")]))
    assert month_first.date_formats[str(CREATED)] == "mdy"


def test_the_api_reads_an_iso_file_after_a_day_first_one_without_a_date_format(
    revops, sdrs, django_capture_on_commit_callbacks
):
    _start(upload(revops, csv_bytes([sf_row(1, Created_Date="25/01/2026")])), revops)
    content = csv_bytes([sf_row(2, Created_Date="2026-01-10")])
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(revops).post(
            API, {"file": SimpleUploadedFile("iso.csv", content)}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created, job.failed) == ("done", 1, 0)


# --- 2. our own lead export maps back, column by column ---------------------------------------

EXPORT_TARGETS = {
    "Company": "company_name", "Company web domain": "company_domain", "Industry": "industry",
    "Employees": "employee_count", "Segment": "segment", "Territory": "territory",
    "Country": "country", "First name": "first_name", "Last name": "last_name",
    "Job title": "job_title", "E-mail": "email", "Phone": "phone", "Status": "status",
    "Source": "source", "Campaign": "campaign", "Lead score": "score", "Owner": "owner",
    "Created": "created_at",
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_lead_export_header_maps_back_completely(language):
    with translation.override("en"):
        english = lead_export_header()
    with translation.override(language):
        header = lead_export_header()
    # every column the export writes of an importable field maps back to it; the rest
    # (ID, AE, Team, the other instants) are left out
    expected = [EXPORT_TARGETS.get(name, "") for name in english]
    assert set(EXPORT_TARGETS) <= set(english)
    assert dict(zip(header, auto_map(header), strict=True)) == dict(
        zip(header, expected, strict=True)
    )


def test_our_picklist_labels_read_back_in_every_language():
    assert source_index()["lainnya"] == "other"  # Indonesian "Other"
    assert segment_index()["ukm"] == "smb"
    assert segment_index()["menengah"] == "mid"
    assert status_index()["baru"] == "mql"  # "New", as in English
    assert status_index()["dikonversi"] == ""  # "Converted": cannot come in


@pytest.mark.parametrize("language", ["en", "id"])
def test_an_export_imports_back_with_its_web_domain(run_import, revops, sdrs, language):
    # given a lead exported, then its web domain lost
    LeadFactory(company_domain="empco.example", email="budi@empco.example", owner=sdrs[0])
    with translation.override(language):
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(lead_export_header())
        writer.writerows(lead_export_rows(Lead.objects.all(), zone=datetime.UTC))
    Lead.objects.update(company_domain="")
    # when the export is imported back, filling blanks
    job = run_import(text.getvalue().encode(), on_duplicate="fill")
    # then the domain is back
    assert (job.updated, job.failed) == (1, 0), list(job.row_errors.values("problems"))
    assert Lead.objects.get().company_domain == "empco.example"


# --- 3. the preview cuts the text before escaping it ------------------------------------------


def test_the_preview_never_cuts_an_html_entity(client, revops, sdrs):
    # "Ana1 · Pérez1 · " is 16 characters: the apostrophe is the 117th, where the escaped
    # text ("&#x27;") used to be cut
    company = "x" * 100 + "'s Holdings"
    job = upload(revops, csv_bytes([sf_row(1, Company=company)]))
    client.force_login(revops)
    page = client.post(reverse("imports:mapping", args=[job.pk]), _mapping_post(job, "preview"))
    cells = re.findall(r'import-samples" title="[^"]*">([^<]*)<', page.content.decode())
    assert cells and cells[0].endswith("x&#x27;s …")
    assert not re.search(r"&#?x?[0-9A-Fa-f]*…", cells[0])  # no entity cut short


def test_a_preview_row_is_cut_as_text():
    row = PreviewRow(2, ["a" * 115, "'b'"], "created", ())
    assert row.summary == "a" * 115 + " · '…"


# --- 4. an upload left at its mapping says so --------------------------------------------------


def test_an_upload_not_started_says_so_and_leads_back_to_its_mapping(client, revops):
    job = upload(revops, csv_bytes([sf_row(1)]))
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Not started" in page and "Waiting" not in page
    assert f'href="{reverse("imports:mapping", args=[job.pk])}"' in page
    assert 'data-testid="continue-mapping"' in page
    assert "Cancel import" not in page and "Discard the upload" in page
    assert "hx-trigger" not in page  # nothing to follow until it starts
    listing = client.get(reverse("imports:list")).content.decode()
    assert "Not started" in listing
    # the API's status stays as it was
    assert _api(revops).get(f"{API}{job.pk}/").json()["status"] == "pending"


def test_a_queued_import_is_waiting_not_unstarted(client, revops):
    job = upload(revops, csv_bytes([sf_row(1)]))
    ImportJob.objects.filter(pk=job.pk).update(queued_at=job.created_at)
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Waiting" in page and 'data-testid="continue-mapping"' not in page
    assert "The import has started." in page


# --- 5. website URLs and employee ranges ------------------------------------------------------

WEB = ["Company", "Last Name", "Email", "Website", "Employees"]


def test_a_website_is_stored_as_its_domain(run_import, sdrs):
    rows = [
        ["Empco", "Lee", "lee@empco.example", "https://www.empco.example/", "800"],
        ["Acme", "Kim", "kim@acme.example", "acme.example", "12"],
        ["Nope", "Ng", "ng@nope.example", "n/a", ""],
    ]
    job = run_import(csv_bytes(rows, header=WEB), default_source="inbound")
    assert job.created == 3
    domains = dict(Lead.objects.values_list("company_name", "company_domain"))
    assert domains == {"Empco": "empco.example", "Acme": "acme.example", "Nope": "n/a"}


def test_an_employee_range_keeps_its_lower_end_and_the_preview_says_so(revops, sdrs):
    rows = [
        ["Empco", "Lee", "lee@empco.example", "", "500-1000"],
        ["Acme", "Kim", "kim@acme.example", "", "1,200"],
    ]
    job = upload(revops, csv_bytes(rows, header=WEB))
    config = ImportConfig.of(job)
    config.default_source = "inbound"
    ranged, plain = import_preview(job, config, by=revops)
    assert ranged.outcome == "created"
    [note] = ranged.notes
    assert (note.column, note.warning) == ("Employees", True)
    assert "500-1000" in note.message and "500 employees" in note.message
    assert plain.notes == ()


# --- 6. the owner rule, as it is --------------------------------------------------------------


def test_an_ae_as_default_owner_is_told_the_actual_rule(revops):
    ae = UserFactory(role="ae", first_name="Kevin", last_name="Tan")
    payload = {"file": SimpleUploadedFile("a.csv", csv_bytes([sf_row(1)])), "default_owner": ae.pk}
    response = _api(revops).post(API, payload, format="multipart")
    assert response.status_code == 400
    [error] = [e for e in response.json()["errors"] if e["field"] == "default_owner"]
    assert error["code"] == "not_an_sdr"
    assert "Kevin Tan" in error["message"] and "SDR or manager" in error["message"]


# --- 7. the API names every problem at once ---------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"mapping": {"Nope": "email", "Company": ""}, "on_duplicate": "merge"},
            {
                ("mapping.Nope", "unknown_column"),
                ("company_name", "unmapped"),
                ("on_duplicate", "invalid_choice"),
            },
        ),
        (
            {"mapping": {"Email": "salary"}, "date_format": "ymd", "default_campaign": "x" * 151},
            {
                ("mapping.Email", "invalid_choice"),
                ("date_format", "invalid_choice"),
                ("default_campaign", "max_length"),
            },
        ),
        (
            {"mapping": "{not json", "on_duplicate": "merge", "file": b"%PDF-1.4"},
            {("mapping", "invalid"), ("on_duplicate", "invalid_choice"), ("file", "not_csv")},
        ),
    ],
)
def test_the_api_names_every_problem_at_once(revops, payload, expected):
    data = {"file": csv_bytes([sf_row(1)]), **payload}
    data["file"] = SimpleUploadedFile("a.csv", data["file"])
    if isinstance(data.get("mapping"), dict):
        data["mapping"] = json.dumps(data["mapping"])
    response = _api(revops).post(API, data, format="multipart")
    assert response.status_code == 400
    found = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert expected <= found, found
    assert not ImportJob.objects.exists()  # nothing half-made


# --- 8. wording and layout --------------------------------------------------------------------


def test_preview_problems_are_named_by_the_files_columns(client, revops, sdrs):
    job = upload(revops, csv_bytes([sf_row(1, Company="", Email="nope")]))
    client.force_login(revops)
    page = client.post(reverse("imports:mapping", args=[job.pk]), _mapping_post(job, "preview"))
    body = page.content.decode()
    assert '<strong class="import-note-column">Company:</strong> Enter the company name.' in body
    assert '<strong class="import-note-column">Email:</strong> Enter a valid email' in body
    assert "company_name" not in re.sub(r"<select.*?</select>", "", body, flags=re.S)


def test_the_error_file_names_the_column_as_the_file_does(client, run_import, revops):
    header = ["Organisation", "Surname", "Mail", "Lead Source"]
    job = run_import(csv_bytes([["", "Lee", "nope", "Web"]], header=header))
    client.force_login(revops)
    text = b"".join(client.get(reverse("imports:errors", args=[job.pk])).streaming_content)
    problems = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))[1][-1]
    assert "Organisation: Enter the company name." in problems
    assert "Mail: Enter a valid email address." in problems
    assert "company_name" not in problems and "[invalid]" not in problems


def test_the_date_note_shows_only_with_a_created_date_column(client, revops):
    client.force_login(revops)
    header = ["Company", "Last Name", "Email", "Lead Source"]
    without = upload(revops, csv_bytes([["Acme", "Lee", "lee@acme.example", "Web"]], header=header))
    body = client.get(reverse("imports:mapping", args=[without.pk])).content.decode()
    assert re.search(
        r'data-shown-with="created_at" hidden class="mb-3" data-testid="date-format"', body
    )
    with_dates = upload(revops, csv_bytes([sf_row(1)]))
    body = client.get(reverse("imports:mapping", args=[with_dates.pk])).content.decode()
    assert 'data-shown-with="created_at" class="mb-3" data-testid="date-format"' in body
    # mapped on the page and previewed: shown
    post = _mapping_post(without, "preview", col_3="created_at")
    body = client.post(reverse("imports:mapping", args=[without.pk]), post).content.decode()
    assert 'data-shown-with="created_at" class="mb-3"' in body


def test_an_owner_and_a_team_together_are_refused_naming_both(revops, sdrs):
    job = upload(revops, csv_bytes([sf_row(1)]))
    config = ImportConfig.of(job)
    config.default_owner, config.default_team = sdrs[0], sdrs[0].team
    problems = config_problems(job, config, by=revops)
    [problem] = [p for p in problems if p.code == "owner_and_team"]
    assert problem.field == "default_team"
    assert "owner" in problem.message and "team" in problem.message


def test_the_started_message_shows_only_while_the_import_runs(
    client, revops, sdrs, django_capture_on_commit_callbacks
):
    client.force_login(revops)
    job = upload(revops, csv_bytes([sf_row(1)]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:mapping", args=[job.pk]), _mapping_post(job, "start"))
    job.refresh_from_db()
    assert job.status == "done"  # Celery runs eagerly here, after the commit
    body = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "The import has started." not in body
    ImportJob.objects.filter(pk=job.pk).update(status="running", finished_at=None)
    card = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "The import has started." in card


def test_a_row_skipped_as_an_earlier_rows_person_says_so(revops, sdrs):
    LeadFactory(email="ana9@nusantara.example")
    rows = [sf_row(1), sf_row(2), sf_row(1, Phone="+62 1"), sf_row(9)]
    job = upload(revops, csv_bytes(rows))
    preview = import_preview(job, ImportConfig.of(job), by=revops)
    assert [p.outcome for p in preview] == ["created", "created", "skipped", "skipped"]
    assert [n.message for n in preview[2].notes] == [
        "The same person as row 2 of the file: a person is added once."
    ]
    lead = Lead.objects.get(email="ana9@nusantara.example")
    assert [n.message for n in preview[3].notes] == [
        f"This person already has a lead (#{lead.pk}): it is kept as it is."
    ]


def test_the_job_page_says_why_rows_were_skipped(client, run_import, revops):
    job = run_import(csv_bytes([sf_row(1), sf_row(1, Phone="+62 1")]))
    assert job.skipped == 1
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "appear again further down the file" in page


@pytest.mark.parametrize(
    ("text", "count"),
    [("1k-5k", 1_000), ("1.5K", 1_500), ("2m+", 2_000_000), ("51-200", 51), ("10,001+", 10_001)],
)
def test_employee_counts_written_short_or_as_ranges(text, count):
    from imports.rows import RowReader
    from leads.services.bulk_rows import BulkRow

    reader = RowReader.__new__(RowReader)  # the conversion of one value needs no file
    row = BulkRow(data={})
    reader._employees(text, 0, row)
    assert row.data["employee_count"] == count
