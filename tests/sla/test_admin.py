"""The admin is a window, not a back door: timers are read-only, and policy and calendar
edits go through `sla.configuration`, leaving the same audit rows as /sla/ and the API."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange, SlaTimer
from tests.factories import UserFactory
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(admin=True, username="root")


def _policy_form(policy: SlaPolicy, **changes) -> dict:
    data = {
        "name": policy.name,
        "start_event": policy.start_event,
        "stop_event": policy.stop_event,
        "target_value": policy.target_value,
        "target_unit": policy.target_unit,
        "warn_at_percent": policy.warn_at_percent,
        "calendar": policy.calendar_id or "",
        "applies_to_sources": json.dumps(policy.applies_to_sources),
        "applies_to_segments": json.dumps(policy.applies_to_segments),
        "applies_to_teams": [t.pk for t in policy.applies_to_teams.all()],
        "escalation_chain": json.dumps(policy.escalation_chain),
        "is_active": "on" if policy.is_active else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def _calendar_form(calendar: BusinessCalendar, holidays=(), **changes) -> dict:
    data = {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "working_days": json.dumps(calendar.working_days),
        "work_starts": calendar.work_starts.strftime("%H:%M"),
        "work_ends": calendar.work_ends.strftime("%H:%M"),
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "holidays-TOTAL_FORMS": len(holidays),
        "holidays-INITIAL_FORMS": 0,
        "holidays-MIN_NUM_FORMS": 0,
        "holidays-MAX_NUM_FORMS": 1000,
    }
    for index, (day, name) in enumerate(holidays):
        data[f"holidays-{index}-date"] = day
        data[f"holidays-{index}-name"] = name
        data[f"holidays-{index}-calendar"] = calendar.pk
    data.update(changes)
    return data


def test_a_policy_edited_in_the_admin_is_audited_like_in_the_app(client, admin_user):
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sla_slapolicy_change", args=[policy.pk]),
        _policy_form(policy, target_value=12),
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.target_value, policy.updated_by) == (12, admin_user)
    [change] = SlaPolicyChange.objects.filter(policy=policy)
    assert change.actor == admin_user
    assert (change.old, change.new) == ({"target_value": 24}, {"target_value": 12})


def test_the_admin_refuses_what_the_service_refuses_in_its_words(client, admin_user):
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sla_slapolicy_change", args=[policy.pk]),
        _policy_form(policy, target_unit="business_hours", calendar=""),
    )

    assert response.status_code == 200
    assert "Business hours and days are counted on a calendar" in response.content.decode()
    assert SlaPolicy.objects.get(pk=policy.pk).target_unit == "hours"
    assert not SlaPolicyChange.objects.exists()


def test_a_policy_added_in_the_admin_is_created_by_the_service(client, admin_user):
    template = SlaPolicy.objects.get(key="first-contact")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sla_slapolicy_add"),
        {**_policy_form(template, name="Call back VIPs"), "key": "vip-call-back"},
    )

    assert response.status_code == 302
    policy = SlaPolicy.objects.get(key="vip-call-back")
    [change] = SlaPolicyChange.objects.filter(policy=policy)
    assert (change.actor, change.old) == (admin_user, {})
    assert change.new["key"] == "vip-call-back" and change.new["name"] == "Call back VIPs"


def test_a_calendar_and_its_holidays_edited_in_the_admin_are_audited(client, admin_user):
    calendar = BusinessCalendar.objects.get()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sla_businesscalendar_change", args=[calendar.pk]),
        _calendar_form(calendar, holidays=[("2031-08-18", "Company day")], work_ends="18:00"),
    )

    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.work_ends.strftime("%H:%M") == "18:00"
    assert [(h.date.isoformat(), h.name) for h in calendar.holidays.all()] == [
        ("2031-08-18", "Company day")
    ]
    changes = {tuple(sorted(c.new)): c for c in CalendarChange.objects.filter(calendar=calendar)}
    assert changes[("work_ends",)].old == {"work_ends": "17:00"}
    assert changes[("holidays",)].new == {"holidays": {"2031-08-18": "Company day"}}
    assert {c.actor for c in changes.values()} == {admin_user}


def test_timers_and_their_events_are_read_only_in_the_admin(client, admin_user, make_lead):
    timer = timer_of(make_lead(), "first-contact")
    client.force_login(admin_user)
    change_url = reverse("admin:sla_slatimer_change", args=[timer.pk])

    page = client.get(change_url)
    refused = client.post(change_url, {"due_at_0": "2000-01-01", "due_at_1": "00:00"})

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert refused.status_code == 403
    assert client.get(reverse("admin:sla_slatimer_add")).status_code == 403
    assert client.get(reverse("admin:sla_slaevent_add")).status_code == 403
    assert SlaTimer.objects.get(pk=timer.pk).due_at == timer.due_at


def test_staff_who_are_not_revops_only_read_the_settings(client):
    staff = UserFactory(manager=True, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sla", codename__in=["view_slapolicy", "change_slapolicy"]
        )
    )
    policy = SlaPolicy.objects.get(key="first-contact")
    client.force_login(staff)
    change_url = reverse("admin:sla_slapolicy_change", args=[policy.pk])

    assert client.get(change_url).status_code == 200
    assert client.post(change_url, _policy_form(policy, target_value=1)).status_code == 403
    assert SlaPolicy.objects.get(pk=policy.pk).target_value == 24
