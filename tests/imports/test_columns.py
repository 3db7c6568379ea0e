"""Column and value mapping: Salesforce, HubSpot and Pipedrive export headers and their
picklists onto ours, each column's date format, dates read in the importer's zone."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from imports.columns import (
    auto_map,
    detect_date_format,
    normalized,
    source_index,
    status_index,
)
from imports.rows import parse_date

SALESFORCE = ["First Name", "Last Name", "Title", "Company", "Email", "Phone", "Lead Source",
              "Lead Status", "Website", "Industry", "No. of Employees", "Country", "Created Date",
              "Lead Owner"]  # fmt: skip
SALESFORCE_API = ["FirstName", "LastName", "Company", "Email", "LeadSource", "Status",
                  "NumberOfEmployees", "CreatedDate"]  # fmt: skip
HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
           "Job Title", "Original Source", "Lead Status", "Lifecycle Stage", "Create Date",
           "Contact owner", "Country/Region", "Website URL"]  # fmt: skip
PIPEDRIVE = ["Lead - Title", "Person - Name", "Person - Email - Work", "Person - Phone - Work",
             "Organization - Name", "Lead - Source channel", "Lead - Lead created",
             "Lead - Owner"]  # fmt: skip


def _mapped(headers: list[str]) -> dict[str, str]:
    return {h: t for h, t in zip(headers, auto_map(headers), strict=True) if t}


def test_salesforce_headers():
    assert _mapped(SALESFORCE) == {
        "First Name": "first_name", "Last Name": "last_name", "Title": "job_title",
        "Company": "company_name", "Email": "email", "Phone": "phone", "Lead Source": "source",
        "Lead Status": "status", "Website": "company_domain", "Industry": "industry",
        "No. of Employees": "employee_count", "Country": "country",
        "Created Date": "created_at", "Lead Owner": "owner",
    }  # fmt: skip


def test_salesforce_api_names():
    assert set(_mapped(SALESFORCE_API).values()) == {
        "first_name", "last_name", "company_name", "email", "source", "status",
        "employee_count", "created_at",
    }  # fmt: skip


def test_hubspot_headers_take_the_first_column_for_a_field():
    mapped = _mapped(HUBSPOT)
    assert mapped["Original Source"] == "source"
    assert mapped["Lead Status"] == "status"
    assert "Lifecycle Stage" not in mapped  # status is already taken by "Lead Status"
    assert mapped["Company Name"] == "company_name" and mapped["Create Date"] == "created_at"
    assert mapped["Country/Region"] == "country" and mapped["Website URL"] == "company_domain"
    assert mapped["Contact owner"] == "owner" and "Record ID" not in mapped


def test_pipedrive_headers_and_a_full_name():
    assert _mapped(PIPEDRIVE) == {
        "Person - Name": "full_name", "Person - Email - Work": "email",
        "Person - Phone - Work": "phone", "Organization - Name": "company_name",
        "Lead - Source channel": "source", "Lead - Lead created": "created_at",
        "Lead - Owner": "owner",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "target"),
    [("E-mail Address", "email"), ("email_address", "email"), ("Organisation", "company_name"),
     ("COMPANY", "company_name"), ("\ufeffEmail", "email"), ("Surname", "last_name")],
)  # fmt: skip
def test_header_variants(header, target):
    assert auto_map([header, "x"])[0] == target


@pytest.mark.parametrize(
    ("value", "source"),
    [("Web", "inbound"), ("Trade Show", "event"), ("Organic Search", "inbound"),
     ("ORGANIC_SEARCH", "inbound"), ("Partner Referral", "partner"), ("Purchased List", "outbound"),
     ("Employee Referral", "referral"), ("Webinar", "event"), ("Offline Sources", "other"),
     ("Event / webinar", "event"), ("inbound", "inbound")],
)  # fmt: skip
def test_lead_source_picklists(value, source):
    assert source_index()[normalized(value)] == source


@pytest.mark.parametrize(
    ("value", "status"),
    [("Open - Not Contacted", "mql"), ("Working - Contacted", "sal"), ("NEW", "mql"),
     ("IN_PROGRESS", "sal"), ("Bad Timing", "nurture"), ("Closed - Not Converted", "disqualified"),
     ("UNQUALIFIED", "disqualified"), ("marketingqualifiedlead", "mql"),
     ("Closed - Converted", ""), ("salesqualifiedlead", "")],
)  # fmt: skip
def test_lead_status_picklists(value, status):
    assert status_index()[normalized(value)] == status


@pytest.mark.parametrize(
    ("values", "delimiter", "expected"),
    [
        (["2024-01-31", "2023-12-01 10:15"], ",", ("iso", True)),
        (["2024-01-31T10:15:00Z"], ",", ("iso", True)),
        (["31/01/2024", "01/02/2024"], ",", ("dmy", True)),
        (["01/31/2024 2:15 PM", "02/01/2024"], ",", ("mdy", True)),
        (["01.02.2024", "03.04.2024"], ";", ("dmy", False)),  # ambiguous: a semicolon file
        (["01/02/2024", "03/04/2024"], ",", ("mdy", False)),  # ambiguous: a comma file
        (["Acme", "2024-01-01"], ",", None),
        (["13/14/2024"], ",", None),
        # one impossible value (a typo) does not decide the order: its row fails alone
        (["11/15/2026", "31/31/2026", "02/03/2026"], ",", ("mdy", True)),
        (["15/11/2026", "31/31/2026"], ";", ("dmy", True)),
        ([""], ",", None),
    ],
)
def test_date_format_detection(values, delimiter, expected):
    assert detect_date_format(values, delimiter=delimiter) == expected


JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("2024-01-31", "iso", datetime.datetime(2024, 1, 31, tzinfo=JAKARTA)),
        (
            "2024-01-31T10:15:00Z",
            "iso",
            datetime.datetime(2024, 1, 31, 10, 15, tzinfo=datetime.UTC),
        ),
        ("31/01/2024 14:05", "dmy", datetime.datetime(2024, 1, 31, 14, 5, tzinfo=JAKARTA)),
        ("1/31/24 2:15 PM", "mdy", datetime.datetime(2024, 1, 31, 14, 15, tzinfo=JAKARTA)),
        ("12/31/2024 12:00 AM", "mdy", datetime.datetime(2024, 12, 31, 0, 0, tzinfo=JAKARTA)),
        ("31/02/2024", "dmy", None),
        ("31/01/2024", "mdy", None),
        ("yesterday", "iso", None),
    ],
)
def test_parse_date(text, style, expected):
    assert parse_date(text, style, JAKARTA) == expected
