"""The funnel: counts, step rates and exact medians, hand-computed on six leads."""

from __future__ import annotations

import datetime

import pytest

from reports.selectors import funnel
from tests.reports.conftest import at, lead, opportunity, request_for

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


@pytest.fixture
def cohort(team, rep):
    base = at(2)
    l1 = lead(
        base, owner=rep, team=team, source="inbound", status="converted",
        accepted_at=base + 2 * H, qualified_at=base + 2 * H + D,
        converted_at=base + 2 * H + 4 * D,
    )  # fmt: skip
    opportunity(
        base + 2 * H + 4 * D, lead=l1, stage_name="Closed Won", closed=base + 2 * H + 14 * D
    )
    l2 = lead(
        base, source="inbound", status="converted", accepted_at=base + 4 * H,
        qualified_at=base + 4 * H + 3 * D, converted_at=base + 4 * H + 4 * D,
    )  # fmt: skip
    opportunity(base + 4 * H + 4 * D, lead=l2)
    lead(base, source="outbound", status="sal", accepted_at=base + 6 * H)
    lead(base, source="outbound")
    lead(base, source="outbound", status="disqualified", mql_at=None, disqualified_at=base + H)
    # Reopened: it was accepted once, nurtured, then came back as MQL on the 15th; the
    # reopen cleared its decision milestones, so it counts once, as an MQL.
    lead(base, source="event", mql_at=at(15), nurtured_at=at(10))
    return l1


def test_counts_rates_and_medians(revops, cohort):
    result = funnel(request_for(revops))
    steps = {s.measure: s for s in result.steps}
    assert result.leads == 6
    assert [s.count for s in result.steps] == [5, 3, 2, 2, 1]
    assert steps["mql"].step_rate is None
    assert steps["sal"].step_rate == pytest.approx(60.0)
    assert steps["sql"].step_rate == pytest.approx(200 / 3)
    assert steps["converted"].step_rate == pytest.approx(100.0)
    assert steps["won"].step_rate == pytest.approx(50.0)
    assert steps["won"].cumulative_rate == pytest.approx(20.0)
    # Medians: [2h, 4h, 6h] -> 4h; [1d, 3d] -> 2d; [3d, 1d] -> 2d; [10d] -> 10d.
    assert steps["sal"].median_seconds == pytest.approx(4 * 3600, abs=1)
    assert steps["sql"].median_seconds == pytest.approx(2 * 86400, abs=1)
    assert steps["converted"].median_seconds == pytest.approx(2 * 86400, abs=1)
    assert steps["won"].median_seconds == pytest.approx(10 * 86400, abs=1)


def test_breakdown_by_source_team_and_owner(revops, cohort, team, rep):
    by_source = funnel(request_for(revops), by="source").breakdown
    rows = {row.key: row for row in by_source.rows}
    assert (rows["inbound"]["leads"], rows["inbound"]["converted"]) == (2, 2)
    assert rows["inbound"]["mql_to_sal"] == pytest.approx(3 * 3600, abs=1)  # [2h, 4h]
    assert (rows["outbound"]["mql"], rows["outbound"]["sal"]) == (2, 1)
    assert rows["event"]["sal"] == 0 and rows["event"]["mql"] == 1
    assert by_source.total["leads"] == 6
    assert by_source.total["mql_to_sal"] == pytest.approx(4 * 3600, abs=1)

    by_team = {row.key: row for row in funnel(request_for(revops), by="team").breakdown.rows}
    assert by_team[team.pk]["leads"] == 1 and by_team[None]["leads"] == 5
    by_owner = {row.key: row for row in funnel(request_for(revops), by="owner").breakdown.rows}
    assert by_owner[rep.pk]["won"] == 1


def test_no_leads(revops):
    result = funnel(request_for(revops), by="owner")
    assert result.leads == 0
    assert [s.count for s in result.steps] == [0, 0, 0, 0, 0]
    assert all(s.median_seconds is None for s in result.steps)
    assert result.breakdown.rows == []


def test_even_and_odd_medians_match_percentile_cont(revops):
    # MQL -> SAL of 1, 2, 3, 10 hours: median 2.5 h (mean of the middle two).
    for hours in (1, 2, 3, 10):
        lead(at(5), accepted_at=at(5) + hours * H)
    lead(at(5))  # no SAL: not in the median
    steps = {s.measure: s for s in funnel(request_for(revops)).steps}
    assert steps["sal"].median_seconds == pytest.approx(2.5 * 3600, abs=1)
