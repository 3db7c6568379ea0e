"""RevOps edits policies and calendars: validated, audited (who, when, old -> new), applied
to new timers; running timers keep their target unless re-planned."""

from __future__ import annotations

import datetime

import pytest

from crm.exceptions import NotAllowed, ValidationFailed
from sla import configuration, selectors
from sla.business_time import CalendarSpec, add_business_time
from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange, SlaTimer
from sla.sweep import timers_sweep
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db


def _policy(key: str) -> SlaPolicy:
    return SlaPolicy.objects.get(key=key)


# --- policies -----------------------------------------------------------------------------------


def test_an_edit_is_audited_with_old_and_new_values(revops):
    policy = _policy("first-contact")

    edit = configuration.policy_update(
        policy_id=policy.pk,
        by=revops,
        data={"target_value": 12, "warn_at_percent": 50, "name": policy.name},
    )

    change = SlaPolicyChange.objects.get(policy=policy)
    assert change.actor == revops and change.changed_at is not None
    assert change.old == {"target_value": 24, "warn_at_percent": 75}
    assert change.new == {"target_value": 12, "warn_at_percent": 50}
    assert edit.replanned is None
    policy.refresh_from_db()
    assert policy.updated_by == revops


def test_saving_without_a_change_records_nothing(revops):
    policy = _policy("first-contact")
    edit = configuration.policy_update(policy_id=policy.pk, by=revops, data={"target_value": 24})
    assert not edit.changed
    assert not SlaPolicyChange.objects.exists()


def test_new_timers_use_the_new_target_and_running_ones_keep_theirs(revops, make_lead):
    before = make_lead()
    running = timer_of(before, "first-contact")

    configuration.policy_update(
        policy_id=running.policy_id, by=revops, data={"target_value": 4, "target_unit": "hours"}
    )
    after = make_lead()

    running.refresh_from_db()
    assert running.due_at - running.started_at == datetime.timedelta(hours=24)
    assert (running.target_value, running.target_unit) == (24, "hours")
    fresh = timer_of(after, "first-contact")
    assert fresh.due_at - fresh.started_at == datetime.timedelta(hours=4)


def test_re_planning_moves_running_timers_from_their_own_start(revops, make_lead):
    leads = [make_lead() for _ in range(3)]
    policy = _policy("first-contact")

    edit = configuration.policy_update(
        policy_id=policy.pk,
        by=revops,
        data={"target_value": 8, "target_unit": "hours", "warn_at_percent": 50},
        replan_running=True,
    )

    assert edit.replanned == 3
    for lead in leads:
        timer = timer_of(lead, "first-contact")
        assert timer.due_at - timer.started_at == datetime.timedelta(hours=8)
        assert timer.warn_at - timer.started_at == datetime.timedelta(hours=4)
        assert timer.next_check_at == timer.warn_at
        assert (timer.target_value, timer.target_unit) == (8, "hours")
    change = SlaPolicyChange.objects.get(policy=policy)
    assert change.new["replanned_running_timers"] == 3


def test_re_planning_business_time_uses_the_calendar(revops, make_lead):
    lead = make_lead()
    policy = _policy("accept-reject")

    configuration.policy_update(
        policy_id=policy.pk, by=revops, data={"target_value": 2}, replan_running=True
    )

    timer = timer_of(lead, "accept-reject")
    spec = CalendarSpec.from_calendar(policy.calendar)
    assert timer.due_at == add_business_time(timer.started_at, 2, "business_days", spec)


def test_re_planning_leaves_stopped_timers_alone(revops, owner, make_lead):
    from leads import services as lead_services

    lead = make_lead()
    lead_services.lead_accept(lead_id=lead.pk, by=owner)
    stopped = timer_of(lead, "accept-reject")

    configuration.policy_update(
        policy_id=stopped.policy_id, by=revops, data={"target_value": 1}, replan_running=True
    )

    assert timer_of(lead, "accept-reject").due_at == stopped.due_at


def test_a_longer_chain_reaches_timers_that_had_finished_escalating(revops, make_lead):
    # given a breached route-mql-like chain that is exhausted
    lead = make_lead()
    timer = timer_of(lead, "first-contact")
    timers_sweep(now=timer.due_at + datetime.timedelta(days=2))
    timer.refresh_from_db()
    assert timer.next_check_at is None and timer.escalation_level == 2

    # when RevOps adds a third level
    chain = [*timer.policy.escalation_chain, {"to": "revops", "after_minutes": 4320}]
    configuration.policy_update(
        policy_id=timer.policy_id, by=revops, data={"escalation_chain": chain}
    )

    timer.refresh_from_db()
    assert timer.next_check_at == timer.due_at + datetime.timedelta(minutes=4320)
    result = timers_sweep(now=timer.due_at + datetime.timedelta(days=3, minutes=1))
    assert result.escalations == 1


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"target_value": 0}, "target_value", "out_of_range"),
        ({"target_value": 400, "target_unit": "days"}, "target_value", "out_of_range"),
        ({"warn_at_percent": 100}, "warn_at_percent", "out_of_range"),
        ({"start_event": "assigned"}, "stop_event", "same_events"),
        ({"start_event": "converted"}, "start_event", "invalid_choice"),
        ({"target_unit": "fortnights"}, "target_unit", "invalid_choice"),
        ({"target_unit": "business_hours", "calendar": None}, "calendar", "calendar_required"),
        ({"applies_to_sources": ["carrier-pigeon"]}, "applies_to_sources", "invalid_choice"),
        (
            {"escalation_chain": [{"to": "ceo", "after_minutes": 5}]},
            "escalation_chain.1",
            "invalid_choice",
        ),
        (
            {
                "escalation_chain": [
                    {"to": "manager", "after_minutes": 60},
                    {"to": "revops", "after_minutes": 30},
                ]
            },
            "escalation_chain.2",
            "out_of_order",
        ),
        ({"escalation_chain": "manager"}, "escalation_chain", "invalid"),
        ({"name": " "}, "name", "required"),
    ],
)
def test_invalid_settings_are_refused_with_the_field_named(revops, data, field, code):
    policy = _policy("route-mql")

    with pytest.raises(ValidationFailed) as caught:
        configuration.policy_update(policy_id=policy.pk, by=revops, data=data)

    assert (code, field) in {(p.code, p.field) for p in caught.value.problems}
    assert not SlaPolicyChange.objects.exists()


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_only_revops_may_change_policies_and_calendars(role):
    from tests.factories import UserFactory

    user = UserFactory(role=role)
    policy = _policy("first-contact")
    calendar = policy.calendar

    with pytest.raises(NotAllowed):
        configuration.policy_update(policy_id=policy.pk, by=user, data={"target_value": 1})
    with pytest.raises(NotAllowed):
        configuration.calendar_update(calendar_id=calendar.pk, by=user, data={"name": "X"})
    assert _policy("first-contact").target_value == 24


def test_revops_creates_a_policy_scoped_to_a_team(revops, make_lead, owner):
    calendar = BusinessCalendar.objects.get()
    policy = configuration.policy_create(
        by=revops,
        data={
            "key": "jakarta-first-touch",
            "name": "Jakarta: first contact within 4 business hours",
            "start_event": "assigned",
            "stop_event": "first_contact",
            "target_value": 4,
            "target_unit": "business_hours",
            "calendar": calendar,
            "applies_to_teams": [owner.team],
            "escalation_chain": [{"to": "manager", "after_minutes": 60}],
        },
    )

    assert SlaPolicyChange.objects.get(policy=policy).new["key"] == "jakarta-first-touch"
    lead = make_lead()
    assert timer_of(lead, "jakarta-first-touch").responsible == owner
    other_team_lead = make_lead(owner_=UserFactory(sdr=True, team=TeamFactory(name="Other")))
    assert not SlaTimer.objects.filter(lead=other_team_lead, policy=policy).exists()


def test_a_duplicate_key_is_refused(revops):
    with pytest.raises(ValidationFailed) as caught:
        configuration.policy_create(
            by=revops,
            data={
                "key": "first-contact",
                "name": "Again",
                "start_event": "assigned",
                "stop_event": "first_contact",
                "target_value": 1,
                "target_unit": "hours",
            },
        )
    assert ("duplicate", "key") in {(p.code, p.field) for p in caught.value.problems}


# --- calendars ----------------------------------------------------------------------------------


def test_a_calendar_edit_is_audited_and_counts_for_new_timers_only(revops, make_lead):
    calendar = BusinessCalendar.objects.get()
    before = timer_of(make_lead(), "accept-reject")

    configuration.calendar_update(
        calendar_id=calendar.pk,
        by=revops,
        data={
            "time_zone": "Asia/Jakarta",
            "working_days": [0, 1, 2, 3, 4, 5],
            "work_starts": datetime.time(8),
            "holiday_country": "id",
        },
    )

    change = CalendarChange.objects.get(calendar=calendar)
    assert change.old == {
        "time_zone": "UTC",
        "working_days": [0, 1, 2, 3, 4],
        "work_starts": "09:00",
        "holiday_country": "",
    }
    assert change.new["holiday_country"] == "ID" and change.new["work_starts"] == "08:00"
    assert timer_of(before.lead, "accept-reject").due_at == before.due_at
    after = timer_of(make_lead(), "accept-reject")
    calendar.refresh_from_db()
    spec = CalendarSpec.from_calendar(calendar)
    assert after.due_at == add_business_time(after.started_at, 5, "business_days", spec)


def test_custom_holidays_push_due_times_and_are_audited(revops, make_lead):
    calendar = BusinessCalendar.objects.get()
    probe = timer_of(make_lead(), "accept-reject")
    # a company holiday on the first working day after the start
    spec = CalendarSpec.from_calendar(calendar)
    day = probe.started_at.date() + datetime.timedelta(days=1)
    while not spec.is_working_date(day):
        day += datetime.timedelta(days=1)

    holiday = configuration.calendar_holiday_add(
        calendar_id=calendar.pk, by=revops, date=day, name="Company offsite"
    )
    later = timer_of(make_lead(), "accept-reject")

    assert later.due_at > probe.due_at + datetime.timedelta(hours=20)
    assert CalendarChange.objects.filter(new__holiday_added__name="Company offsite").exists()
    with pytest.raises(ValidationFailed):
        configuration.calendar_holiday_add(
            calendar_id=calendar.pk, by=revops, date=day, name="Twice"
        )
    configuration.calendar_holiday_remove(holiday_id=holiday.pk, by=revops)
    assert not calendar.holidays.exists()
    assert CalendarChange.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"working_days": []}, "working_days"),
        ({"working_days": [7]}, "working_days"),
        ({"work_starts": datetime.time(18)}, "work_ends"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "US", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_calendars_are_refused(revops, data, field):
    calendar = BusinessCalendar.objects.get()
    with pytest.raises(ValidationFailed) as caught:
        configuration.calendar_update(calendar_id=calendar.pk, by=revops, data=data)
    assert field in {p.field for p in caught.value.problems}


def test_replacing_custom_holidays_records_what_changed(revops):
    calendar = BusinessCalendar.objects.get()
    xmas, nye, offsite = (
        datetime.date(2030, 12, 25),
        datetime.date(2030, 12, 31),
        datetime.date(2030, 6, 1),
    )
    configuration.calendar_holidays_replace(
        calendar_id=calendar.pk, by=revops, holidays=[(xmas, "Christmas"), (nye, "NYE")]
    )
    configuration.calendar_holidays_replace(
        calendar_id=calendar.pk, by=revops, holidays=[(xmas, "Christmas Day"), (offsite, "Offsite")]
    )

    assert dict(calendar.holidays.values_list("date", "name")) == {
        xmas: "Christmas Day",
        offsite: "Offsite",
    }
    last = CalendarChange.objects.filter(calendar=calendar).first()
    assert last.old == {"holidays": {"2030-12-31": "NYE", "2030-12-25": "Christmas"}}
    assert last.new == {"holidays": {"2030-06-01": "Offsite", "2030-12-25": "Christmas Day"}}


def test_upcoming_public_holidays_come_from_the_holidays_package():
    calendar = BusinessCalendar.objects.create(
        name="Jakarta", time_zone="Asia/Jakarta", holiday_country="ID"
    )
    days = selectors.upcoming_public_holidays(calendar, today=datetime.date(2030, 1, 1))
    assert days and days[0][0] == datetime.date(2030, 1, 1)  # New Year's Day
    assert all(d >= datetime.date(2030, 1, 1) for d, _name in days)


def test_team_scoping_uses_the_leads_team(revops, make_lead):
    other = TeamFactory(name="Elsewhere")
    policy = _policy("first-contact")
    configuration.policy_update(policy_id=policy.pk, by=revops, data={"applies_to_teams": [other]})

    lead = make_lead()

    assert not SlaTimer.objects.filter(lead=lead, policy=policy).exists()
    change = SlaPolicyChange.objects.get(policy=policy)
    assert change.old == {"applies_to_teams": []} and change.new == {
        "applies_to_teams": ["Elsewhere"]
    }
