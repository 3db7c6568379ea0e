"""The leads API contract: paths, JSON errors with codes, ETags, scoping and roles."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead
from tests.factories import LeadFactory, QualificationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "company_name": "Brightwave Analytics",
    "last_name": "Tan",
    "email": "mei@brightwave.example",
    "source": "referral",
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _confirmed_sal(owner) -> Lead:
    lead = LeadFactory(owner=owner, status=Lead.Status.SAL)
    QualificationFactory(lead=lead, confirmed=True)
    return lead


def test_token_auth_round_trip(sdr):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/leads/").status_code == 401
    response = anonymous.post(
        "/api/v1/auth/token/", {"username": "sdr", "password": "pw-for-tests-1"}, format="json"
    )
    assert response.status_code == 200
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anonymous.get("/api/v1/leads/").status_code == 200


def test_bad_credentials_are_a_json_error():
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "authorization"


def test_create_returns_the_mql_with_an_etag(sdr):
    response = client_for(sdr).post("/api/v1/leads/", VALID, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "mql" and body["owner"]["username"] == "sdr"
    assert response["ETag"] == f'"{body["version"]}"'


def test_create_lists_every_intake_problem(sdr):
    response = client_for(sdr).post(
        "/api/v1/leads/", {"company_name": "", "source": "carrier-pigeon"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("company_name", "required"),
        ("last_name", "required"),
        ("email", "contact_unreachable"),
        ("source", "invalid_choice"),
    }
    response = client_for(sdr).post(
        "/api/v1/leads/", {"company_name": "", "score": 5}, format="json"
    )
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("company_name", "required"),
        ("last_name", "required"),
        ("email", "contact_unreachable"),
        ("source", "required"),
    }
    assert not Lead.objects.exists()


def test_list_is_scoped_filtered_and_cursor_paginated(sdr):
    mine = [LeadFactory(owner=sdr, source="inbound") for _ in range(3)]
    LeadFactory(owner=sdr, source="outbound", company_name="Zebra Freight")
    LeadFactory()  # someone else's
    client = client_for(sdr)

    page = client.get("/api/v1/leads/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"] and "count" not in page
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None

    inbound = client.get("/api/v1/leads/", {"source": "inbound"}).json()["results"]
    assert {row["id"] for row in inbound} == {lead.pk for lead in mine}
    found = client.get("/api/v1/leads/", {"search": "zebra"}).json()["results"]
    assert [row["company_name"] for row in found] == ["Zebra Freight"]
    assert client.get("/api/v1/leads/", {"owner": sdr.pk, "status": "mql"}).json()["results"]


def test_list_costs_the_same_queries_whatever_its_length(sdr, django_assert_max_num_queries):
    client = client_for(sdr)
    for _ in range(3):
        LeadFactory(owner=sdr)
    with django_assert_max_num_queries(4) as small:
        client.get("/api/v1/leads/")
    for _ in range(30):
        LeadFactory(owner=sdr)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/api/v1/leads/")


def test_someone_elses_lead_is_404(sdr):
    other = LeadFactory()
    client = client_for(sdr)
    assert client.get(f"/api/v1/leads/{other.pk}/").status_code == 404
    response = client.post(f"/api/v1/leads/{other.pk}/accept/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_readable_but_not_workable_is_403(sdr):
    team = TeamFactory(name="Readers", sdrs_see_team_leads=True)
    sdr.team = team
    sdr.save()
    colleague_lead = LeadFactory(team=team)
    client = client_for(sdr)
    assert client.get(f"/api/v1/leads/{colleague_lead.pk}/").status_code == 200
    response = client.post(f"/api/v1/leads/{colleague_lead.pk}/accept/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"


def test_patch_with_if_match_and_412_when_stale(sdr):
    lead = LeadFactory(owner=sdr)
    client = client_for(sdr)
    etag = client.get(f"/api/v1/leads/{lead.pk}/")["ETag"]
    ok = client.patch(f"/api/v1/leads/{lead.pk}/", {"score": 77}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok.json()["score"] == 77 and ok["ETag"] != etag
    stale = client.patch(
        f"/api/v1/leads/{lead.pk}/", {"score": 10}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412
    assert stale.json()["errors"][0]["code"] == "stale_version"
    by_field = client.patch(f"/api/v1/leads/{lead.pk}/", {"score": 10, "version": 1}, format="json")
    assert by_field.status_code == 412
    lead.refresh_from_db()
    assert lead.score == 77


def test_status_is_read_only(sdr):
    lead = LeadFactory(owner=sdr)
    response = client_for(sdr).patch(f"/api/v1/leads/{lead.pk}/", {"status": "sql"}, format="json")
    # Refused by name, not silently ignored: a client learns the step is an action.
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"code": "read_only", "field": "status", "message": response.json()["errors"][0]["message"]}
    ]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.MQL


def test_the_full_sdr_path_through_the_api(sdr, ae):
    client = client_for(sdr)
    lead_id = client.post("/api/v1/leads/", VALID, format="json").json()["id"]
    assert (
        client.post(f"/api/v1/leads/{lead_id}/accept/", {}, format="json").json()["status"] == "sal"
    )

    q = client.get(f"/api/v1/leads/{lead_id}/qualification/")
    assert q.json()["confirmed_count"] == 0
    patch = {
        "framework": "meddic",
        "need_status": "confirmed",
        "need_evidence": "Loses 30% of leads",
        "budget_status": "confirmed",
        "budget_evidence": "CFO has 100k",
        "authority_status": "confirmed",
        "authority_evidence": "COO signs",
    }
    updated = client.patch(
        f"/api/v1/leads/{lead_id}/qualification/", patch, format="json", HTTP_IF_MATCH=q["ETag"]
    )
    assert updated.status_code == 200 and updated.json()["confirmed_count"] == 3

    assert (
        client.post(f"/api/v1/leads/{lead_id}/qualify/", {}, format="json").json()["status"]
        == "sql"
    )

    handoff = {
        "to_user": ae.pk,
        "discovery_meeting_at": (timezone.now() + datetime.timedelta(days=1)).isoformat(),
        "company_background": "Fits ICP",
        "contacts_org_chart": "COO, Head of Sales",
        "pain_points": "Slow response",
        "engagement_history": "Two calls",
        "qualification_notes": "MEDDIC: M, E, I confirmed",
        "recommended_next_step": "Discovery with COO",
    }
    response = client.post(f"/api/v1/leads/{lead_id}/handoff/", handoff, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ae"]["username"] == "ae"
    statuses = [t["to_status"] for t in client.get(f"/api/v1/leads/{lead_id}/transitions/").json()]
    assert statuses == ["mql", "sal", "sql"]


def test_incomplete_handoff_lists_every_missing_field(sdr):
    lead = LeadFactory(owner=sdr, status=Lead.Status.SQL)
    response = client_for(sdr).post(
        f"/api/v1/leads/{lead.pk}/handoff/", {"pain_points": "Slow"}, format="json"
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {
        "company_background",
        "contacts_org_chart",
        "engagement_history",
        "qualification_notes",
        "recommended_next_step",
        "to_user",
        "discovery_meeting_at",
    }


def test_qualify_without_criteria_is_400_with_codes(sdr):
    lead = LeadFactory(owner=sdr, status=Lead.Status.SAL)
    response = client_for(sdr).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json")
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["errors"]} == {
        "need_unconfirmed",
        "budget_unconfirmed",
        "authority_unconfirmed",
    }


def test_illegal_transition_is_409(sdr):
    lead = _confirmed_sal(sdr)
    response = client_for(sdr).post(f"/api/v1/leads/{lead.pk}/accept/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_transition"


def test_reject_needs_reason_and_note(sdr):
    lead = LeadFactory(owner=sdr)
    client = client_for(sdr)
    response = client.post(
        f"/api/v1/leads/{lead.pk}/reject/", {"reason": "", "note": ""}, format="json"
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"reason", "note"}
    response = client.post(
        f"/api/v1/leads/{lead.pk}/reject/",
        {"reason": "no-intent", "note": "No project"},
        format="json",
    )
    assert response.json()["status"] == "rejected"
    assert response.json()["rejection_reason"] == "no-intent"


@pytest.mark.parametrize(
    ("action", "body"),
    [("nurture", {"reason": "x"}), ("disqualify", {"reason": "other", "note": "x"})],
)
def test_off_ramps_need_a_reason(sdr, action, body):
    lead = LeadFactory(owner=sdr)
    client = client_for(sdr)
    assert client.post(f"/api/v1/leads/{lead.pk}/{action}/", {}, format="json").status_code == 400
    response = client.post(f"/api/v1/leads/{lead.pk}/{action}/", body, format="json")
    assert response.status_code == 200


def test_activities_log_and_list(sdr):
    lead = LeadFactory(owner=sdr)
    client = client_for(sdr)
    response = client.post(
        f"/api/v1/leads/{lead.pk}/activities/", {"kind": "call", "subject": "Intro"}, format="json"
    )
    assert response.status_code == 201 and response.json()["is_first_contact"] is True
    assert len(client.get(f"/api/v1/leads/{lead.pk}/activities/").json()) == 1


def test_only_managers_and_revops_assign(sdr, revops):
    lead = LeadFactory(owner=sdr)
    other = UserFactory(sdr=True)
    assert (
        client_for(sdr)
        .post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": other.pk}, format="json")
        .status_code
        == 403
    )
    response = client_for(revops).post(
        f"/api/v1/leads/{lead.pk}/assign/", {"owner": other.pk}, format="json"
    )
    assert response.status_code == 200 and response.json()["owner"]["id"] == other.pk


def test_schema_is_served(sdr):
    response = client_for(sdr).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/leads/{id}/handoff/" in response.content


def test_a_leads_sla_clocks(sdr):
    lead_id = client_for(sdr).post("/api/v1/leads/", VALID, format="json").json()["id"]
    timers = client_for(sdr).get(f"/api/v1/leads/{lead_id}/sla/").json()
    by_policy = {t["policy"]["key"]: t for t in timers}
    assert by_policy["first-contact"]["state"] == "running"
    assert by_policy["first-contact"]["due_at"]
    assert by_policy["route-mql"]["met"] is True
    assert client_for(UserFactory(sdr=True)).get(f"/api/v1/leads/{lead_id}/sla/").status_code == 404
