"""Report-shaped reads: compliance per policy/user/team/source and response times, in
aggregate SQL with a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leads.models import Lead
from sla.models import SlaTimer
from sla.selectors import compliance_by, has_overdue_timer, response_times, sla_summary
from tests.factories import LeadFactory, TeamFactory, UserFactory
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2030, 3, 15, 12, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)


def _finish(timer: SlaTimer, *, met: bool | None, due: datetime.datetime) -> None:
    SlaTimer.objects.filter(pk=timer.pk).update(
        due_at=due, warn_at=due - H, stopped_at=due - H if met else due + H, met=met
    )


@pytest.fixture
def record(make_lead, owner):
    """Timers due in March 2030: first-contact met twice, missed once, one still running
    overdue; accept-reject: one met, one cancelled, one running on time."""
    leads = [make_lead(source="inbound") for _ in range(3)] + [make_lead(source="referral")]
    first = [timer_of(lead, "first-contact") for lead in leads]
    accept = [timer_of(lead, "accept-reject") for lead in leads[:3]]
    _finish(first[0], met=True, due=NOW - 48 * H)
    _finish(first[1], met=True, due=NOW - 24 * H)
    _finish(first[2], met=False, due=NOW - 24 * H)
    SlaTimer.objects.filter(pk=first[3].pk).update(due_at=NOW - 2 * H, warn_at=NOW - 3 * H)
    _finish(accept[0], met=True, due=NOW - 10 * H)
    _finish(accept[1], met=None, due=NOW - 10 * H)
    SlaTimer.objects.filter(pk=accept[2].pk).update(due_at=NOW + 24 * H, warn_at=NOW + 20 * H)
    # outside the period: ignored
    SlaTimer.objects.filter(pk=timer_of(leads[3], "accept-reject").pk).update(
        due_at=NOW - 90 * 24 * H
    )
    return leads


def _march() -> dict:
    return {
        "start": datetime.datetime(2030, 3, 1, tzinfo=datetime.UTC),
        "end": datetime.datetime(2030, 4, 1, tzinfo=datetime.UTC),
        "now": NOW,
    }


def test_compliance_by_policy(record, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = {row.label: row for row in compliance_by("policy", **_march())}

    first = rows["First contact within 24 hours of assignment"]
    assert (first.met, first.breached, first.running_overdue, first.total) == (2, 1, 1, 4)
    assert first.rate == pytest.approx(2 / 4)
    accept = rows["Accept or reject within 5 business days"]
    assert (accept.met, accept.breached, accept.cancelled, accept.running, accept.total) == (
        1,
        0,
        1,
        1,
        3,
    )
    assert accept.rate == 1.0


def test_compliance_by_source_user_and_team(record, owner):
    by_source = {row.key: row for row in compliance_by("source", **_march())}
    assert by_source["referral"].label == "Referral"
    assert (by_source["referral"].running_overdue, by_source["referral"].total) == (1, 1)
    assert by_source["inbound"].total == 6

    [by_user] = compliance_by("user", **_march())
    assert by_user.key == owner.pk and by_user.label == "Dewi Lestari"
    assert by_user.total == 7

    [by_team] = compliance_by("team", **_march())
    assert by_team.label == "Jakarta Inbound" and by_team.met == 3


def test_compliance_is_scoped_to_what_the_user_may_see(record, boss):
    stranger = UserFactory(manager=True, username="stranger")
    assert sum(r.total for r in compliance_by("policy", scope_user=boss, **_march())) == 7
    assert compliance_by("policy", scope_user=stranger, **_march()) == []


def test_a_group_with_nothing_decided_has_no_rate(make_lead):
    timer = timer_of(make_lead(), "first-contact")
    [row] = [
        r
        for r in compliance_by(
            "policy", start=timer.due_at - H, end=timer.due_at + H, now=timer.started_at
        )
        if r.key == timer.policy_id
    ]
    assert row.rate is None and row.running == 1


def test_unknown_dimensions_are_refused():
    with pytest.raises(ValueError, match="dimension"):
        compliance_by("planet", start=NOW, end=NOW)


def _assigned(*, minutes_to_contact, minutes_to_accept, source="inbound", owner=None, team=None):
    assigned = NOW - 10 * 24 * H
    LeadFactory(
        owner=owner,
        team=team,
        source=source,
        assigned_at=assigned,
        first_contacted_at=(
            assigned + datetime.timedelta(minutes=minutes_to_contact)
            if minutes_to_contact is not None
            else None
        ),
        accepted_at=(
            assigned + datetime.timedelta(minutes=minutes_to_accept)
            if minutes_to_accept is not None
            else None
        ),
    )


def test_response_times_give_exact_medians_and_averages(django_assert_max_num_queries):
    # contact after 10, 20, 30, 100 minutes (median 25, avg 40); accepted after 60, 120, 600
    for contact, accept in ((10, 60), (20, 120), (30, 600), (100, None)):
        _assigned(minutes_to_contact=contact, minutes_to_accept=accept)
    _assigned(minutes_to_contact=None, minutes_to_accept=None)

    with django_assert_max_num_queries(3):
        [row] = response_times(start=NOW - 30 * 24 * H, end=NOW)

    assert row.leads == 5
    assert row.first_contact_count == 4
    assert _minutes(row.first_contact_median) == pytest.approx(25, abs=0.01)
    assert _minutes(row.first_contact_avg) == pytest.approx(40, abs=0.01)
    assert row.acceptance_count == 3
    assert _minutes(row.acceptance_median) == pytest.approx(120, abs=0.01)
    assert _minutes(row.acceptance_avg) == pytest.approx(260, abs=0.01)


def test_response_times_per_source_team_and_owner():
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    ana, ben = UserFactory(sdr=True, first_name="Ana"), UserFactory(sdr=True, first_name="Ben")
    _assigned(
        minutes_to_contact=10, minutes_to_accept=None, source="referral", owner=ana, team=east
    )
    _assigned(
        minutes_to_contact=30, minutes_to_accept=None, source="referral", owner=ana, team=east
    )
    _assigned(minutes_to_contact=90, minutes_to_accept=None, source="event", owner=ben, team=west)
    period = {"start": NOW - 30 * 24 * H, "end": NOW}

    by_source = {r.label: r for r in response_times(dimension="source", **period)}
    by_team = {r.label: r for r in response_times(dimension="team", **period)}
    by_user = {r.key: r for r in response_times(dimension="user", **period)}

    assert _minutes(by_source["Referral"].first_contact_median) == pytest.approx(20, abs=0.01)
    assert _minutes(by_source["Event / webinar"].first_contact_median) == pytest.approx(
        90, abs=0.01
    )
    assert by_team["East"].leads == 2 and by_team["West"].leads == 1
    assert _minutes(by_user[ben.pk].first_contact_avg) == pytest.approx(90, abs=0.01)
    assert by_user[ana.pk].acceptance_median is None


def test_summary_and_lead_filter_share_the_overdue_predicate(make_lead, revops):
    lead = make_lead()
    timer = timer_of(lead, "first-contact")

    at_due = sla_summary(revops, now=timer.due_at, since=timer.started_at)
    before = sla_summary(
        revops, now=timer.due_at - datetime.timedelta(seconds=1), since=timer.started_at
    )

    assert at_due.overdue == 1 and before.overdue == 0 and before.at_risk == 1
    assert list(Lead.objects.filter(has_overdue_timer(timer.due_at))) == [lead]
    assert not Lead.objects.filter(has_overdue_timer(timer.due_at - H)).exists()
    assert timer.state(timer.due_at) == "overdue"


def _minutes(value: datetime.timedelta | None) -> float:
    assert value is not None
    return value.total_seconds() / 60


def test_due_between_finds_running_timers_due_in_a_window(make_lead):
    timer = timer_of(make_lead(), "first-contact")
    day_start = timer.due_at - H
    assert SlaTimer.objects.due_between(day_start, day_start + 2 * H).filter(pk=timer.pk).exists()
    assert (
        not SlaTimer.objects.due_between(timer.due_at, timer.due_at + H)
        .filter(pk=timer.pk)
        .exclude(due_at=timer.due_at)
        .exists()
    )
    assert SlaTimer.objects.at_risk(timer.warn_at).filter(pk=timer.pk).exists()
    assert not SlaTimer.objects.at_risk(timer.due_at).filter(pk=timer.pk).exists()
    assert timezone.is_aware(timer.due_at)


def test_a_manager_sees_the_routing_clock_of_an_unassigned_lead(db):
    from leads.clocks import ClockEvent, clocks
    from sla.models import SlaTimer
    from tests.factories import LeadFactory, UserFactory

    manager = UserFactory(manager=True)
    lead = LeadFactory(owner=None, team=None, status="mql")
    clocks().on_event(lead=lead, event=ClockEvent.MQL, at=lead.created_at)

    visible = SlaTimer.objects.visible_to(manager).filter(lead=lead)

    assert [t.policy.key for t in visible] == ["route-mql"]
    assert SlaTimer.objects.visible_to(UserFactory(sdr=True)).filter(lead=lead).count() == 0
