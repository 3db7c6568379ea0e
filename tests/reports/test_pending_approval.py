"""Pending is not pipeline: a deal waiting for a manager's approval counts in no pipeline
total, forecast, velocity or per-person pipeline - from the source rows and from the
rollups alike - and reports show it apart, per currency (NOW = 15 April 12:00 UTC)."""

from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import Decimal
from html import unescape

import pytest

from opportunities.models import Opportunity
from reports.rollups.refresh import refresh
from reports.selectors import kpis_by, pipeline
from tests.factories import LeadFactory, UserFactory
from tests.reports.conftest import NOW, at, opportunity, request_for

pytestmark = pytest.mark.django_db
PENDING = Opportunity.Approval.PENDING


@pytest.fixture
def deals(team, boss):
    """An AE of the boss's team with one deal in the pipeline and two waiting for approval
    (USD and EUR), and an SDR whose lead became the USD one."""
    ae = UserFactory(ae=True, username="ae-team", team=team)
    sdr = UserFactory(sdr=True, username="sdr-team", team=team)
    close = datetime.date(2026, 5, 20)
    opportunity(at(2), amount="1000", owner=ae, expected_close_date=close)
    big_lead = LeadFactory(owner=sdr, team=team, ae=ae, status="converted", converted_at=at(3))
    opportunity(
        at(3), amount="900000", owner=ae, approval=PENDING, expected_close_date=close,
        lead=big_lead,
    )  # fmt: skip
    opportunity(
        at(4), amount="50000", currency="EUR", owner=ae, approval=PENDING,
        expected_close_date=close, stage_name="Qualification",
    )  # fmt: skip
    # an approved deal is pipeline like any other
    opportunity(
        at(5), amount="7000", owner=ae, expected_close_date=close,
        approval=Opportunity.Approval.APPROVED,
    )  # fmt: skip
    return ae, sdr


def _as_read(r, rolled: bool):
    if not rolled:
        return r
    refresh(now=NOW)
    return dataclasses.replace(r, rollups_as_of=NOW)


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
def test_pending_deals_are_not_pipeline_forecast_or_velocity(revops, deals, rolled):
    # given two open deals in the pipeline and two waiting for approval
    r = _as_read(request_for(revops), rolled)

    # when the pipeline is read
    p = pipeline(r, medians=False)

    # then only the two approved-or-unneeded deals are pipeline
    assert p.open_count == 2
    discovery = next(row for row in p.stages if row.stage.name == "Discovery")
    assert discovery.amount.items() == [("USD", Decimal("8000"))]
    assert discovery.weighted.items() == [("USD", Decimal("800"))]
    assert all(row.count == 0 for row in p.stages if row.stage.name == "Qualification")
    assert [(row.currency, row.count, row.amount) for row in p.forecast] == [
        ("USD", 2, Decimal("8000"))
    ]
    flows = {flow.currency: flow for flow in p.currencies}
    assert flows["USD"].open_count == 2 and flows["USD"].open_amount == Decimal("8000")
    assert "EUR" not in flows or flows["EUR"].open_count == 0
    # and the pending ones are shown apart, per currency, never summed across them
    assert p.pending.count == 2
    assert p.pending.amount.items() == [("USD", Decimal("900000")), ("EUR", Decimal("50000"))]
    assert p.pending.by_currency == {"USD": 1, "EUR": 1}


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
def test_per_person_pipeline_leaves_pending_out(revops, deals, rolled):
    ae, _sdr = deals
    r = _as_read(request_for(revops), rolled)
    people = {person.key: person for person in kpis_by(r, "owner")}
    assert people[ae.pk].open_count == 2
    assert people[ae.pk].open_amount.items() == [("USD", Decimal("8000"))]


@pytest.mark.parametrize("who", ["manager", "ae", "sdr"])
def test_each_reader_sees_the_pending_deals_of_their_scope_apart(who, deals, boss):
    ae, sdr = deals
    reader = {"manager": boss, "ae": ae, "sdr": sdr}[who]
    p = pipeline(request_for(reader), medians=False)
    if who == "sdr":
        # an SDR sees the deals made from their own leads: the USD one, pending
        assert (p.open_count, p.pending.count) == (0, 1)
        assert p.pending.amount.items() == [("USD", Decimal("900000"))]
    else:
        assert (p.open_count, p.pending.count) == (2, 2)


def test_approving_a_deal_moves_it_into_the_pipeline(revops, deals):
    Opportunity.objects.filter(approval=PENDING, currency="USD").update(
        approval=Opportunity.Approval.APPROVED
    )
    p = pipeline(request_for(revops), medians=False)
    assert (p.open_count, p.pending.count) == (3, 1)


def test_pages_show_the_pending_line_and_its_list(client, revops, deals):
    # the drill-downs: the pipeline's open deals, and the ones waiting apart
    client.force_login(revops)
    html = client.get("/reports/pipeline/?start=2026-03-01&end=2026-03-31").content.decode()
    assert 'data-testid="panel-pending_approval"' in html
    assert "Waiting for approval (not in the pipeline)" in html
    links = {
        unescape(href): text
        for href, text in re.findall(r'<a class="drill" href="([^"]+)"[^>]*>([^<]+)</a>', html)
    }
    pending = [href for href in links if "cohort=pending" in href]
    assert sorted(links[href] for href in pending) == ["1", "1", "2"]  # USD, EUR, total
    for href in pending:
        listed = client.get(href).content.decode()
        assert listed.count('data-testid="drill-row"') == int(links[href]), href
    open_list = client.get("/reports/drill/opportunities/?cohort=open&measure=open")
    assert open_list.content.decode().count('data-testid="drill-row"') == 2
    # the dashboard's pipeline tile says what it leaves out
    dashboard = client.get("/dashboard/").content.decode()
    assert "2 waiting for approval, not counted" in dashboard
    assert 'data-testid="panel-pending_approval"' in dashboard


def test_pipeline_api_has_the_pending_line(revops, deals):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(revops)
    body = api.get("/api/v1/reports/pipeline/").json()
    assert body["pending_approval"] == [
        {"currency": "USD", "count": 1, "amount": {"currency": "USD", "amount": "900000.00"}},
        {"currency": "EUR", "count": 1, "amount": {"currency": "EUR", "amount": "50000.00"}},
        {"currency": "Total", "count": 2, "amount": None, "is_total": True},
    ]
    total = next(row for row in body["stages"] if row["stage"] == "Total")
    assert total["count"] == 2
