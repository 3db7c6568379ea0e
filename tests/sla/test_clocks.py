"""`sla`'s side of the `leads.clocks` hook: registered at start-up, and its reads are the
same predicates the timers' querysets define."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import prefetch_related_objects
from django.utils import timezone

from leads import services as lead_services
from leads.clocks import ClockEvent, clocks
from leads.models import Lead
from sla.clocks import SlaClocks
from sla.models import SlaPolicy, SlaTimer
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db


def test_the_sla_app_registers_its_clocks():
    assert isinstance(clocks(), SlaClocks)


def test_a_policy_names_the_lifecycle_moments_of_the_leads_app():
    assert SlaPolicy.Event is ClockEvent
    assert SlaPolicy._meta.get_field("start_event").choices == ClockEvent.choices


def test_next_due_is_the_running_clock_due_soonest(make_lead):
    lead, quiet = make_lead(), make_lead()
    SlaTimer.objects.filter(lead=quiet).update(stopped_at=timezone.now(), met=True)
    soonest = SlaTimer.objects.running().filter(lead=lead).order_by("due_at")[0]

    rows = dict(
        Lead.objects.filter(pk__in=[lead.pk, quiet.pk])
        .annotate(next_due=clocks().next_due())
        .values_list("pk", "next_due")
    )

    assert rows == {lead.pk: soonest.due_at, quiet.pk: None}


def test_overdue_and_due_between_filter_leads_like_the_timer_predicates(make_lead):
    late, on_time = make_lead(), make_lead()
    now = timezone.now()
    timer = timer_of(late, "first-contact")
    timer.due_at = now - datetime.timedelta(minutes=1)
    timer.save(update_fields=["due_at"])

    overdue = set(Lead.objects.filter(clocks().is_overdue(now)).values_list("pk", flat=True))
    due_soon = set(
        Lead.objects.filter(
            clocks().is_due_between(now - datetime.timedelta(hours=1), now)
        ).values_list("pk", flat=True)
    )

    assert overdue == due_soon == {late.pk}
    assert on_time.pk not in overdue


def test_running_prefetch_puts_a_pages_running_clocks_on_each_lead(make_lead):
    lead = make_lead()
    page = list(Lead.objects.filter(pk=lead.pk))

    prefetch = clocks().running_prefetch("clocks_now")
    assert prefetch is not None
    prefetch_related_objects(page, prefetch)

    keys = [t.policy.key for t in page[0].clocks_now]
    assert sorted(keys) == ["accept-reject", "first-contact"]
    due = [t.due_at for t in page[0].clocks_now]
    assert due == sorted(due)


def test_page_rows_list_running_clocks_first_then_the_stopped_ones(owner, make_lead):
    lead = make_lead()  # route-mql met at assignment; first contact and accept/reject run
    now = timezone.now()
    late = timer_of(lead, "accept-reject")
    late.due_at = now - datetime.timedelta(minutes=5)
    late.save(update_fields=["due_at"])

    rows = clocks().page_rows(lead, now)

    assert [(r["timer"].policy.key, r["state"], r["running"]) for r in rows] == [
        ("accept-reject", "overdue", True),
        ("first-contact", "ok", True),
        ("route-mql", "met", False),
    ]


def test_page_rows_show_cancelled_clocks_last_stopped_first(owner, make_lead):
    lead = make_lead()
    lead_services.lead_nurture(lead_id=lead.pk, by=owner, reason="Budget frozen")

    rows = clocks().page_rows(lead, timezone.now())

    assert [r["running"] for r in rows] == [False, False, False]
    assert {r["timer"].policy.key: r["state"] for r in rows} == {
        "route-mql": "met",
        "first-contact": "cancelled",
        "accept-reject": "cancelled",
    }
    stopped = [r["timer"].stopped_at for r in rows]
    assert stopped == sorted(stopped, reverse=True)
