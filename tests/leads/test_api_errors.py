"""Every problem at once, never a 500: the leads API answers malformed writes and filters
with 400/409/412/422 and `{"errors": [...]}` naming the field, for each role that may write."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from crm.models import User
from leads.models import Lead
from tests.factories import LeadFactory, QualificationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "company_name": "Brightwave Analytics",
    "last_name": "Tan",
    "email": "mei@brightwave.example",
    "source": "referral",
}
HUGE = 10**30
MEETING, TARGET, AT = "discovery_meeting_at", "timeline_target_date", "occurred_at"


def client_for(user: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def assert_problems(response, *fields: str | None) -> list[dict]:
    """A client error (never a 500) in the one JSON shape, naming each of `fields`."""
    assert response.status_code in (400, 409, 412, 422), (response.status_code, response.content)
    errors = response.json()["errors"]
    assert errors and all(set(e) == {"code", "field", "message"} for e in errors)
    named = {e["field"] for e in errors}
    assert set(fields) <= named, errors
    return errors


@pytest.fixture
def people(db) -> dict[str, User]:
    boss = UserFactory(manager=True)
    team = TeamFactory(manager=boss)
    return {
        "sdr": UserFactory(sdr=True, team=team),
        "ae": UserFactory(ae=True, team=team),
        "manager": boss,
        "revops": UserFactory(revops=True),
    }


@pytest.fixture
def lead(people) -> Lead:
    lead = LeadFactory(owner=people["sdr"], ae=people["ae"], team=people["sdr"].team)
    QualificationFactory(lead=lead)
    return lead


# --- intake: every problem at once ----------------------------------------------------------


@pytest.mark.parametrize("role", ["sdr", "ae", "manager", "revops"])
def test_a_bad_email_and_a_bad_source_are_reported_together(people, role):
    body = {**VALID, "email": "not-an-address", "source": "fax"}

    response = client_for(people[role]).post("/api/v1/leads/", body, format="json")

    errors = assert_problems(response, "email", "source")
    assert response.status_code == 400
    assert {(e["field"], e["code"]) for e in errors} == {
        ("email", "invalid"),
        ("source", "invalid_choice"),
    }
    assert not Lead.objects.exists()


def test_intake_names_every_missing_and_malformed_field_once(people):
    body = {"email": "nope", "score": "lots", "employee_count": -5, "colour": "red"}

    response = client_for(people["sdr"]).post("/api/v1/leads/", body, format="json")

    errors = assert_problems(
        response, "email", "score", "employee_count", "colour", "company_name", "last_name"
    )
    assert "source" in {e["field"] for e in errors}
    fields = [e["field"] for e in errors]
    assert len(fields) == len(set(fields)), errors  # each field named once


def test_an_edit_reports_the_serializer_and_the_intake_rules_together(people, lead):
    body = {"email": "not-an-address", "source": "fax", "company_name": "TBD"}

    response = client_for(people["sdr"]).patch(f"/api/v1/leads/{lead.pk}/", body, format="json")

    assert_problems(response, "email", "source", "company_name")


@pytest.mark.parametrize("field", ["status", "owner", "id", "version", "converted_at"])
def test_a_read_only_field_in_a_new_lead_is_refused_by_name(people, field):
    response = client_for(people["sdr"]).post("/api/v1/leads/", {**VALID, field: 1}, format="json")

    errors = assert_problems(response, field)
    assert {e["code"] for e in errors if e["field"] == field} == {"read_only"}
    assert not Lead.objects.exists()


def test_a_status_sent_with_an_edit_is_refused_not_silently_dropped(people, lead):
    score = lead.score

    response = client_for(people["sdr"]).patch(
        f"/api/v1/leads/{lead.pk}/",
        {"status": "sql", "score": (score or 0) % 100 + 1},
        format="json",
    )

    errors = assert_problems(response, "status")
    assert errors[0]["code"] == "read_only"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.MQL and lead.score == score


# --- malformed bodies on every write endpoint ------------------------------------------------

# (method, path under the lead, the role that may call it)
ENDPOINTS = [
    ("post", "", "sdr"),
    ("patch", "{id}/", "sdr"),
    ("post", "{id}/accept/", "sdr"),
    ("post", "{id}/reject/", "sdr"),
    ("post", "{id}/qualify/", "sdr"),
    ("post", "{id}/handoff/", "sdr"),
    ("post", "{id}/nurture/", "sdr"),
    ("post", "{id}/disqualify/", "sdr"),
    ("post", "{id}/reopen/", "sdr"),
    ("post", "{id}/assign/", "manager"),
    ("post", "{id}/discovery/", "ae"),
    ("patch", "{id}/qualification/", "sdr"),
    ("post", "{id}/activities/", "sdr"),
]
NOT_AN_OBJECT = ["[1, 2]", '"text"', "42", "true", "null"]


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_a_body_that_is_not_an_object_is_a_400(people, lead, method, path, role, body):
    client = client_for(people[role])
    url = "/api/v1/leads/" + path.format(id=lead.pk)

    response = getattr(client, method)(url, body, content_type="application/json")

    assert_problems(response, None)


@pytest.mark.parametrize("who", ["role", "revops"])
@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_an_unknown_field_is_refused_by_name(people, lead, method, path, role, who):
    client = client_for(people[role if who == "role" else "revops"])
    url = "/api/v1/leads/" + path.format(id=lead.pk)

    response = getattr(client, method)(url, {"no_such_field": 1}, format="json")

    errors = assert_problems(response, "no_such_field")
    assert {e["code"] for e in errors if e["field"] == "no_such_field"} == {"unknown_field"}


# (method, path, role, body, the field that must be named)
MALFORMED = [
    ("post", "", "sdr", {**VALID, "score": "NaN"}, "score"),
    ("post", "", "sdr", {**VALID, "score": HUGE}, "score"),
    ("post", "", "sdr", {**VALID, "score": 1e20}, "score"),
    ("post", "", "sdr", {**VALID, "employee_count": HUGE}, "employee_count"),
    ("post", "", "sdr", {**VALID, "employee_count": "Infinity"}, "employee_count"),
    ("post", "", "sdr", {**VALID, "company_name": "x" * 100_000}, "company_name"),
    ("post", "", "sdr", {**VALID, "company_name": {"name": "Acme"}}, "company_name"),
    ("post", "", "sdr", {**VALID, "company_name": ["Acme"]}, "company_name"),
    ("post", "", "sdr", {**VALID, "company_name": None}, "company_name"),
    ("post", "", "sdr", {**VALID, "company_name": "Acme\x00"}, "company_name"),
    ("post", "", "sdr", {**VALID, "source": None}, "source"),
    ("post", "", "sdr", {**VALID, "source": ["referral"]}, "source"),
    ("post", "", "sdr", {**VALID, "segment": "galactic"}, "segment"),
    ("patch", "{id}/", "sdr", {"score": "abc"}, "score"),
    ("patch", "{id}/", "sdr", {"email": ["a@b.example"]}, "email"),
    ("patch", "{id}/", "sdr", {"version": "three"}, "version"),
    ("patch", "{id}/", "sdr", {"last_name": None}, "last_name"),
    ("post", "{id}/accept/", "sdr", {"reason": {"why": "yes"}}, "reason"),
    ("post", "{id}/accept/", "sdr", {"version": "abc"}, "version"),
    ("post", "{id}/reject/", "sdr", {"reason": None, "note": None}, "reason"),
    ("post", "{id}/reject/", "sdr", {}, "note"),
    ("post", "{id}/nurture/", "sdr", {"reason": ["later"]}, "reason"),
    ("post", "{id}/handoff/", "sdr", {"to_user": "abc"}, "to_user"),
    ("post", "{id}/handoff/", "sdr", {"to_user": HUGE}, "to_user"),
    ("post", "{id}/handoff/", "sdr", {MEETING: "next week"}, MEETING),
    ("post", "{id}/handoff/", "sdr", {MEETING: "99999-01-01T10:00"}, MEETING),
    ("post", "{id}/handoff/", "sdr", {MEETING: "9999-12-31T23:59:59"}, MEETING),
    ("post", "{id}/handoff/", "sdr", {MEETING: "0001-01-01T00:00:00+05:00"}, MEETING),
    ("post", "{id}/handoff/", "sdr", {MEETING: "2026-02-30T10:00"}, MEETING),
    ("post", "{id}/assign/", "manager", {"owner": "abc"}, "owner"),
    ("post", "{id}/assign/", "manager", {"owner": HUGE}, "owner"),
    ("post", "{id}/assign/", "manager", {"owner": None}, "owner"),
    ("post", "{id}/assign/", "manager", {"owner": {"id": 1}}, "owner"),
    ("post", "{id}/assign/", "revops", {"owner": 999_999}, "owner"),
    ("post", "{id}/discovery/", "ae", {"rating": "NaN"}, "rating"),
    ("post", "{id}/discovery/", "ae", {"rating": HUGE}, "rating"),
    ("post", "{id}/discovery/", "ae", {"held_at": "yesterday"}, "held_at"),
    ("post", "{id}/discovery/", "ae", {"held_at": "0001-01-01T00:00:00"}, "held_at"),
    ("post", "{id}/discovery/", "ae", {"repeated_discovery": "maybe"}, "repeated_discovery"),
    ("patch", "{id}/qualification/", "sdr", {"budget_status": "lots"}, "budget_status"),
    ("patch", "{id}/qualification/", "sdr", {TARGET: "2026-02-30"}, TARGET),
    ("patch", "{id}/qualification/", "sdr", {TARGET: "0001-01-01"}, TARGET),
    ("patch", "{id}/qualification/", "sdr", {"lead": 5}, "lead"),
    ("patch", "{id}/qualification/", "sdr", {"notes": {"a": 1}}, "notes"),
    ("post", "{id}/activities/", "sdr", {"kind": "telepathy", "subject": "x"}, "kind"),
    ("post", "{id}/activities/", "sdr", {"kind": "call", "subject": "x" * 100_000}, "subject"),
    ("post", "{id}/activities/", "sdr", {"kind": "call", AT: "99999-01-01"}, AT),
    ("post", "{id}/activities/", "sdr", {"kind": "call", "owner": 1}, "owner"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "field"),
    MALFORMED,
    ids=[f"{m} {p or 'create'} {f} {json.dumps(b)[:40]}" for m, p, _r, b, f in MALFORMED],
)
def test_a_malformed_value_is_a_client_error_naming_its_field(
    people, lead, method, path, role, body, field
):
    client = client_for(people[role])
    url = "/api/v1/leads/" + path.format(id=lead.pk)

    response = getattr(client, method)(url, body, format="json")

    assert_problems(response, field)


# --- query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [("owner=abc", "owner"), ("owner=1.5", "owner"), ("owner=" + "9" * 30, "owner"),
     ("owner=1e400", "owner"), ("status=zzz", "status"), ("source=fax", "source"),
     ("search=%00", "search")],
)  # fmt: skip
@pytest.mark.parametrize("role", ["sdr", "manager", "revops"])
def test_a_bad_filter_is_a_400_naming_it(people, lead, role, query, field):
    response = client_for(people[role]).get(f"/api/v1/leads/?{query}")

    assert response.status_code == 400
    assert_problems(response, field)


@pytest.mark.parametrize("path", ["9" * 30, "abc", "0"])
def test_a_lead_id_that_names_no_lead_is_a_json_404(people, path):
    client = client_for(people["revops"])
    for url in (f"/api/v1/leads/{path}/", f"/api/v1/leads/{path}/accept/"):
        method = client.get if url.endswith(f"{path}/") else client.post
        response = method(url, {}, format="json")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] in ("not_found", "unknown_endpoint")
