"""The manager's team view on My work (workspace/team.py): each rep's open leads, overdue
SLA clocks, waiting hand-offs and stale deals, counted in SQL, with a drill-down each."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import User
from leads.models import Lead
from opportunities.models import Stage
from sla.models import SlaPolicy, SlaTimer
from tests.factories import (
    HandoffFactory,
    LeadFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)
from workspace import team as team_module
from workspace.team import team_drill, team_health

pytestmark = pytest.mark.django_db

# The stages' rot ages (for "stale"), then one statement for every figure of every rep;
# on PostgreSQL also JIT turned off around it (savepoint, set, put back, release).
TEAM_QUERIES = 2 + (4 if connection.vendor == "postgresql" else 0)


def clock(lead: Lead, *, responsible: User, due_in: datetime.timedelta) -> SlaTimer:
    due = timezone.now() + due_in
    return SlaTimer.objects.create(
        policy=SlaPolicy.objects.get(key="first-contact"),
        lead=lead,
        responsible=responsible,
        started_at=due - datetime.timedelta(hours=24),
        warn_at=due - datetime.timedelta(hours=6),
        due_at=due,
        target_value=24,
        target_unit="hours",
    )


def rep(role: str, team, name: str) -> User:
    return UserFactory(role=role, username=name, first_name=name.title(), team=team)


@pytest.fixture
def team():
    manager = UserFactory(manager=True, username="boss")
    squad = TeamFactory(name="Squad", manager=manager)
    return {
        "manager": manager,
        "sdr": rep(User.Role.SDR, squad, "sari"),
        "ae": rep(User.Role.AE, squad, "adi"),
        "outsider": rep(User.Role.SDR, TeamFactory(name="Elsewhere"), "olga"),
    }


def give_work(team) -> dict[str, object]:
    """One of each thing to count, and one of each thing not to."""
    sdr, ae, now = team["sdr"], team["ae"], timezone.now()
    day = datetime.timedelta(days=1)
    open_lead = LeadFactory(owner=sdr, team=sdr.team)
    LeadFactory(owner=sdr, team=sdr.team, status=Lead.Status.CONVERTED, converted_at=now)
    clock(open_lead, responsible=sdr, due_in=-datetime.timedelta(hours=2))  # overdue
    clock(LeadFactory(owner=sdr, team=sdr.team), responsible=sdr, due_in=day)  # on track
    # SQL, not handed off: the SDR's hand-off to make
    LeadFactory(owner=sdr, team=sdr.team, status=Lead.Status.SQL, qualified_at=now - day)
    # handed off, discovery not recorded: the AE's to hold
    waiting = LeadFactory(
        owner=sdr, team=sdr.team, ae=ae, status=Lead.Status.SQL,
        qualified_at=now - 2 * day, handed_off_at=now - day,
    )  # fmt: skip
    HandoffFactory(lead=waiting, from_user=sdr, to_user=ae)
    held = LeadFactory(
        owner=sdr, team=sdr.team, ae=ae, status=Lead.Status.SQL,
        qualified_at=now - 2 * day, handed_off_at=now - day,
    )  # fmt: skip
    HandoffFactory(lead=held, from_user=sdr, to_user=ae, discovery_held_at=now)
    stale = OpportunityFactory(owner=ae, stage_entered_at=now - 30 * day)  # rot age 21 days
    OpportunityFactory(owner=ae, stage_entered_at=now - 2 * day)
    # someone else's team: never counted
    LeadFactory(owner=team["outsider"], team=team["outsider"].team)
    return {"open_lead": open_lead, "waiting": waiting, "stale": stale}


def counts(health, user: User) -> dict[str, int]:
    return next(row.counts for row in health.reps if row.rep == user)


def test_each_rep_gets_their_figures_and_the_team_its_totals(team) -> None:
    give_work(team)

    health = team_health(team["manager"], now=timezone.now())

    assert [row.rep for row in health.reps] == [team["ae"], team["sdr"]]
    assert counts(health, team["sdr"]) == {
        "open_leads": 5,  # the open lead, the on-track one, the SQL one, the two handed off
        "overdue_clocks": 1,
        "handoffs_waiting": 1,
        "stale_deals": 0,
    }
    assert counts(health, team["ae"]) == {
        "open_leads": 2,
        "overdue_clocks": 0,
        "handoffs_waiting": 1,
        "stale_deals": 1,
    }
    assert health.totals == {
        "open_leads": 7,
        "overdue_clocks": 1,
        "handoffs_waiting": 2,
        "stale_deals": 1,
    }


def test_the_figures_cost_the_same_queries_whatever_the_team_size(
    team, django_assert_num_queries
) -> None:
    give_work(team)
    with django_assert_num_queries(TEAM_QUERIES):
        small = team_health(team["manager"], now=timezone.now())

    squad = team["sdr"].team
    for n in range(6):
        newcomer = rep(User.Role.SDR, squad, f"newcomer{n}")
        LeadFactory(owner=newcomer, team=squad)
    with django_assert_num_queries(TEAM_QUERIES):
        large = team_health(team["manager"], now=timezone.now())

    assert len(small.reps) == 2
    assert len(large.reps) == 8


def test_direct_reports_outside_the_managed_teams_count_too(team) -> None:
    loner = UserFactory(sdr=True, username="loner")
    User.objects.filter(pk=loner.pk).update(manager=team["manager"])

    health = team_health(team["manager"], now=timezone.now())

    assert loner in [row.rep for row in health.reps]
    assert team["outsider"] not in [row.rep for row in health.reps]


@pytest.mark.parametrize(
    ("metric", "who", "expected"),
    [
        ("overdue_clocks", "sdr", "open_lead"),
        ("handoffs_waiting", "ae", "waiting"),
        ("stale_deals", "ae", "stale"),
    ],
)
def test_a_drill_down_lists_the_rows_behind_the_figure(team, metric, who, expected) -> None:
    rows = give_work(team)
    now = timezone.now()

    drill = team_drill(team["manager"], metric=metric, rep_id=team[who].pk, now=now)

    found = [row.lead if isinstance(row, SlaTimer) else row for row in drill.rows]
    assert found == [rows[expected]]
    assert len(drill.rows) == counts(team_health(team["manager"], now=now), team[who])[metric]


def test_my_work_shows_a_manager_the_team_with_links_to_each_figure(client: Client, team):
    give_work(team)
    client.force_login(team["manager"])

    response = client.get(reverse("home"))

    body = response.content.decode()
    assert 'data-testid="team-view"' in body
    url = reverse("team-drill", args=["overdue_clocks", team["sdr"].pk])
    assert f'href="{url}"' in body
    drilled = client.get(url)
    assert drilled.status_code == 200
    assert 'data-testid="team-drill"' in drilled.content.decode()


def test_reps_see_no_team_view(client: Client, team) -> None:
    client.force_login(team["sdr"])

    assert 'data-testid="team-view"' not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize(
    ("who", "metric", "target"),
    [
        ("manager", "no_such_figure", "sdr"),
        ("manager", "open_leads", "outsider"),
        ("sdr", "open_leads", "sdr"),
    ],
)
def test_a_drill_down_outside_ones_team_is_not_found(client: Client, team, who, metric, target):
    client.force_login(team[who])

    response = client.get(reverse("team-drill", args=[metric, team[target].pk]))

    assert response.status_code == 404


def test_nothing_is_stale_when_no_stage_has_a_rot_age(team) -> None:
    give_work(team)
    Stage.objects.update(rot_days=None)

    health = team_health(team["manager"], now=timezone.now())

    assert health.totals["stale_deals"] == 0
    assert health.totals["open_leads"] == 7


def test_counts_stop_past_the_cap_and_say_so(team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(team_module, "COUNT_CAP", 2)
    give_work(team)  # the SDR has five open leads

    health = team_health(team["manager"], now=timezone.now())

    sdr_row = next(row for row in health.reps if row.rep == team["sdr"])
    open_cell = next(cell for cell in sdr_row.cells if cell[0].key == "open_leads")
    assert open_cell[1:] == (3, "2+")
    total = next(cell for cell in health.total_cells if cell[0].key == "open_leads")
    assert total[2] == "5+"  # at least: the SDR's capped 3 and the AE's 2
