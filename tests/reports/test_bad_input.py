"""Report filters from the address bar are user input: dates at the ends of the calendar,
digits that are not ASCII and unknown breakdowns are answered as field errors, not 500s."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

EXTREME_DATES = [
    "start=0001-01-01&end=9999-12-31",
    "end=9999-12-31",
    "start=0001-01-01",
    "period=custom&start=0001-01-02&end=0001-01-03",
]
PAGES = ["/dashboard/", "/reports/funnel/", "/reports/sla/", "/reports/pipeline/"]


@pytest.mark.parametrize("query", EXTREME_DATES)
@pytest.mark.parametrize("url", PAGES)
def test_pages_show_a_field_error_for_dates_out_of_range(client, manager, url, query):
    client.force_login(manager)

    response = client.get(f"{url}?{query}")

    assert response.status_code == 200
    assert "Choose a date between 1900-01-01 and 2999-12-31." in response.content.decode()


@pytest.mark.parametrize("query", EXTREME_DATES[:3])
def test_api_names_the_date_field_out_of_range(client, manager, query):
    client.force_login(manager)

    response = client.get(f"/api/v1/reports/funnel/?{query}")

    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields & {"start", "end"}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/reports/funnel/",
        "/api/v1/reports/quality/",
        "/api/v1/reports/pipeline/",
        "/api/v1/reports/sla/",
        "/api/v1/reports/feedback/",
    ],
)
def test_api_refuses_an_unknown_breakdown(client, manager, url):
    client.force_login(manager)

    response = client.get(f"{url}?by=bogus")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "by"
    assert response.json()["errors"][0]["code"] == "invalid_choice"


def test_a_known_breakdown_still_answers(client, manager):
    client.force_login(manager)

    assert client.get("/api/v1/reports/funnel/?by=campaign").status_code == 200


def test_superscript_digits_are_not_a_year(client, revops):
    client.force_login(revops)

    assert client.get("/reports/mql-targets/?year=¹⁹⁹⁹").status_code == 200
    assert client.get("/api/v1/mql-targets/¹/").status_code == 404
