"""Every problem at once, never a 500: the SLA settings API answers malformed writes with
400 and `{"errors": [...]}` naming the field (the serializer's and `sla.configuration`'s
problems together), refuses unknown and read-only keys, and changes nothing."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/sla/policies/"
CALENDARS = "/api/v1/sla/calendars/"
HUGE = 10**30
NEW_POLICY = {
    "key": "enterprise-first-touch",
    "name": "Enterprise: first contact within 2 hours",
    "start_event": "assigned",
    "stop_event": "first_contact",
    "target_value": 2,
    "target_unit": "hours",
}
NEW_CALENDAR = {
    "name": "Jakarta office",
    "time_zone": "Asia/Jakarta",
    "working_days": [0, 1, 2, 3, 4],
    "work_starts": "08:00",
    "work_ends": "17:00",
}


def client_for(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def assert_problems(response, *fields: str | None) -> list[dict]:
    """A 400 (never a 500) in the one JSON shape, naming each of `fields`."""
    assert response.status_code == 400, (response.status_code, response.content)
    errors = response.json()["errors"]
    assert errors and all(set(e) == {"code", "field", "message"} for e in errors)
    assert set(fields) <= {e["field"] for e in errors}, errors
    return errors


@pytest.fixture
def audit_rows():
    def count() -> tuple[int, int, int, int]:
        return (
            SlaPolicy.objects.count(),
            BusinessCalendar.objects.count(),
            SlaPolicyChange.objects.count(),
            CalendarChange.objects.count(),
        )

    return count


def _policy() -> SlaPolicy:
    return SlaPolicy.objects.get(key="first-contact")


def _calendar() -> BusinessCalendar:
    return BusinessCalendar.objects.get()


# (method, url (a callable for a row's url), body, the field that must be named)
MALFORMED = [
    ("post", POLICIES, {**NEW_POLICY, "target_value": "abc"}, "target_value"),
    ("post", POLICIES, {**NEW_POLICY, "target_value": HUGE}, "target_value"),
    ("post", POLICIES, {**NEW_POLICY, "target_value": "NaN"}, "target_value"),
    ("post", POLICIES, {**NEW_POLICY, "target_value": None}, "target_value"),
    ("post", POLICIES, {**NEW_POLICY, "start_event": "lunch"}, "start_event"),
    ("post", POLICIES, {**NEW_POLICY, "name": {"en": "x"}}, "name"),
    ("post", POLICIES, {**NEW_POLICY, "name": "x" * 100_000}, "name"),
    ("post", POLICIES, {**NEW_POLICY, "calendar": "abc"}, "calendar"),
    ("post", POLICIES, {**NEW_POLICY, "calendar": HUGE}, "calendar"),
    ("post", POLICIES, {**NEW_POLICY, "applies_to_teams": ["abc"]}, "applies_to_teams"),
    ("post", POLICIES, {**NEW_POLICY, "applies_to_teams": [HUGE]}, "applies_to_teams"),
    ("post", POLICIES, {**NEW_POLICY, "applies_to_sources": "inbound"}, "applies_to_sources"),
    ("post", POLICIES, {**NEW_POLICY, "applies_to_sources": ["fax"]}, "applies_to_sources"),
    ("post", POLICIES, {**NEW_POLICY, "escalation_chain": {"to": "manager"}}, "escalation_chain"),
    ("post", POLICIES, {**NEW_POLICY, "escalation_chain": [{"to": "ceo", "after_minutes": 5}]},
     "escalation_chain.0.to"),
    ("post", POLICIES, {**NEW_POLICY, "escalation_chain": [{"to": "manager", "after_minutes": 5,
                                                            "cc": "boss"}]},
     "escalation_chain.0.cc"),
    ("post", POLICIES, {**NEW_POLICY, "escalation_chain": [{"to": "manager",
                                                            "after_minutes": HUGE}]},
     "escalation_chain.0.after_minutes"),
    ("post", POLICIES, {**NEW_POLICY, "id": 5}, "id"),
    ("post", POLICIES, {**NEW_POLICY, "updated_by": 1}, "updated_by"),
    ("post", POLICIES, {**NEW_POLICY, "colour": "red"}, "colour"),
    ("patch", "policy", {"key": "renamed"}, "key"),
    ("patch", "policy", {"target_value": "abc", "warn_at_percent": 120}, "warn_at_percent"),
    ("patch", "policy", {"is_active": "perhaps"}, "is_active"),
    ("patch", "policy", {"replan_running_timers": [True]}, "replan_running_timers"),
    ("patch", "policy", {"colour": "red"}, "colour"),
    ("post", CALENDARS, {**NEW_CALENDAR, "working_days": [9]}, "working_days.0"),
    ("post", CALENDARS, {**NEW_CALENDAR, "working_days": "weekdays"}, "working_days"),
    ("post", CALENDARS, {**NEW_CALENDAR, "work_starts": "25:00"}, "work_starts"),
    ("post", CALENDARS, {**NEW_CALENDAR, "time_zone": ["UTC"]}, "time_zone"),
    ("post", CALENDARS, {**NEW_CALENDAR, "holidays": [{"date": "2026-02-30", "name": "x"}]},
     "holidays.0.date"),
    ("post", CALENDARS, {**NEW_CALENDAR, "holidays": [{"date": "0001-01-01", "name": "x"}]},
     "holidays.0.date"),
    ("post", CALENDARS, {**NEW_CALENDAR, "holidays": [{"date": "2031-01-01", "name": "x",
                                                       "paid": True}]},
     "holidays.0.paid"),
    ("post", CALENDARS, {**NEW_CALENDAR, "holidays": {"date": "2031-01-01"}}, "holidays"),
    ("post", CALENDARS, {**NEW_CALENDAR, "id": 3}, "id"),
    ("patch", "calendar", {"work_ends": "noon"}, "work_ends"),
    ("patch", "calendar", {"holiday_country": {"code": "ID"}}, "holiday_country"),
    ("patch", "calendar", {"colour": "red"}, "colour"),
]  # fmt: skip


def _url(url: str) -> str:
    if url == "policy":
        return f"{POLICIES}{_policy().pk}/"
    if url == "calendar":
        return f"{CALENDARS}{_calendar().pk}/"
    return url


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    MALFORMED,
    ids=[f"{m} {u.strip('/').split('/')[-1]} {json.dumps(b)[-50:]}" for m, u, b, _f in MALFORMED],
)
def test_a_malformed_write_is_a_400_naming_the_field(revops, audit_rows, method, url, body, field):
    before = audit_rows()

    response = getattr(client_for(revops), method)(_url(url), body, format="json")

    assert_problems(response, field)
    assert audit_rows() == before


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null"])
@pytest.mark.parametrize(
    ("method", "url"),
    [("post", POLICIES), ("patch", "policy"), ("post", CALENDARS), ("patch", "calendar")],
)
def test_a_body_that_is_not_an_object_is_a_400(revops, method, url, body):
    response = getattr(client_for(revops), method)(_url(url), body, content_type="application/json")

    assert_problems(response, None)


def test_a_new_policy_reports_the_serializer_and_the_service_problems_together(revops):
    body = {**NEW_POLICY, "target_value": "two", "warn_at_percent": 150, "stop_event": "assigned"}

    response = client_for(revops).post(POLICIES, body, format="json")

    errors = assert_problems(response, "target_value", "warn_at_percent", "stop_event")
    fields = [e["field"] for e in errors]
    assert len(fields) == len(set(fields)), errors


def test_a_policy_edit_reports_the_serializer_and_the_service_problems_together(revops):
    body = {"target_value": "two", "warn_at_percent": 150, "applies_to_sources": ["fax"]}

    response = client_for(revops).patch(f"{POLICIES}{_policy().pk}/", body, format="json")

    assert_problems(response, "target_value", "warn_at_percent", "applies_to_sources")


def test_a_calendar_edit_reports_the_serializer_and_the_service_problems_together(revops):
    body = {"work_starts": "noon", "time_zone": "Mars/Olympus", "working_days": []}

    response = client_for(revops).patch(f"{CALENDARS}{_calendar().pk}/", body, format="json")

    assert_problems(response, "work_starts", "time_zone", "working_days")


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_other_roles_are_refused_before_their_body_is_read(role):
    user = UserFactory(**{role: True})

    response = client_for(user).patch(
        f"{POLICIES}{_policy().pk}/", "[1]", content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["policies/abc/", "policies/" + "9" * 30 + "/", "nothing/"])
def test_an_unknown_sla_path_is_a_json_404(revops, path):
    response = client_for(revops).get(f"/api/v1/sla/{path}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] in ("not_found", "unknown_endpoint")
