"""My work, the home page: whose work it lists, in which order, and what it costs."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from crm.models import User
from leads.models import Lead
from leads.selectors import QueueFilter, lead_queue
from opportunities.models import Stage
from sla.models import SlaTimer
from tests.factories import LeadFactory, OpportunityFactory, UserFactory, running_timer
from workspace import selectors
from workspace.selectors import my_work

pytestmark = pytest.mark.django_db

# My work's own reads: open leads, open opportunities, lead counts, opportunity count.
MY_WORK_QUERIES = 4
# The page adds the shell's: the session, the signed-in user, the bell's unread count, and
# Django's model permissions (user and group, read once per request) that the sidebar's
# `has_perm` checks consult beside the `rules` predicates.
HOME_PAGE_QUERIES = MY_WORK_QUERIES + 5


def running_clock(lead: Lead, *, policy: str, due_in: datetime.timedelta) -> SlaTimer:
    return running_timer(lead, timezone.now() + due_in, policy=policy)


def created(lead: Lead, *, days_ago: float) -> Lead:
    when = timezone.now() - datetime.timedelta(days=days_ago)
    Lead.objects.filter(pk=lead.pk).update(created_at=when)
    return lead


def give_work(ae: User, sdr: User, *, count: int) -> None:
    """`count` leads the SDR handed to the AE, each with a running clock, and `count`
    open deals the AE owns: every row the page shows touches a related row."""
    for hours in range(count):
        lead = LeadFactory(owner=sdr, ae=ae, status=Lead.Status.SQL)
        running_clock(lead, policy="discovery-call", due_in=datetime.timedelta(hours=hours + 1))
    OpportunityFactory.create_batch(count, owner=ae)


def test_home_page_costs_the_same_queries_for_3_or_30_leads_and_deals(
    client: Client, django_assert_num_queries
) -> None:
    # given an AE with 3 handed-off leads and 3 deals
    ae, sdr = UserFactory(ae=True), UserFactory(sdr=True)
    client.force_login(ae)
    give_work(ae, sdr, count=3)

    # when the page is drawn, then it costs a fixed number of queries
    with django_assert_num_queries(HOME_PAGE_QUERIES):
        response = client.get("/")
    assert len(response.context["leads"]) == 3
    assert len(response.context["opportunities"]) == 3

    # and ten times the rows cost the same
    give_work(ae, sdr, count=27)
    with django_assert_num_queries(HOME_PAGE_QUERIES):
        response = client.get("/")
    assert len(response.context["leads"]) == 30
    assert len(response.context["opportunities"]) == 30
    assert response.context["lead_counts"]["sql"] == 30
    assert response.context["open_opportunity_count"] == 30
    assert response.content.decode().count("Handed off by") == 30


def test_my_work_is_four_queries(sdr: User, django_assert_num_queries) -> None:
    for _ in range(5):
        running_clock(
            LeadFactory(owner=sdr), policy="first-contact", due_in=datetime.timedelta(hours=2)
        )

    with django_assert_num_queries(MY_WORK_QUERIES):
        work = my_work(sdr)

    assert len(work["leads"]) == 5


def test_leads_come_most_urgent_first_then_those_without_a_clock_newest_first(
    sdr: User,
) -> None:
    # given open leads with and without running clocks
    later = created(LeadFactory(owner=sdr, company_name="Later"), days_ago=9)
    running_clock(later, policy="first-contact", due_in=datetime.timedelta(hours=5))
    # a stopped clock, long overdue, does not make a lead urgent
    stopped = running_clock(later, policy="route-mql", due_in=datetime.timedelta(hours=-30))
    SlaTimer.objects.filter(pk=stopped.pk).update(stopped_at=timezone.now())
    overdue = created(LeadFactory(owner=sdr, company_name="Overdue"), days_ago=1)
    running_clock(overdue, policy="first-contact", due_in=datetime.timedelta(hours=-2))
    two_clocks = created(LeadFactory(owner=sdr, company_name="Two clocks"), days_ago=2)
    running_clock(two_clocks, policy="first-contact", due_in=datetime.timedelta(hours=10))
    running_clock(two_clocks, policy="accept-reject", due_in=datetime.timedelta(hours=1))
    created(LeadFactory(owner=sdr, company_name="No clock, new"), days_ago=1)
    oldest = created(LeadFactory(owner=sdr, company_name="No clock, old"), days_ago=30)
    same_age = created(LeadFactory(owner=sdr, company_name="No clock, old too"), days_ago=30)
    Lead.objects.filter(pk=same_age.pk).update(created_at=Lead.objects.get(pk=oldest.pk).created_at)
    # and leads that are not her open work
    LeadFactory(
        owner=sdr,
        status=Lead.Status.CONVERTED,
        converted_at=timezone.now(),
        company_name="Converted",
    )
    LeadFactory(company_name="Someone else's")

    # when she opens My work
    work = my_work(sdr)

    # then: by next due time (overdue first), then no clock, newest first, ties by the
    # newer id first: the lead queue's order (see test_my_work_and_the_queue_agree)
    assert [lead.company_name for lead in work["leads"]] == [
        "Overdue",
        "Two clocks",
        "Later",
        "No clock, new",
        "No clock, old too",
        "No clock, old",
    ]
    assert work["leads"][1].next_due_at == min(t.due_at for t in two_clocks.sla_timers.all())
    assert work["leads"][3].next_due_at is None


def test_my_work_and_the_queue_agree_on_the_order(sdr: User) -> None:
    # given open leads with and without clocks, some created at the same instant
    for days, due in ((3, None), (1, 5), (2, None), (5, -2), (2, None), (4, 5)):
        lead = created(LeadFactory(owner=sdr), days_ago=days)
        if due is not None:
            running_clock(lead, policy="first-contact", due_in=datetime.timedelta(hours=due))

    # when both pages list them
    mine = [lead.pk for lead in my_work(sdr)["leads"]]
    queue = [lead.pk for lead in lead_queue(sdr, QueueFilter(), now=timezone.now())]

    # then in the same order
    assert mine == queue


def test_opportunities_come_soonest_expected_close_first_open_ones_only(ae: User) -> None:
    today = timezone.localdate()
    for name, days in (("In a month", 30), ("Overdue", -5), ("In ten days", 10)):
        OpportunityFactory(
            owner=ae, name=name, expected_close_date=today + datetime.timedelta(days=days)
        )
    OpportunityFactory(
        owner=ae, name="Won", stage=Stage.objects.get(is_won=True, name="Closed Won")
    )
    OpportunityFactory(name="Someone else's")

    work = my_work(ae)

    assert [opp.name for opp in work["opportunities"]] == ["Overdue", "In ten days", "In a month"]
    assert work["open_opportunity_count"] == 3


def test_counts_cover_every_open_lead_while_the_lists_stop_at_the_limit(
    sdr: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "MY_WORK_LIMIT", 2)
    LeadFactory.create_batch(2, owner=sdr, status=Lead.Status.MQL)
    LeadFactory(owner=sdr, status=Lead.Status.SAL)
    LeadFactory(owner=sdr, status=Lead.Status.NEW)
    LeadFactory(owner=sdr, status=Lead.Status.NURTURE)

    work = my_work(sdr)

    assert len(work["leads"]) == 2
    assert work["limit"] == 2
    assert work["lead_counts"] == {"open": 4, "mql": 2, "sal": 1, "sql": 0}


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_home_renders_the_workspace_template(client: Client, sdr: User) -> None:
    client.force_login(sdr)

    response = client.get("/")

    assert response.status_code == 200
    assert "workspace/home.html" in [t.name for t in response.templates]
