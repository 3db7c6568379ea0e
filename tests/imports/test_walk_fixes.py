"""What the QA walk of the imports found (items 5 to 11 of its report): day-first dates,
HubSpot's score and "Referrals", a fill-in row that leaves out what the lead has, the
error file's language and wording, a binary file, the SDR's mapping page and preview."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm.models import User
from imports.columns import auto_map, detect_date_format, normalized, source_index
from imports.config import ImportConfig
from imports.files import inspect_file
from imports.models import ImportJob
from imports.run import import_preview, unseen_leads_unnamed
from imports.services import import_settings_update
from leads.models import Lead
from leads.services.bulk_intake import BulkOutcome, leads_bulk_intake
from leads.services.bulk_rows import BulkRow
from tests.factories import LeadFactory, UserFactory
from tests.imports.conftest import csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db


# --- 1. dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "delimiter", "expected"),
    [
        # Salesforce in a European locale, one typo among them: day first, sure.
        (["03/11/2026", "25/10/2026", "13/12/2026", "2026-13-45"], ";", ("dmy", True)),
        (["11/03/2026", "10/25/2026", "2026-13-45"], ",", ("mdy", True)),
        # HubSpot: year first, one value typed by hand the other way.
        (["2026-11-03 10:15", "2026-11-04 09:00", "31/02/2026", "2026-11-06"], ",", ("iso", True)),
        (["Acme", "2024-01-01"], ",", None),
    ],
)  # fmt: skip
def test_a_typo_does_not_hide_the_date_order(values, delimiter, expected):
    assert detect_date_format(values, delimiter=delimiter) == expected


def test_a_day_over_12_far_down_the_sample_decides_the_order():
    values = ["01/02/2026"] * 1500 + ["25/10/2026"]
    assert detect_date_format(values) == ("dmy", True)


def test_the_salesforce_file_of_the_walk_is_proposed_day_first(revops):
    header = ["FirstName", "LastName", "Email", "Company", "LeadSource", "CreatedDate"]
    rows = [
        ["José", "Müller", "jose@one.example", "Société Générale", "Web", "03/11/2026"],
        ["Françoise", "Lefèvre", "fr@two.example", "Café Crème", "Web", "25/10/2026"],
        ["Zoë", "Ängström", "zoe@three.example", "Smörgås AB", "Web", "13/12/2026"],
        ["Bad", "Date", "bad@four.example", "Bad Date Co", "Web", "2026-13-45"],
    ]
    job = upload(revops, csv_bytes(rows, header=header, delimiter=";", encoding="cp1252"))
    assert job.columns[5] == "created_at"
    assert job.date_formats == {"5": "dmy"}


# --- 2. HubSpot -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["HubSpot Score", "Lead Score", "Score", "hubspotscore"])
def test_score_columns_are_mapped(header):
    assert auto_map(["Email", header]) == ["email", "score"]


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("Referrals", "referral"), ("Organic Search", "inbound"), ("Paid Search", "inbound"),
        ("Email Marketing", "inbound"), ("Social Media", "inbound"), ("Paid Social", "inbound"),
        ("Other Campaigns", "inbound"), ("Direct Traffic", "inbound"),
        ("Offline Sources", "other"), ("REFERRALS", "referral"),
    ],
)  # fmt: skip
def test_hubspot_original_sources(value, source):
    assert source_index()[normalized(value)] == source


# --- 3. fill in the blanks ----------------------------------------------------------------------

FILL_HEADER = ["First Name", "Last Name", "Email", "Company Name", "Industry", "Original Source"]


@pytest.mark.parametrize("mode", ["fill", "overwrite"])
def test_a_row_for_a_known_person_may_leave_out_what_the_lead_has(run_import, mode):
    lead = LeadFactory(
        email="bjorn@two.example", company_name="Hubtest Two AS", industry="", last_name="Øster"
    )
    rows = [["Bjørn", "", "Bjorn@two.example", "", "Hardware", ""]]
    job = run_import(csv_bytes(rows, header=FILL_HEADER), on_duplicate=mode)
    assert (job.updated, job.failed) == (1, 0)
    lead.refresh_from_db()
    assert (lead.industry, lead.company_name, lead.last_name) == (
        "Hardware",
        "Hubtest Two AS",
        "Øster",
    )


def test_a_row_for_a_new_person_still_needs_every_required_value(run_import):
    rows = [["Bjørn", "Øster", "bjorn@new.example", "", "Hardware", "Organic Search"]]
    job = run_import(csv_bytes(rows, header=FILL_HEADER), on_duplicate="fill")
    assert (job.created, job.failed) == (0, 1)
    assert not Lead.objects.filter(email="bjorn@new.example").exists()
    problems = job.row_errors.get().problems
    assert [(p["code"], p["field"]) for p in problems] == [("required", "company_name")]


def test_a_lead_missing_the_value_too_still_fails_the_row(importer):
    lead = LeadFactory(email="ana@example.com", company_name="Acme", phone="")
    Lead.objects.filter(pk=lead.pk).update(company_name="")  # an old lead, from before
    result = leads_bulk_intake(
        rows=[BulkRow(data={"email": "ana@example.com", "last_name": "Lee", "source": "inbound"})],
        by=importer,
        on_duplicate="fill",
    )
    outcome = result.outcomes[0]
    assert (outcome.outcome, outcome.lead_id) == ("failed", lead.pk)
    assert [p.field for p in outcome.problems] == ["company_name"]


def test_a_row_after_the_new_lead_of_its_person_fills_it(importer):
    full = {"email": "ana@example.com", "last_name": "Lee", "company_name": "Acme"}
    rows = [
        BulkRow(data={**full, "source": "inbound"}),
        BulkRow(data={"email": "ana@example.com", "industry": "Retail"}),
    ]
    result = leads_bulk_intake(rows=rows, by=importer, on_duplicate="fill")
    assert [o.outcome for o in result.outcomes] == ["created", "updated"]
    assert Lead.objects.get(email="ana@example.com").industry == "Retail"


def test_rows_that_leave_values_out_cost_no_query_each(importer):
    def run(count: int) -> int:
        leads = [LeadFactory(email=f"p{n}-{count}@example.com", industry="") for n in range(count)]
        rows = [BulkRow(data={"email": lead.email, "industry": "Retail"}) for lead in leads]
        with CaptureQueriesContext(connection) as queries:
            result = leads_bulk_intake(rows=rows, by=importer, on_duplicate="fill")
        assert {o.outcome for o in result.outcomes} == {"updated"}
        return len(queries)

    assert run(1) == run(6)


@pytest.fixture
def importer(revops):
    """Whoever runs `leads_bulk_intake` here: RevOps, who may change any lead."""
    return revops


# --- 4. the error file ----------------------------------------------------------------------


def test_the_error_file_speaks_the_downloaders_and_the_importers_language(
    client, run_import, revops
):
    revops.language = "id"
    revops.save(update_fields=["language"])
    before = translation.get_language()
    job = run_import(csv_bytes([sf_row(1, Email="nope")]))
    assert translation.get_language() == before  # the run leaves no language behind
    with translation.override("id"):
        expected = translation.gettext("Enter a valid email address.")
    assert expected != "Enter a valid email address."

    def error_file(user: User) -> list[list[str]]:
        client.force_login(user)
        response = client.get(reverse("imports:errors", args=[job.pk]))
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))

    rows = error_file(revops)
    assert rows[0][-2:] == ["Baris", "Masalah"]
    assert rows[1][-1] == f"Email: {expected}"
    # Another reader gets the header in their language; the problems stay as written.
    rows = error_file(UserFactory(revops=True, language="en"))
    assert rows[0][-2:] == ["Row", "Problems"]
    assert rows[1][-1] == f"Email: {expected}"


def test_the_error_file_shows_no_field_names_nor_codes(client, run_import, revops):
    header = ["Company", "Last Name", "Email", "Lead Source", "Number of Employees"]
    job = run_import(csv_bytes([["Acme", "Lee", "lee@acme.example", "Web", "many"]], header=header))
    client.force_login(revops)
    text = b"".join(client.get(reverse("imports:errors", args=[job.pk])).streaming_content)
    problems = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))[1][-1]
    assert problems == "Number of Employees: A valid integer is required."


# --- 5. wording -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (bytes(range(256)) * 4, "not_csv"),  # the walk's binary.csv
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + b"\x00\x07" * 40, "not_csv"),
        ("Company,Name\r\nAcme,Lee\r\n".encode("utf-16-le"), "invalid_encoding"),
        ("Company,Name\r\nAcme,Lee\r\n".encode("utf-16-be"), "invalid_encoding"),
    ],
)
def test_binary_is_not_utf16(content, code):
    from crm.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        inspect_file(io.BytesIO(content), size=len(content))
    problem = refused.value.problems[0]
    assert problem.code == code
    if code == "not_csv":
        assert "UTF-16" not in str(problem.message)


def test_one_row_read_is_said_in_the_singular(client, run_import, revops):
    job = run_import(csv_bytes([sf_row(1)]))
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "(1 rows)" not in page and "1 of 1 rows" not in page
    assert "(1 row)" in page


# --- 6. an SDR's mapping page -------------------------------------------------------------------


def test_an_sdr_is_not_offered_to_give_the_leads_away(client, revops, sdr):
    import_settings_update(by=revops, sdrs_may_import=True)
    content = csv_bytes([sf_row(1)])
    mine = upload(sdr, content)
    client.force_login(sdr)
    page = client.get(reverse("imports:mapping", args=[mine.pk])).content.decode()
    assert 'name="default_owner"' not in page and 'name="default_team"' not in page
    assert 'value="owner"' not in page  # no owner column either
    client.force_login(revops)
    theirs = upload(revops, content)
    page = client.get(reverse("imports:mapping", args=[theirs.pk])).content.decode()
    assert 'name="default_owner"' in page and 'name="default_team"' in page


def test_an_sdrs_file_with_an_owner_column_starts_without_it(client, revops, sdr):
    import_settings_update(by=revops, sdrs_may_import=True)
    header = ["Company", "Last Name", "Email", "Lead Source", "Lead Owner"]
    job = upload(sdr, csv_bytes([["Acme", "Lee", "lee@acme.example", "Web", "x"]], header=header))
    assert job.columns[4] == "owner"
    client.force_login(sdr)
    from tests.imports.test_views import _mapping_post

    post = _mapping_post(job, "start")
    post.pop("col_4", None)
    post.pop("default_owner", None)
    post.pop("default_team", None)
    response = client.post(reverse("imports:mapping", args=[job.pk]), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    job.refresh_from_db()
    assert job.columns[4] == "" and job.queued_at is not None


# --- 7. another rep's lead --------------------------------------------------------------------


def test_an_sdr_is_not_told_the_number_of_another_reps_lead(revops, sdrs):
    import_settings_update(by=revops, sdrs_may_import=True)
    theirs = LeadFactory(email="ana1@nusantara.example", owner=sdrs[1], phone="")
    job = upload(sdrs[0], csv_bytes([sf_row(1, Phone="+62 1")]))
    config = ImportConfig.of(job)
    config.on_duplicate = "fill"
    (row,) = import_preview(job, config, by=sdrs[0])
    assert row.outcome == "failed"
    messages = " ".join(note.message for note in row.notes)
    assert "This person already has a lead that you may not change." in messages
    assert str(theirs.pk) not in messages


def test_a_skipped_row_names_only_a_lead_the_importer_may_see(revops, sdrs):
    import_settings_update(by=revops, sdrs_may_import=True)
    theirs = LeadFactory(email="ana1@nusantara.example", owner=sdrs[1])
    mine = LeadFactory(email="ana2@nusantara.example", owner=sdrs[0])
    job = upload(sdrs[0], csv_bytes([sf_row(1), sf_row(2)]))
    first, second = import_preview(job, ImportConfig.of(job), by=sdrs[0])
    assert (first.outcome, second.outcome) == ("skipped", "skipped")
    assert [n.message for n in first.notes] == [
        "This person already has a lead: it is kept as it is."
    ]
    assert f"#{mine.pk}" in " ".join(n.message for n in second.notes)
    assert str(theirs.pk) not in " ".join(n.message for n in first.notes)


def test_the_number_stays_for_a_lead_the_importer_may_see(sdrs):
    from crm.exceptions import Problem

    own = LeadFactory(owner=sdrs[0])
    other = LeadFactory(owner=sdrs[1])
    refused = (Problem("not_yours", "email", "This person already has a lead (#1)."),)
    outcomes = [
        BulkOutcome("failed", own.pk, refused),
        BulkOutcome("failed", other.pk, refused),
        BulkOutcome("created", None),
    ]
    with CaptureQueriesContext(connection) as queries:
        shown = unseen_leads_unnamed(outcomes, sdrs[0])
    assert len(queries) == 1
    assert shown[0] == outcomes[0] and shown[2] == outcomes[2]
    assert shown[1].problems[0].message == "This person already has a lead that you may not change."


def test_a_real_run_words_it_the_same(run_import, revops, sdrs):
    import_settings_update(by=revops, sdrs_may_import=True)
    theirs = LeadFactory(email="ana1@nusantara.example", owner=sdrs[1], phone="")
    job = run_import(csv_bytes([sf_row(1, Phone="+62 1")]), by=sdrs[0], on_duplicate="fill")
    assert job.failed == 1
    (problem,) = job.row_errors.get().problems
    assert problem["message"] == "This person already has a lead that you may not change."
    assert str(theirs.pk) not in problem["message"]
    assert isinstance(job, ImportJob)


# --- 8. the dry run's page, uploads left behind ---------------------------------------------


def test_the_dry_runs_page_links_to_its_real_import(client, run_import, revops):
    from imports.services import import_run_for_real

    dry = run_import(csv_bytes([sf_row(1)]), dry_run=True)
    client.force_login(revops)
    page = client.get(reverse("imports:detail", args=[dry.pk])).content.decode()
    assert 'data-testid="real-run"' not in page
    real = import_run_for_real(job_id=dry.pk, by=revops)
    page = client.get(reverse("imports:detail", args=[dry.pk])).content.decode()
    assert 'data-testid="real-run"' in page
    assert f'href="{reverse("imports:detail", args=[real.pk])}"' in page
    assert 'data-testid="run-for-real"' not in page


def test_uploads_never_started_leave_the_recent_imports_after_a_day(client, revops):
    import datetime

    from django.utils import timezone

    fresh = upload(revops, csv_bytes([sf_row(1)]), name="fresh.csv")
    old = upload(revops, csv_bytes([sf_row(2)]), name="left-behind.csv")
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    client.force_login(revops)
    page = client.get(reverse("imports:list")).content.decode()
    assert "fresh.csv" in page and "left-behind.csv" not in page
    assert client.get(reverse("imports:detail", args=[old.pk])).status_code == 200
    assert ImportJob.objects.filter(pk__in=[fresh.pk, old.pk]).count() == 2
