"""SLA compliance by policy, rep, team and source, and response times."""

from __future__ import annotations

import datetime

import pytest

from reports.selectors import compliance, response_times
from sla.models import SlaPolicy, SlaTimer
from tests.reports.conftest import NOW, at, lead, request_for

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)


def timer(policy_key, lead_obj, due, *, stopped=None, met=None, responsible=None):
    policy = SlaPolicy.objects.get(key=policy_key)
    return SlaTimer.objects.create(
        policy=policy,
        lead=lead_obj,
        responsible=responsible or lead_obj.owner,
        started_at=due - 24 * H,
        warn_at=due - 6 * H,
        due_at=due,
        target_value=24,
        target_unit="hours",
        stopped_at=stopped,
        met=met,
    )


@pytest.fixture
def clocks(rep, team, outsider):
    mine = lead(at(1), owner=rep, team=team, source="inbound")
    theirs = lead(at(1), owner=outsider, team=outsider.team, source="outbound")
    timer("first-contact", mine, at(2), stopped=at(1, 18), met=True)
    timer("first-contact", mine, at(3), stopped=at(4), met=False)  # breached
    timer("first-contact", theirs, at(4), stopped=at(3), met=True)
    timer("accept-reject", mine, at(10), stopped=at(5), met=None)  # cancelled
    # Still running at NOW (15 April): due 20 March (overdue), and due 1 May (on track,
    # outside a March period).
    timer("accept-reject", theirs, at(20))
    later = lead(at(1), owner=outsider, team=outsider.team, source="outbound")
    timer("accept-reject", later, at(1, month=5))
    # Due in February: outside the period.
    timer("first-contact", mine, at(20, month=2), stopped=at(19, month=2), met=True)
    return mine, theirs


def test_compliance_by_policy(revops, clocks):
    result = compliance(request_for(revops), by="policy")
    rows = {row.label: row for row in result.rows}
    first = rows["First contact within 24 hours of assignment"]
    assert (first["met"], first["breached"], first["overdue"], first["timers"]) == (2, 1, 0, 3)
    assert first["rate"] == pytest.approx(200 / 3)
    accept = rows["Accept or reject within 5 business days"]
    assert (accept["cancelled"], accept["overdue"], accept["met"]) == (1, 1, 0)
    assert accept["rate"] == 0.0
    total = result.total
    assert (total["timers"], total["met"], total["missed"], total["decided"]) == (5, 2, 2, 4)
    assert total["rate"] == pytest.approx(50.0)


def test_compliance_by_rep_team_and_source_and_scope(revops, rep, boss, team, clocks):
    by_rep = {row.key: row for row in compliance(request_for(revops), by="owner").rows}
    assert (by_rep[rep.pk]["met"], by_rep[rep.pk]["breached"]) == (1, 1)
    by_team = {row.key: row for row in compliance(request_for(revops), by="team").rows}
    assert by_team[team.pk]["timers"] == 3
    by_source = {row.key: row for row in compliance(request_for(revops), by="source").rows}
    assert by_source["outbound"]["timers"] == 2  # the May clock is outside March
    # A manager sees their team's clocks; filters narrow further.
    assert compliance(request_for(boss), by="policy").total["timers"] == 3
    assert compliance(request_for(revops, source="outbound")).total["timers"] == 2
    assert compliance(request_for(revops, owner=rep)).total["timers"] == 3


def test_running_clock_due_later_is_on_track(revops, clocks):
    r = request_for(revops, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 5, 31))
    total = compliance(r).total
    assert total["running"] == 1 and total["overdue"] == 1
    assert at(1, month=5) > NOW


def test_response_times_medians(revops, rep, team):
    base = at(2)
    for hours in (1, 3, 8):
        lead(
            base, owner=rep, team=team, assigned_at=base, first_contacted_at=base + hours * H,
            accepted_at=base + 2 * hours * H,
        )  # fmt: skip
    lead(base, owner=rep, team=team, assigned_at=base)  # not contacted yet
    lead(base, assigned_at=at(2, month=2), first_contacted_at=at(3, month=2))  # assigned in Feb
    total = response_times(request_for(revops)).total
    assert (total["assigned"], total["first_contacted"], total["accepted"]) == (4, 3, 3)
    assert total["first_contact_median"] == pytest.approx(3 * 3600, abs=1)
    assert total["first_contact_average"] == pytest.approx(4 * 3600, abs=1)
    assert total["acceptance_median"] == pytest.approx(6 * 3600, abs=1)
    by_owner = {row.key: row for row in response_times(request_for(revops), by="owner").rows}
    assert by_owner[rep.pk]["first_contact_median"] == pytest.approx(3 * 3600, abs=1)
