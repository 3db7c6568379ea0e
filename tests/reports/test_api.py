"""/api/v1/reports/: the same figures, filters and scope as the pages, as JSON."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import TeamFactory
from tests.reports import world

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "conversion-by-source", "funnel", "quality", "pipeline", "sla", "feedback", "marketing",
]  # fmt: skip


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def w():
    built = world.people()
    world.build(built)
    return built


def test_conversion_by_source_rows(w, revops):
    body = client_for(revops).get("/api/v1/reports/conversion-by-source/").json()
    rows = {row["source"]: row for row in body["rows"]}
    assert set(rows["inbound"]) >= {
        "source", "leads", "converted", "rate", "benchmark_low", "benchmark_high", "status",
    }  # fmt: skip
    # Per source: 9 leads, 4 converted (won, open, lost, pending approval) -> 44.44 %.
    assert rows["inbound"] | {} == rows["inbound"]
    assert (rows["inbound"]["leads"], rows["inbound"]["converted"]) == (9, 4)
    assert rows["inbound"]["rate"] == 44.44
    assert (rows["inbound"]["benchmark_low"], rows["inbound"]["benchmark_high"]) == (15.0, 25.0)
    assert rows["inbound"]["status"] == "above"
    assert rows["partner"]["leads"] == 0 and rows["partner"]["status"] is None
    assert body["overall"] == {
        "source": "overall",
        "label": "All sources",
        "leads": 27,
        "converted": 12,
        "rate": 44.44,
        "benchmark_low": 5.0,
        "benchmark_high": 20.0,
        "status": "above",
    }
    assert body["definition"].startswith("Cohort: the leads created in the period")


def test_same_filters_as_the_page(w, revops):
    api = client_for(revops)
    by_team = api.get(f"/api/v1/reports/conversion-by-source/?team={w.team.pk}").json()
    assert by_team["overall"]["leads"] == 14  # the team's two sources, owned leads
    by_source = api.get("/api/v1/reports/conversion-by-source/?source=referral").json()
    assert [row["source"] for row in by_source["rows"]] == ["referral"]
    dated = api.get("/api/v1/reports/conversion-by-source/?start=2001-01-01&end=2001-01-31")
    assert dated.json()["overall"]["leads"] == 0
    assert dated.json()["filters"]["start"] == "2001-01-01"


def test_invalid_filters_are_a_400_with_codes(w, revops, manager):
    api = client_for(revops)
    response = api.get("/api/v1/reports/conversion-by-source/?start=2026-05-01&end=2026-01-01")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "end"
    foreign = TeamFactory(name="Not yours")
    response = client_for(manager).get(f"/api/v1/reports/conversion-by-source/?team={foreign.pk}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "team"


def test_scope_is_the_readers(w, revops):
    assert (
        client_for(w.manager)
        .get("/api/v1/reports/conversion-by-source/")
        .json()["overall"]["leads"]
        == 17  # the team's 14, and the 3 open leads without an owner
    )
    assert (
        client_for(w.sdr).get("/api/v1/reports/conversion-by-source/").json()["overall"]["leads"]
        == 14
    )
    assert client_for(w.other_sdr).get("/api/v1/reports/funnel/").json()["funnel"][0]["count"] == 7


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_report_has_an_endpoint(w, revops, endpoint):
    response = client_for(revops).get(f"/api/v1/reports/{endpoint}/")
    assert response.status_code == 200
    assert response.json()["filters"]["start"]


def test_money_is_per_currency(w, revops):
    body = client_for(revops).get("/api/v1/reports/pipeline/").json()
    discovery = next(row for row in body["stages"] if row["stage"] == "Discovery")
    assert discovery["amount"] == [{"currency": "EUR", "amount": "150000.00"}]
    velocity = {row["currency"]: row for row in body["velocity"]}
    assert set(velocity) == {"USD", "EUR"}


def test_unauthenticated_is_refused():
    assert APIClient().get("/api/v1/reports/conversion-by-source/").status_code in (401, 403)


def test_marketing_for_revops_and_managers_only(w, revops):
    body = client_for(revops).get("/api/v1/reports/marketing/?by=campaign").json()
    assert set(body) == {"filters", "mql_targets", "revenue_by_campaign"}
    total = body["revenue_by_campaign"][-1]
    assert total["is_total"] and total["mql"] == 27 and total["won"] == 3
    assert total["won_amount"] == [
        {"currency": "USD", "amount": "10000.00"},
        {"currency": "EUR", "amount": "5000.00"},
    ]
    assert client_for(w.manager).get("/api/v1/reports/marketing/").status_code == 200
    for rep in (w.sdr, w.ae):
        response = client_for(rep).get("/api/v1/reports/marketing/")
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "permission_denied"
    bad = client_for(revops).get("/api/v1/reports/marketing/?by=team")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "by"


def test_feedback_and_funnel_by_campaign(w, revops):
    api = client_for(revops)
    feedback = api.get("/api/v1/reports/feedback/?by=campaign&period=30d").json()
    campaigns = {row["campaign"] for row in feedback["rows"]}
    assert {"Inbound spring", "", "all"} <= campaigns
    funnel = api.get("/api/v1/reports/funnel/?by=campaign").json()
    assert {row["group"] for row in funnel["funnel_by_campaign"]} >= {
        "Inbound spring",
        "No campaign",
    }
