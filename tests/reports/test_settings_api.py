"""/api/v1/benchmarks/ and /api/v1/mql-targets/: RevOps writes, managers read, SDRs and
AEs get nothing; a bad body is one 400 naming every problem (unknown fields included),
never a 500; every change goes through the service and its audit."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from reports.models import BenchmarkChange, BenchmarkRange, MqlTarget, MqlTargetChange, ReportPolicy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def errors(response) -> set[tuple[str | None, str]]:
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


# --- benchmarks -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["revops", "manager"])
def test_revops_and_managers_read_the_benchmarks(role):
    body = api(UserFactory(**{role: True})).get("/api/v1/benchmarks/").json()
    ranges = {row["source"]: row for row in body["ranges"]}
    assert ranges["inbound"]["low_percent"] == "15.00"
    assert ranges["inbound"]["high_percent"] == "25.00"
    assert body["thresholds"] == {"pipeline_to_won_low": "3.00", "pipeline_to_won_high": "5.00"}


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_read_no_benchmarks(role):
    user = UserFactory(**{role: True})
    assert api(user).get("/api/v1/benchmarks/").status_code == 403
    assert api(user).get("/api/v1/mql-targets/").status_code == 403
    assert APIClient().get("/api/v1/benchmarks/").status_code in (401, 403)


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_only_revops_changes_the_benchmarks(role):
    response = api(UserFactory(**{role: True})).patch(
        "/api/v1/benchmarks/", {"thresholds": {"pipeline_to_won_low": "1"}}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert ReportPolicy.current().pipeline_to_won_low == 3


def test_revops_changes_adds_and_deletes_ranges_and_sets_thresholds(revops):
    response = api(revops).patch(
        "/api/v1/benchmarks/",
        {
            "ranges": [
                {"source": "inbound", "high_percent": "30"},  # the lower end is kept
                {"source": "partner", "low_percent": "10", "high_percent": "20"},
                {"source": "outbound", "delete": True},
            ],
            "thresholds": {"pipeline_to_won_high": "6"},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    ranges = {row["source"]: row for row in response.json()["ranges"]}
    assert (ranges["inbound"]["low_percent"], ranges["inbound"]["high_percent"]) == (
        "15.00",
        "30.00",
    )
    assert ranges["partner"]["low_percent"] == "10.00" and "outbound" not in ranges
    assert response.json()["thresholds"]["pipeline_to_won_high"] == "6.00"
    audit = {c.source: (c.old, c.new) for c in BenchmarkChange.objects.all()}
    assert audit["inbound"] == ({"high_percent": "25.00"}, {"high_percent": "30.00"})
    assert audit["outbound"][1] == {}
    assert audit[""] == ({"pipeline_to_won_high": "5.00"}, {"pipeline_to_won_high": "6.00"})
    assert {c.actor for c in BenchmarkChange.objects.all()} == {revops}
    history = api(revops).get("/api/v1/benchmarks/changes/").json()
    assert len(history) == 4 and history[0]["actor"]["username"] == "revops"


def test_every_problem_of_a_benchmark_body_at_once(revops):
    response = api(revops).patch(
        "/api/v1/benchmarks/",
        {
            "ranges": [
                {"source": "inbound", "low_percent": "NaN"},
                {"source": "outbound", "low_percent": "40", "high_percent": "10"},
                {"source": "nowhere", "low_percent": "1", "high_percent": "2"},
                {"source": "partner", "low_percent": "5"},
                {"source": "event", "low_percent": "1e20", "high_percent": "2", "colour": "red"},
            ],
            "thresholds": {"pipeline_to_won_low": "-1", "bogus": 1},
            "extra": True,
        },
        format="json",
    )
    assert response.status_code == 400
    found = errors(response)
    assert ("ranges.0.low_percent", "invalid") in found
    assert ("ranges.2.source", "invalid_choice") in found
    assert ("ranges.4.low_percent", "max_digits") in found
    assert ("ranges.4.colour", "unknown_field") in found
    assert ("thresholds.pipeline_to_won_low", "min_value") in found
    assert ("thresholds.bogus", "unknown_field") in found
    assert ("extra", "unknown_field") in found
    assert BenchmarkRange.objects.get(source="outbound").low_percent == 3
    assert not BenchmarkChange.objects.exists()


def test_benchmark_rules_are_named_by_their_place_in_the_body(revops):
    response = api(revops).patch(
        "/api/v1/benchmarks/",
        {
            "ranges": [
                {"source": "outbound", "low_percent": "40", "high_percent": "10"},
                {"source": "partner", "low_percent": "5"},
                {"source": "other", "delete": True},
            ],
            "thresholds": {"pipeline_to_won_low": "9", "pipeline_to_won_high": "2"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert errors(response) == {
        ("ranges.0.high_percent", "inverted"),
        ("ranges.1.high_percent", "required"),
        ("ranges.2.source", "not_found"),
        ("thresholds.pipeline_to_won_high", "inverted"),
    }


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "{not json"])
def test_a_body_that_is_no_object_is_a_400(revops, body):
    response = api(revops).patch("/api/v1/benchmarks/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]


# --- MQL targets ------------------------------------------------------------------------------

MARCH = "2026-03-01"


def test_revops_sets_changes_and_removes_a_target(revops, manager):
    client = api(revops)
    created = client.post(
        "/api/v1/mql-targets/", {"month": MARCH, "source": "inbound", "target": 120}, format="json"
    )
    assert created.status_code == 201, created.json()
    target = created.json()
    assert (target["month"], target["source"], target["target"]) == (MARCH, "inbound", 120)

    changed = client.patch(f"/api/v1/mql-targets/{target['id']}/", {"target": 150}, format="json")
    assert changed.status_code == 200 and changed.json()["target"] == 150

    # managers read them and their history, and change nothing
    reader = api(manager)
    listed = reader.get("/api/v1/mql-targets/?year=2026&source=inbound").json()
    assert [(row["month"], row["target"]) for row in listed] == [(MARCH, 150)]
    assert (
        reader.patch(
            f"/api/v1/mql-targets/{target['id']}/", {"target": 1}, format="json"
        ).status_code
        == 403
    )
    assert reader.delete(f"/api/v1/mql-targets/{target['id']}/").status_code == 403

    assert client.delete(f"/api/v1/mql-targets/{target['id']}/").status_code == 204
    assert not MqlTarget.objects.exists()
    history = reader.get("/api/v1/mql-targets/changes/").json()
    assert [(row["old"], row["new"]) for row in history] == [
        ({"target": 150}, {}),
        ({"target": 120}, {"target": 150}),
        ({}, {"target": 120}),
    ]
    assert {row["actor"]["username"] for row in history} == {"revops"}


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_only_revops_sets_targets(role):
    response = api(UserFactory(**{role: True})).post(
        "/api/v1/mql-targets/", {"month": MARCH, "source": "inbound", "target": 1}, format="json"
    )
    assert response.status_code == 403
    assert not MqlTarget.objects.exists()


def test_every_problem_of_a_target_at_once(revops):
    response = api(revops).post(
        "/api/v1/mql-targets/",
        {"month": "2026-03-15", "source": "radio", "target": -1, "note": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert errors(response) == {
        ("month", "not_first_of_month"),
        ("source", "invalid_choice"),
        ("target", "min_value"),
        ("note", "unknown_field"),
    }
    bad = api(revops).post(
        "/api/v1/mql-targets/",
        {"month": "0001-01-01", "source": "inbound", "target": "NaN", "id": 3},
        format="json",
    )
    assert bad.status_code == 400
    assert {field for field, _code in errors(bad)} == {"month", "target", "id"}
    assert not MqlTarget.objects.exists()


def test_a_second_target_for_the_same_month_and_source_is_refused(revops):
    MqlTarget.objects.create(month=datetime.date(2026, 3, 1), source="inbound", target=5)
    response = api(revops).post(
        "/api/v1/mql-targets/", {"month": MARCH, "source": "inbound", "target": 9}, format="json"
    )
    assert response.status_code == 400
    assert errors(response) == {("source", "exists")}


def test_a_target_patch_changes_the_number_only(revops):
    target = MqlTarget.objects.create(month=datetime.date(2026, 3, 1), source="inbound", target=5)
    response = api(revops).patch(
        f"/api/v1/mql-targets/{target.pk}/",
        {"month": "2026-04-01", "source": "event", "target": "1e20"},
        format="json",
    )
    assert response.status_code == 400
    assert errors(response) == {
        ("month", "read_only"),
        ("source", "read_only"),
        ("target", "invalid"),
    }
    assert (
        api(revops).patch("/api/v1/mql-targets/abc/", {"target": 1}, format="json").status_code
        == 404
    )
    assert not MqlTargetChange.objects.exists()


@pytest.mark.parametrize("query", ["year=abc", "year=20261", "source=radio"])
def test_bad_filters_are_a_400_naming_them(revops, query):
    response = api(revops).get(f"/api/v1/mql-targets/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == query.split("=")[0]
