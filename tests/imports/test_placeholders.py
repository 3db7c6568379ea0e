"""What the second QA walk of imports found. A placeholder ("N/A", "TBD", "-") is a blank
cell in every column: it never fails a row by itself, never becomes an address to match
people by, never replaces a value, and is not offered as a value to map. An overwrite
leaves the lead's attribution. A country is read in any of the product's languages."""

from __future__ import annotations

import pytest

from imports.run import sample_values
from leads.models import Lead
from tests.factories import LeadFactory
from tests.imports.conftest import SALESFORCE, csv_bytes, sf_row, upload

pytestmark = pytest.mark.django_db

HEADER = [*SALESFORCE, "Country", "No. of Employees", "Lead Owner"]


def _row(n: int, **values: str) -> list[str]:
    extra = {"Country": "ID", "No. of Employees": "50", "Lead Owner": ""}
    extra.update(
        {k.replace("_", " "): v for k, v in values.items() if k.replace("_", " ") in extra}
    )
    base = sf_row(n, **{k: v for k, v in values.items() if k.replace("_", " ") not in extra})
    return [*base, extra["Country"], extra["No. of Employees"], extra["Lead Owner"]]


def test_placeholders_in_optional_columns_are_blank_cells(run_import):
    rows = [
        _row(1, Country="N/A", Created_Date="N/A", Lead_Status="-"),
        _row(2, **{"No. of Employees": "unknown"}, Lead_Source="TBD", Phone="n/a"),
    ]
    job = run_import(csv_bytes(rows, header=HEADER), default_source="event")
    assert (job.created, job.failed) == (2, 0)
    one, two = Lead.objects.order_by("email")
    assert (one.country, one.status) == ("", Lead.Status.MQL)
    assert (two.employee_count, two.source, two.phone) == (None, "event", "")


def test_a_placeholder_address_is_no_address_and_no_identity(run_import):
    """Two people without an address are two leads, not one "n/a" person; a row with no
    way to reach its person fails once, for that reason alone."""
    rows = [
        _row(1, Email="N/A", Phone="+62 811 1"),
        _row(2, Email="n/a", Phone="+62 811 2"),
        _row(3, Email="N/A", Phone=""),
    ]
    job = run_import(csv_bytes(rows, header=HEADER))
    assert (job.created, job.failed) == (2, 1)
    assert set(Lead.objects.values_list("email", flat=True)) == {""}
    [error] = job.row_errors.all()
    assert [p["code"] for p in error.problems] == ["contact_unreachable"]


def test_the_mapping_page_does_not_offer_a_placeholder_as_a_source(revops):
    rows = [sf_row(1, Lead_Source="Web"), sf_row(2, Lead_Source="N/A")]
    job = upload(revops, csv_bytes(rows))
    assert sample_values(job, SALESFORCE.index("Lead Source")) == ["Web"]


def test_an_overwrite_leaves_the_source_and_campaign(run_import):
    lead = LeadFactory(
        email="ana1@nusantara.example", source="inbound", campaign="Webinar Q3", job_title=""
    )
    header = [*SALESFORCE, "Campaign", "Title"]
    rows = [[*sf_row(1, Lead_Source="Partner Referral"), "Trade show", "CFO"]]
    job = run_import(csv_bytes(rows, header=header), on_duplicate="overwrite")
    assert job.updated == 1
    lead.refresh_from_db()
    assert (lead.source, lead.campaign, lead.job_title) == ("inbound", "Webinar Q3", "CFO")


def test_countries_by_code_name_alias_and_in_any_of_our_languages(run_import):
    header = ["First Name", "Last Name", "Company", "Email", "Lead Source", "Country"]
    countries = ["Indonesia", "ID", "United States", "USA", "uk", "Jerman", "Deutschland"]
    rows = [
        ["Ana", f"Tan{n}", "Kopi", f"a{n}@kopi.example", "Web", country]
        for n, country in enumerate(countries)
    ]
    job = run_import(csv_bytes(rows, header=header))
    assert job.created == len(countries)
    assert list(Lead.objects.order_by("last_name").values_list("country", flat=True)) == [
        "ID", "ID", "US", "US", "GB", "DE", "DE",
    ]  # fmt: skip
