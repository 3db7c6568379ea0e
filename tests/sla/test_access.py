"""Fetch and authorize, or raise: `sla.access` over the predicates of `sla.rules`."""

from __future__ import annotations

import pytest

from crm.exceptions import NotAllowed, NotFound
from sla.access import calendar_for, holiday_for, may, policy_for, timer_for
from sla.models import BusinessCalendar, CalendarHoliday, SlaPolicy
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db


def test_who_may_see_a_clock(owner, boss, revops_team, make_lead):
    timer = timer_of(make_lead(), "first-contact")
    team_reader = UserFactory(sdr=True, team=TeamFactory(sdrs_see_team_leads=True))

    for person in (owner, boss, revops_team[0]):
        assert timer_for(person, timer.pk) == timer
    for stranger in (UserFactory(sdr=True), UserFactory(manager=True), team_reader):
        with pytest.raises(NotFound):
            timer_for(stranger, timer.pk)


def test_a_clock_shows_to_whoever_may_view_its_lead(owner, make_lead):
    team = owner.team
    team.sdrs_see_team_leads = True
    team.save(update_fields=["sdrs_see_team_leads"])
    teammate = UserFactory(sdr=True, team=team)
    timer = timer_of(make_lead(), "first-contact")

    assert timer.responsible == owner
    assert timer_for(teammate, timer.pk) == timer


@pytest.mark.parametrize("timer_id", [987_654, "not-a-number", None])
def test_a_missing_clock_is_not_found(owner, timer_id):
    with pytest.raises(NotFound):
        timer_for(owner, timer_id)


def test_settings_are_read_by_all_seen_on_the_pages_by_managers_and_edited_by_revops(
    sdr, manager, revops
):
    assert [may(u, "read") for u in (sdr, manager, revops)] == [True, True, True]
    assert [may(u, "view") for u in (sdr, manager, revops)] == [False, True, True]
    assert [may(u, "edit") for u in (sdr, manager, revops)] == [False, False, True]


def test_settings_helpers_refuse_before_they_look(sdr, manager, revops):
    policy = SlaPolicy.objects.get(key="first-contact")
    calendar = BusinessCalendar.objects.get()

    with pytest.raises(NotAllowed):
        policy_for(sdr, policy.pk)
    with pytest.raises(NotAllowed):
        policy_for(sdr, 987_654)  # refused, not "not found": settings are not secret
    assert policy_for(manager, policy.pk) == policy
    with pytest.raises(NotAllowed, match="Only RevOps"):
        calendar_for(manager, calendar.pk, to="edit")
    assert calendar_for(revops, calendar.pk, to="edit") == calendar
    with pytest.raises(NotFound):
        policy_for(revops, 987_654, to="edit")


def test_a_holiday_is_found_only_on_its_own_calendar(revops, manager):
    calendar = BusinessCalendar.objects.get()
    other = BusinessCalendar.objects.create(name="Other", time_zone="UTC")
    holiday = CalendarHoliday.objects.create(calendar=calendar, date="2030-01-02", name="Day off")

    assert holiday_for(revops, holiday.pk, calendar_id=calendar.pk) == holiday
    with pytest.raises(NotFound):
        holiday_for(revops, holiday.pk, calendar_id=other.pk)
    with pytest.raises(NotAllowed):
        holiday_for(manager, holiday.pk, calendar_id=calendar.pk)
