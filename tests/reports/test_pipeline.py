"""The pipeline: per-currency amounts, forecast, aging, stage reach, time in stage,
velocity and per-owner KPIs, on seven deals counted by hand (NOW = 15 April 12:00 UTC)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from reports.selectors import kpis_by, pipeline
from tests.factories import UserFactory
from tests.reports.conftest import at, lead, move, opportunity, request_for

pytestmark = pytest.mark.django_db
D = 86400


@pytest.fixture
def book():
    ae1, ae2 = UserFactory(ae=True, username="ae1"), UserFactory(ae=True, username="ae2")
    april = 4
    opportunity(
        at(10, month=april), stage_name="Discovery", amount="1000", entered=at(10, month=april),
        expected_close_date=datetime.date(2026, 5, 20), owner=ae1,
    )  # fmt: skip
    opportunity(
        at(1, month=2), stage_name="Discovery", amount="2000", currency="EUR",
        entered=at(1, month=2), expected_close_date=datetime.date(2026, 3, 30), owner=ae2,
    )  # fmt: skip
    o3 = opportunity(
        at(5), stage_name="Proposal", amount="3000", entered=at(20),
        expected_close_date=datetime.date(2026, 5, 2), owner=ae1,
    )  # fmt: skip
    move(o3, None, "Discovery", at(5))
    move(o3, "Discovery", "Proposal", at(20), days_in=15)
    opportunity(
        at(14, month=april), stage_name="Negotiation", amount="500", entered=at(14, month=april),
        expected_close_date=datetime.date(2026, 6, 1), owner=ae2,
    )  # fmt: skip
    w1 = opportunity(at(1), stage_name="Closed Won", amount="4000", closed=at(21), owner=ae1)
    move(w1, None, "Qualification", at(1))
    move(w1, "Qualification", "Negotiation", at(10), days_in=9)
    move(w1, "Negotiation", "Closed Won", at(21), days_in=11)
    l1 = opportunity(at(2), stage_name="Closed Lost", closed=at(12), owner=ae2)
    move(l1, None, "Discovery", at(2))
    move(l1, "Discovery", "Closed Lost", at(12), days_in=10)
    return ae1, ae2


def test_open_pipeline_by_stage_never_adds_currencies(revops, book):
    p = pipeline(request_for(revops))
    stages = {row.stage.name: row for row in p.stages}
    discovery = stages["Discovery"]
    assert discovery.count == 2
    assert discovery.amount.amounts == {"USD": Decimal("1000"), "EUR": Decimal("2000")}
    assert discovery.weighted.amounts == {"USD": Decimal("100"), "EUR": Decimal("200")}
    assert discovery.buckets["age_0_7"] == 1 and discovery.buckets["age_61_90"] == 1
    assert discovery.average_age_seconds == pytest.approx((5 + 73) / 2 * D, rel=1e-6)
    assert stages["Proposal"].weighted.amounts == {"USD": Decimal("1800")}
    assert stages["Proposal"].buckets["age_8_30"] == 1
    assert (p.open_count, p.stale, p.stalled_early) == (4, 2, 1)
    assert "Closed Won" not in stages


def test_forecast_by_close_month_with_past_dates_lumped(revops, book):
    p = pipeline(request_for(revops))
    rows = [(r.month, r.currency, r.count, r.amount, r.weighted) for r in p.forecast]
    assert rows == [
        (None, "EUR", 1, Decimal("2000"), Decimal("200")),
        (datetime.date(2026, 5, 1), "USD", 2, Decimal("4000"), Decimal("1900")),
        (datetime.date(2026, 6, 1), "USD", 1, Decimal("500"), Decimal("400")),
    ]


def test_stage_reach_and_time_in_stage(revops, book):
    p = pipeline(request_for(revops))
    assert [(r.label, r.reached) for r in p.reach] == [
        ("Discovery", 3),
        ("Qualification", 2),
        ("Present/Demo", 2),
        ("Proposal", 2),
        ("Negotiation", 1),
        ("Won", 1),
    ]
    assert p.reach[0].to_next == pytest.approx(200 / 3)
    assert p.reach[3].to_next == pytest.approx(50.0)
    times = {t.stage.name: t for t in p.times}
    assert times["Discovery"].moves == 2
    assert times["Discovery"].average_seconds == pytest.approx(12.5 * D)
    assert times["Discovery"].median_seconds == pytest.approx(12.5 * D)
    assert times["Qualification"].median_seconds == pytest.approx(9 * D)
    assert times["Negotiation"].moves == 1
    assert times["Present/Demo"].moves == 0 and times["Present/Demo"].median_seconds is None


def test_win_rate_deal_size_cycle_and_velocity(revops, book):
    p = pipeline(request_for(revops))
    usd = {flow.currency: flow for flow in p.currencies}["USD"]
    assert (usd.open_count, usd.won, usd.lost) == (3, 1, 1)
    assert usd.win_rate == pytest.approx(50.0)
    assert usd.average_won == Decimal("4000")
    assert usd.cycle_days == pytest.approx(20.0)
    assert usd.created_count == 3 and usd.average_created == Decimal("8000") / 3
    # 3 open deals × 4000 × 50 % ÷ 20 days
    assert usd.velocity_per_day == Decimal("300.00")
    assert p.win_rate == pytest.approx(50.0)


def test_kpis_per_owner_and_team(revops, book, rep, team):
    ae1, ae2 = book
    lead(at(3), owner=rep, team=team, score=80, status="converted", converted_at=at(4))
    lead(at(3), owner=rep, team=team, score=40)
    people = {p.key: p for p in kpis_by(request_for(revops), "owner")}
    assert (people[rep.pk].leads, people[rep.pk].converted) == (2, 1)
    assert people[rep.pk].average_score == pytest.approx(60.0)
    assert people[ae1.pk].open_count == 2
    assert people[ae1.pk].open_amount.amounts == {"USD": Decimal("4000")}
    assert (people[ae1.pk].won, people[ae1.pk].lost) == (1, 0)
    assert (people[ae2.pk].won, people[ae2.pk].lost) == (0, 1)
    assert people[ae2.pk].open_amount.amounts == {"EUR": Decimal("2000"), "USD": Decimal("500")}
    by_team = {p.key: p for p in kpis_by(request_for(revops), "team")}
    assert by_team[team.pk].leads == 2
    assert by_team[None].open_count == 4  # the AEs have no team


def test_scoped_to_the_managers_people(book, boss, team):
    ae1, _ae2 = book
    ae1.manager = boss
    ae1.save()
    p = pipeline(request_for(boss))
    assert p.open_count == 2  # ae1's Discovery and Proposal deals
    assert {f.currency for f in p.currencies} == {"USD"}
