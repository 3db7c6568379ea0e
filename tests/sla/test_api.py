"""/api/v1/sla/policies/ and /api/v1/sla/calendars/: everyone reads, RevOps writes."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from sla.api.serializers import SlaTimerSerializer
from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange, SlaTimer
from tests.factories import UserFactory
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/sla/policies/"
CALENDARS = "/api/v1/sla/calendars/"


@pytest.fixture
def api():
    def _as(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _as


def test_anyone_signed_in_reads_the_policies(api, sdr):
    response = api(sdr).get(POLICIES)

    assert response.status_code == 200
    by_key = {p["key"]: p for p in response.json()}
    assert set(by_key) == {
        "route-mql",
        "first-contact",
        "accept-reject",
        "discovery-call",
        "convert-after-discovery",
    }
    accept = by_key["accept-reject"]
    assert (accept["target_value"], accept["target_unit"]) == (5, "business_days")
    assert accept["escalation_chain"][0] == {"to": "manager", "after_minutes": 480}
    assert accept["calendar"] == BusinessCalendar.objects.get().pk
    assert "replan_running_timers" not in accept


def test_anonymous_callers_are_refused(client):
    response = client.get(POLICIES)
    assert response.status_code in (401, 403)
    assert response.json()["errors"][0]["code"] in ("not_authenticated", "authentication_failed")


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_other_roles_get_403_in_the_error_shape(api, role):
    user = UserFactory(role=role)
    policy = SlaPolicy.objects.get(key="first-contact")

    patch = api(user).patch(f"{POLICIES}{policy.pk}/", {"target_value": 1}, format="json")
    post = api(user).post(CALENDARS, {"name": "X"}, format="json")

    assert patch.status_code == post.status_code == 403
    assert patch.json() == {
        "errors": [
            {
                "code": "permission_denied",
                "field": None,
                "message": "Only RevOps may change SLA policies and calendars.",
            }
        ]
    }
    assert SlaPolicy.objects.get(pk=policy.pk).target_value == 24


def test_revops_patches_a_policy_and_may_re_plan(api, revops, make_lead):
    lead = make_lead()
    policy = SlaPolicy.objects.get(key="first-contact")

    response = api(revops).patch(
        f"{POLICIES}{policy.pk}/",
        {
            "target_value": 6,
            "escalation_chain": [{"to": "manager", "after_minutes": 30}],
            "replan_running_timers": True,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["target_value"] == 6
    assert response.json()["updated_by"]["username"] == revops.username
    timer = timer_of(lead, "first-contact")
    assert timer.due_at - timer.started_at == datetime.timedelta(hours=6)
    change = SlaPolicyChange.objects.get(policy=policy)
    assert change.new["replanned_running_timers"] == 1
    history = api(revops).get(f"{POLICIES}{policy.pk}/changes/").json()
    assert history[0]["old"]["target_value"] == 24 and history[0]["actor"]["id"] == revops.pk


def test_the_key_cannot_change_after_creation(api, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    api(revops).patch(f"{POLICIES}{policy.pk}/", {"key": "renamed"}, format="json")
    assert SlaPolicy.objects.filter(key="first-contact").exists()


def test_every_problem_comes_back_at_once(api, revops):
    policy = SlaPolicy.objects.get(key="first-contact")

    response = api(revops).patch(
        f"{POLICIES}{policy.pk}/",
        {
            "target_value": 0,
            "warn_at_percent": 120,
            "applies_to_sources": ["fax"],
            "escalation_chain": [
                {"to": "manager", "after_minutes": 60},
                {"to": "revops", "after_minutes": 10},
            ],
        },
        format="json",
    )

    assert response.status_code == 400
    problems = {(e["code"], e["field"]) for e in response.json()["errors"]}
    assert problems == {
        ("out_of_range", "target_value"),
        ("out_of_range", "warn_at_percent"),
        ("invalid_choice", "applies_to_sources"),
        ("out_of_order", "escalation_chain.2"),
    }


def test_serializer_level_errors_use_the_same_shape(api, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    response = api(revops).patch(
        f"{POLICIES}{policy.pk}/",
        {"start_event": "sunrise", "escalation_chain": [{"to": "ceo"}]},
        format="json",
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert "start_event" in fields
    assert any(f and f.startswith("escalation_chain") for f in fields)


def test_revops_creates_a_policy(api, revops):
    calendar = BusinessCalendar.objects.get()

    response = api(revops).post(
        POLICIES,
        {
            "key": "enterprise-first-touch",
            "name": "Enterprise: first contact within 2 business hours",
            "start_event": "assigned",
            "stop_event": "first_contact",
            "target_value": 2,
            "target_unit": "business_hours",
            "calendar": calendar.pk,
            "applies_to_segments": ["enterprise"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["warn_at_percent"] == 75
    assert SlaPolicy.objects.get(key="enterprise-first-touch").applies_to_segments == ["enterprise"]


def test_calendars_with_custom_holidays(api, revops, sdr):
    created = api(revops).post(
        CALENDARS,
        {
            "name": "Jakarta office",
            "time_zone": "Asia/Jakarta",
            "working_days": [0, 1, 2, 3, 4],
            "work_starts": "08:00",
            "work_ends": "17:00",
            "holiday_country": "ID",
            "holidays": [{"date": "2031-08-18", "name": "Company day"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["holidays"] == [{"date": "2031-08-18", "name": "Company day"}]

    patched = api(revops).patch(
        f"{CALENDARS}{body['id']}/",
        {"work_ends": "16:00", "holidays": []},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["work_ends"] == "16:00:00" and patched.json()["holidays"] == []
    assert CalendarChange.objects.filter(calendar_id=body["id"]).count() == 4
    assert api(sdr).get(f"{CALENDARS}{body['id']}/changes/").status_code == 200

    bad = api(revops).patch(
        f"{CALENDARS}{body['id']}/",
        {"time_zone": "Mars/Olympus", "working_days": []},
        format="json",
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} >= {"time_zone", "working_days"}


def test_delete_and_put_are_not_offered(api, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    assert api(revops).delete(f"{POLICIES}{policy.pk}/").status_code == 405


@pytest.mark.parametrize(
    ("shift", "stopped", "met", "state"),
    [
        (datetime.timedelta(hours=-1), False, None, "running"),
        (datetime.timedelta(hours=20), False, None, "at_risk"),
        (datetime.timedelta(hours=25), False, None, "overdue"),
        (datetime.timedelta(hours=1), True, True, "met"),
        (datetime.timedelta(hours=1), True, False, "missed"),
        (datetime.timedelta(hours=1), True, None, "cancelled"),
    ],
)
def test_the_timer_serializer_reports_a_state(make_lead, shift, stopped, met, state):
    timer = timer_of(make_lead(), "first-contact")
    if stopped:
        SlaTimer.objects.filter(pk=timer.pk).update(stopped_at=timer.started_at + shift, met=met)
        timer.refresh_from_db()

    data = SlaTimerSerializer(timer, context={"now": timer.started_at + shift}).data

    assert data["state"] == state
    assert data["policy"] == {"key": "first-contact", "name": timer.policy.name}
    assert set(data) == {
        "id",
        "policy",
        "started_at",
        "warn_at",
        "due_at",
        "stopped_at",
        "met",
        "breached_at",
        "escalation_level",
        "state",
    }


def test_the_schema_documents_the_sla_endpoints(client, revops):
    client.force_login(revops)  # the schema is for signed-in users (API_SCHEMA_PUBLIC=0)
    response = client.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert "/api/v1/sla/policies/" in paths and "/api/v1/sla/calendars/{id}/" in paths


def test_a_leads_clocks_are_served_by_sla_to_whoever_may_view_the_lead(api, owner, boss, make_lead):
    lead = make_lead()
    url = f"/api/v1/leads/{lead.pk}/sla/"

    rows = api(boss).get(url).json()

    assert [(r["policy"]["key"], r["state"]) for r in rows] == [
        ("first-contact", "running"),
        ("accept-reject", "running"),
        ("route-mql", "met"),
    ]
    assert api(owner).get(url).json() == rows
    stranger = api(UserFactory(sdr=True)).get(url)
    assert stranger.status_code == 404
    assert stranger.json()["errors"][0]["code"] == "not_found"
    assert api(owner).get("/api/v1/leads/987654/sla/").status_code == 404
    assert APIClient().get(url).status_code in (401, 403)


def test_the_schema_documents_a_leads_clocks(api, owner):
    schema = api(owner).get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/leads/{id}/sla/"]["get"]
    assert operation["operationId"] == "v1_leads_sla_list"
    items = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    assert items == {"$ref": "#/components/schemas/SlaTimer"}
