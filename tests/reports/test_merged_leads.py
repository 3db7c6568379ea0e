"""A merged-away duplicate is no lead of its own in any report.

`leads.services.merge.lead_merge` keeps the duplicate's row, closed as disqualified and
pointing at the survivor (`merged_into`), and moves its history, clocks and hand-offs to
the survivor. One person is then one lead created, one MQL, and nobody disqualified:
from the source rows (API, tests, fallback) and from the rollups (pages), after a full
build and after the incremental refresh that follows the merge."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from django.http import QueryDict
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Team, User
from leads.models import Lead
from leads.services.merge import lead_merge
from reports.cohorts import ReportRequest
from reports.drill import drill_down
from reports.feedback import feedback_by
from reports.filters import ReportFilters
from reports.models import DAY, LeadCreatedDay
from reports.rollups.refresh import refresh
from reports.selectors import conversion_by_source, funnel, kpis_by, response_times
from reports.selectors.dashboard import dashboard
from reports.selectors.marketing import mql_delivery, revenue_by
from tests.reports import world
from tests.reports.conftest import NOW, at, lead, request_for
from tests.reports.test_rollups import compare

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.timedelta(days=1)
PERSON = {"first_name": "Budi", "last_name": "Wijaya", "source": "inbound"}


def person_twice(rep: User, team: Team, created: datetime.datetime) -> tuple[Lead, Lead]:
    """Two accepted (SAL) leads of one person, five days apart: the survivor accepted a
    day after it became an MQL, the duplicate three days after, both assigned."""
    leads = []
    for offset, email, days_to_accept in ((0, "budi@nusantara.example", 1), (5, "", 3)):
        when = created + offset * D
        leads.append(
            lead(
                when,
                **PERSON,
                company_name="PT Nusantara Logistik",
                email=email or "budi.wijaya@gmail.com",
                owner=rep,
                team=team,
                status=Lead.Status.SAL,
                assigned_at=when,
                first_contacted_at=when + datetime.timedelta(hours=2),
                accepted_at=when + days_to_accept * D,
            )
        )
    return leads[0], leads[1]


def merge(by: User, survivor: Lead, duplicate: Lead, when: datetime.datetime) -> None:
    lead_merge(by=by, survivor=survivor.pk, duplicate=duplicate.pk, at=when)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk
    assert duplicate.status == Lead.Status.DISQUALIFIED


def headline(r: ReportRequest) -> dict[str, Any]:
    """The figures a duplicate would inflate, as the report pages and the API read them."""
    r = dataclasses.replace(r, memo={})  # what an earlier call computed is not reused
    steps = funnel(r, by="source")
    inbound = {row.key: row for row in conversion_by_source(r).rows}["inbound"]
    response = response_times(r)
    revenue = revenue_by(r).total
    board = dashboard(r)
    return {
        "leads": steps.leads,
        "mql": steps.total["mql"],
        "sal": steps.total["sal"],
        "mql_to_sal_days": (steps.total["mql_to_sal"] or 0) / 86400,
        "inbound_leads": inbound["leads"],
        "assigned": response.total["assigned"],
        "acceptance_median_days": (response.total["acceptance_median"] or 0) / 86400,
        "owner_leads": sum(person.leads for person in kpis_by(r, "owner")),
        "revenue_mql": revenue.mql,
        "mql_delivered": sum(row.delivered for row in mql_delivery(r).rows),
        "dashboard_leads": board.funnel.leads,
        "dashboard_conversion_leads": board.conversion.overall["leads"],
    }


ONE_PERSON = {
    "leads": 1,
    "mql": 1,
    "sal": 1,
    "mql_to_sal_days": 1.0,
    "inbound_leads": 1,
    "assigned": 1,
    "acceptance_median_days": 1.0,
    "owner_leads": 1,
    "revenue_mql": 1,
    "mql_delivered": 1,
    "dashboard_leads": 1,
    "dashboard_conversion_leads": 1,
}


def drilled(r: ReportRequest, **params: str) -> int:
    query = QueryDict(mutable=True)
    query.update(params)
    return len(drill_down("leads", r, query).rows)


@pytest.fixture
def merged(rep: User, boss: User, team: Team) -> tuple[Lead, Lead]:
    survivor, duplicate = person_twice(rep, team, at(3))
    r = request_for(boss)
    # given: before the merge the person is two leads (what makes the test meaningful)
    assert headline(r)["leads"] == 2 and headline(r)["mql_to_sal_days"] == 2.0
    merge(boss, survivor, duplicate, at(20))
    return survivor, duplicate


@pytest.mark.parametrize("who", ["boss", "revops"])
def test_source_rows_count_the_person_once(merged, boss, revops, who):
    r = request_for(boss if who == "boss" else revops)

    assert headline(r) == ONE_PERSON


def test_rollups_count_the_person_once(merged, revops):
    r = request_for(revops)
    refresh(now=NOW, full=True)
    rolled = dataclasses.replace(r, rollups_as_of=NOW)

    assert headline(rolled) == ONE_PERSON == headline(r)
    assert sum(LeadCreatedDay.objects.filter(grain=DAY).values_list("leads", flat=True)) == 1


def test_nobody_is_disqualified_by_a_merge(merged, revops):
    r = request_for(revops)

    totals = feedback_by(r).totals
    assert (totals["new"], totals["accepted"], totals["disqualified"]) == (1, 1, 0)
    assert drilled(r, cohort="created", measure="leads") == 1
    assert drilled(r, cohort="assigned", measure="leads") == 1
    assert drilled(r, cohort="accepted", measure="leads") == 1
    assert drilled(r, cohort="disqualified", measure="leads") == 0


def test_the_api_and_the_drill_page_count_the_person_once(merged, client, revops):
    period = "start=2026-03-01&end=2026-03-31"
    api = APIClient()
    api.force_authenticate(revops)

    body = api.get(f"/api/v1/reports/conversion-by-source/?{period}").json()
    feedback = api.get(f"/api/v1/reports/feedback/?{period}").json()

    assert body["overall"]["leads"] == 1
    assert {row["source"]: row["leads"] for row in body["rows"]}["inbound"] == 1
    inbound = {row["source"]: row for row in feedback["rows"]}["inbound"]
    assert (inbound["new"], inbound["disqualified"]) == (1, 0)
    client.force_login(revops)
    page = client.get(f"/reports/drill/leads/?{period}&cohort=created&measure=leads")
    assert page.content.decode().count('data-testid="drill-row"') == 1
    page = client.get(f"/reports/drill/leads/?{period}&cohort=disqualified&measure=leads")
    assert page.content.decode().count('data-testid="drill-row"') == 0


def test_a_merge_refreshes_the_rollups_of_both_leads_days(rep, boss, team, revops):
    # given two leads of one person counted in fresh rollups (built before the merge)
    now = timezone.now()
    survivor, duplicate = person_twice(rep, team, now - 20 * D)
    Lead.objects.update(updated_at=now - 2 * D)  # old rows: only the merge is a change
    assert refresh(now=now).full
    today = now.date()
    filters = ReportFilters(start=today - 29 * D, end=today, tz=UTC)
    r = ReportRequest(user=revops, filters=filters, now=now)
    assert headline(dataclasses.replace(r, rollups_as_of=now))["leads"] == 2

    # when they are merged and the next incremental refresh runs
    merge(boss, survivor, duplicate, timezone.now())
    assert headline(dataclasses.replace(r, rollups_as_of=now))["leads"] == 2  # not yet
    later = timezone.now()
    report = refresh(now=later)

    # then both leads' days were rebuilt, and the rollups count the person once
    assert not report.full
    assert report.days["created"] >= 2 and report.days["assigned"] >= 2
    r = dataclasses.replace(r, now=later)
    assert headline(dataclasses.replace(r, rollups_as_of=later)) == headline(r)
    assert headline(r)["leads"] == 1


def test_rollups_equal_source_rows_after_merges_in_a_full_world(revops):
    # given a world of every kind of row, with fresh rollups
    w = world.people()
    world.build(w, scale=2)
    long_ago = timezone.now() - 2 * D
    Lead.objects.update(updated_at=long_ago)
    refresh(now=timezone.now())
    # when open leads with clocks, hand-offs and history are merged into others
    open_leads = list(
        Lead.objects.filter(status__in=[Lead.Status.MQL, Lead.Status.SAL]).order_by("pk")
    )
    pairs = [
        (kept, gone)
        for kept, gone in zip(open_leads[::2], open_leads[1::2], strict=False)
        if not (kept.status == Lead.Status.MQL and gone.status == Lead.Status.SAL)
    ]
    assert len(pairs) >= 2
    for kept, gone in pairs:
        merge(revops, kept, gone, timezone.now())
    later = timezone.now()
    assert not refresh(now=later).full

    # then the merged-away leads are counted nowhere, and every figure from the rollups
    # equals the source rows', in every scope
    today = later.date()
    filters = ReportFilters(start=today - 89 * D, end=today, tz=UTC)
    created = Lead.objects.filter(created_at__gte=filters.start_at, created_at__lt=filters.end_at)
    r = ReportRequest(user=revops, filters=filters, now=later, rollups_as_of=later)
    assert funnel(r).leads == created.filter(merged_into=None).count() < created.count()
    compare(revops, later, zone="Asia/Jakarta")
    compare(w.manager, later)
    compare(w.sdr, later, zone="America/New_York")
