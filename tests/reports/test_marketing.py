"""The marketing side of the SLA framework and the loop closed to revenue, on leads counted
by hand (NOW = 15 April 2026 12:00 UTC):

* MQLs delivered per month and source against RevOps' targets, company-wide;
* MQL -> opportunity -> won, and the value won per currency, by source and by campaign;
* the marketing page for each role, campaign as a breakdown of conversion, funnel and
  lead feedback, each drill-down listing exactly the leads counted.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import zoneinfo
from decimal import Decimal
from html import unescape

import pytest

from reports.models import MqlTarget
from reports.rollups.refresh import refresh
from reports.selectors.marketing import BEHIND, BELOW, MET, mql_delivery, revenue_by
from tests.factories import UserFactory
from tests.reports.conftest import NOW, at, lead, opportunity, request_for

pytestmark = pytest.mark.django_db
DRILL = re.compile(r'<a class="drill" href="([^"]+)"[^>]*>([^<]+)</a>')
FEB, MAR, APR = (datetime.date(2026, m, 1) for m in (2, 3, 4))


@pytest.fixture
def delivered(rep, outsider, team):
    """MQLs from two teams; targets for some months and sources."""
    for day in (3, 10, 20):
        lead(at(day, month=2), source="inbound", owner=rep, team=team)
    lead(at(5), source="inbound", owner=rep, team=team)
    lead(at(6), source="inbound", owner=outsider, team=outsider.team)  # another team's
    lead(at(7), source="outbound", owner=outsider, team=outsider.team)
    lead(at(8), source="referral", owner=rep, team=team)
    lead(at(9), source="referral", owner=rep, team=team)
    lead(at(2, month=4), source="inbound", owner=rep, team=team)
    lead(at(3, month=4), source="inbound", owner=rep, team=team, mql_at=None)  # not an MQL
    MqlTarget.objects.bulk_create(
        [
            MqlTarget(month=FEB, source="inbound", target=3),
            MqlTarget(month=MAR, source="inbound", target=4),
            MqlTarget(month=MAR, source="outbound", target=1),
            MqlTarget(month=APR, source="inbound", target=10),
        ]
    )


def _rows(delivery) -> list[tuple]:
    return [(r.month, r.source, r.delivered, r.target, r.status) for r in delivery.rows]


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
def test_mqls_delivered_against_the_targets_per_month_and_source(revops, delivered, rolled):
    r = request_for(revops, start=FEB, end=datetime.date(2026, 4, 30))
    if rolled:
        refresh(now=NOW)
        r = dataclasses.replace(r, rollups_as_of=NOW)

    delivery = mql_delivery(r)

    assert delivery.months == [FEB, MAR, APR]
    assert _rows(delivery) == [
        (FEB, "inbound", 3, 3, MET),
        (MAR, "inbound", 2, 4, BELOW),  # a month over, short of its target
        (MAR, "outbound", 1, 1, MET),
        (MAR, "referral", 2, None, None),  # delivered, no target set
        (APR, "inbound", 1, 10, BEHIND),  # the running month, short of its pace
    ]
    april = delivery.rows[-1]
    assert april.pace == 4  # 10 × 14.5 days of 30
    assert delivery.rows[1].percent == 50.0
    assert [row.source for row in delivery.below] == ["inbound", "inbound"]


def test_targets_are_company_wide_whoever_reads(boss, rep, delivered):
    # the manager's own teams delivered 1 inbound MQL in March; the company, 2
    march = request_for(boss)
    assert _rows(mql_delivery(march))[0] == (MAR, "inbound", 2, 4, BELOW)
    # team and owner filters do not apply to a company's targets; the source filter does
    narrowed = request_for(boss, owner=rep, source="inbound")
    assert _rows(mql_delivery(narrowed)) == [(MAR, "inbound", 2, 4, BELOW)]


def test_months_are_the_readers(revops, rep, team):
    # 31 March 20:00 UTC is 1 April in Jakarta
    lead(datetime.datetime(2026, 3, 31, 20, tzinfo=datetime.UTC), source="event", owner=rep)
    jakarta = zoneinfo.ZoneInfo("Asia/Jakarta")
    utc_rows = _rows(mql_delivery(request_for(revops, end=datetime.date(2026, 4, 30))))
    jkt = request_for(revops, end=datetime.date(2026, 4, 30), tz=jakarta)
    assert [(m, s, n) for m, s, n, _t, _st in utc_rows] == [(MAR, "event", 1)]
    assert [(m, s, n) for m, s, n, _t, _st in _rows(mql_delivery(jkt))] == [(APR, "event", 1)]


@pytest.fixture
def revenue(rep, team):
    """March leads and what became of them: won in USD and in EUR, open, not converted."""
    ae = UserFactory(ae=True, username="ae-rev")
    conv = {"status": "converted", "converted_at": at(15)}

    def won(source: str, campaign: str, amount: str, currency: str, day: int) -> None:
        won_lead = lead(at(day), source=source, campaign=campaign, owner=rep, team=team, **conv)
        opportunity(
            at(15), stage_name="Closed Won", amount=amount, currency=currency, closed=at(25),
            owner=ae, lead=won_lead, source=source, campaign=campaign,
        )  # fmt: skip

    won("inbound", "Spring webinar", "1000", "USD", 2)
    won("inbound", "Spring webinar", "2000", "EUR", 3)
    won("outbound", "Cold Q1", "500", "USD", 4)
    open_lead = lead(at(5), source="inbound", owner=rep, team=team, **conv)
    opportunity(at(15), amount="9000", owner=ae, lead=open_lead)
    lead(at(6), source="inbound", owner=rep, team=team)
    # April's leads are not March's cohort, even if won
    late = lead(at(2, month=4), source="inbound", campaign="Spring webinar", owner=rep, **conv)
    opportunity(at(3, month=4), stage_name="Closed Won", amount="77", closed=at(4, month=4),
                owner=ae, lead=late)  # fmt: skip


def _revenue(result) -> list[tuple]:
    return [
        (row.label, row.mql, row.converted, row.won, row.won_amount.items())
        for row in [*result.rows, result.total]
    ]


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
def test_won_value_per_currency_by_source_and_campaign(revops, revenue, rolled):
    r = request_for(revops)
    if rolled:
        refresh(now=NOW)
        r = dataclasses.replace(r, rollups_as_of=NOW)
    usd, eur = Decimal("1000"), Decimal("2000")

    assert _revenue(revenue_by(r, "source")) == [
        ("Inbound", 4, 3, 2, [("EUR", eur), ("USD", usd)]),
        ("Outbound", 1, 1, 1, [("USD", Decimal("500"))]),
        ("Total", 5, 4, 3, [("EUR", eur), ("USD", Decimal("1500"))]),  # never EUR + USD
    ]
    assert _revenue(revenue_by(r, "campaign")) == [
        ("No campaign", 2, 1, 0, []),
        ("Spring webinar", 2, 2, 2, [("EUR", eur), ("USD", usd)]),
        ("Cold Q1", 1, 1, 1, [("USD", Decimal("500"))]),
        ("Total", 5, 4, 3, [("EUR", eur), ("USD", Decimal("1500"))]),
    ]


def test_revenue_is_scoped_to_the_reader(revenue, outsider, rep):
    assert revenue_by(request_for(outsider)).total.mql == 0
    assert revenue_by(request_for(rep)).total.won == 3


# --- the page, for each role -------------------------------------------------------------------


def _links(html: str) -> dict[str, str]:
    return {unescape(href): text.strip() for href, text in DRILL.findall(html)}


def _listed(client, href: str) -> int:
    return client.get(href).content.decode().count('data-testid="drill-row"')


def test_revops_reads_the_marketing_report_and_every_count_opens_its_leads(
    client, revops, delivered, revenue
):
    client.force_login(revops)
    url = "/reports/marketing/?start=2026-02-01&end=2026-04-30"
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for part in ('data-testid="panel-mql_targets"', 'data-testid="panel-revenue_by_source"',
                 'data-testid="kpi-below"', "Below target", "Target met",
                 'href="/reports/mql-targets/?year=2026"', "Set the targets"):  # fmt: skip
        assert part in html, part
    links = _links(html)
    assert any("measure=mql" in href and "g_source=inbound" in href for href in links)
    checked = 0
    for href, text in links.items():
        if text.isdigit():
            assert _listed(client, href) == int(text), (href, text)
            checked += 1
    assert checked >= 10
    # the campaign switch, and each table as CSV
    by_campaign = client.get(url + "&by=campaign").content.decode()
    assert 'data-testid="panel-revenue_by_campaign"' in by_campaign
    assert "Spring webinar" in by_campaign
    csv_body = client.get(url + "&format=csv&table=revenue_by_source").content.decode("utf-8-sig")
    assert "Inbound,11,4,36.36,3,27.27,EUR 2000.00; USD 1077.00" in csv_body  # Feb-Apr


def test_manager_reads_it_without_lists_of_other_teams_leads(client, boss, delivered):
    client.force_login(boss)
    html = client.get("/reports/marketing/?start=2026-03-01&end=2026-03-31").content.decode()
    assert "See the targets" in html and "Set the targets" not in html
    # the counts are company-wide: no link to a list the manager could read only in part
    targets_panel = html.split('data-testid="panel-mql_targets"')[1].split("</section>")[0]
    assert "Below target" in targets_panel
    assert 'class="drill"' not in targets_panel


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_get_no_marketing_report(client, role):
    client.force_login(UserFactory(**{role: True}))
    assert client.get("/reports/marketing/").status_code == 403
    assert 'href="/reports/marketing/' not in client.get("/reports/conversion/").content.decode()


def test_the_report_tab_is_there_for_revops_and_managers(client, revops, manager):
    for user in (revops, manager):
        client.force_login(user)
        html = client.get("/reports/conversion/").content.decode()
        assert 'href="/reports/marketing/' in html
        # and the targets are a click away, from the report and from the benchmarks
        assert 'href="/reports/mql-targets/' in client.get("/reports/marketing/").content.decode()
        assert 'href="/reports/mql-targets/' in client.get("/reports/benchmarks/").content.decode()


def test_no_target_yet_says_so(client, revops, manager, rep, team):
    lead(at(5), source="inbound", owner=rep, team=team)
    client.force_login(revops)
    html = client.get("/reports/marketing/?start=2026-03-01&end=2026-03-31").content.decode()
    assert 'data-testid="no-targets"' in html and "set them to compare" in html
    client.force_login(manager)
    html = client.get("/reports/marketing/?start=2026-03-01&end=2026-03-31").content.decode()
    assert "RevOps sets them" in html


# --- campaign wherever source is a breakdown -------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "/reports/conversion/?by=campaign",
        "/reports/funnel/?by=campaign",
        "/reports/feedback/?by=campaign",
    ],
)
@pytest.mark.parametrize("who", ["revops", "manager", "sdr"])
def test_campaign_breakdowns_list_exactly_the_leads_counted(client, revops, who, page):
    from tests.reports import world

    w = world.people()
    world.build(w, scale=2)
    user = {"revops": revops, "manager": w.manager, "sdr": w.sdr}[who]
    client.force_login(user)
    period = "&period=90d" if "feedback" not in page else "&period=30d"
    response = client.get(page + period)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Inbound spring" in html and "No campaign" in html
    links = {href: text for href, text in _links(html).items() if "g_campaign" in href}
    assert links
    for href, text in links.items():
        if text.isdigit():
            assert _listed(client, href) == int(text), (href, text)
