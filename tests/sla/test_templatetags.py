"""`{% load sla_tags %}`: badges render the timer's state from its stored times."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from django.utils import timezone

from sla.models import SlaTimer
from sla.selectors import running_timers_prefetch
from sla.templatetags.sla_tags import duration_text, target_text
from tests.sla.conftest import timer_of

pytestmark = pytest.mark.django_db


def _render(source: str, **context) -> str:
    return Template("{% load sla_tags %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("offset", "state", "text"),
    [
        (datetime.timedelta(hours=2), "running", "22 h left"),
        (datetime.timedelta(hours=20, minutes=30), "at_risk", "3 h 30 min left"),
        (datetime.timedelta(hours=24, minutes=40), "overdue", "Overdue 40 min"),
        (datetime.timedelta(days=3, hours=1), "overdue", "Overdue 2 d 1 h"),
    ],
)
def test_a_running_clock_counts_down_then_shows_overdue(make_lead, offset, state, text):
    timer = timer_of(make_lead(), "first-contact")

    html = _render("{% sla_badge timer now %}", timer=timer, now=timer.started_at + offset)

    assert f'class="sla-badge sla-{state}"' in html
    assert text in html
    assert f'data-sla-due="{timer.due_at.isoformat()}"' in html


def test_stopped_clocks_say_met_late_or_stopped(make_lead):
    timer = timer_of(make_lead(), "first-contact")
    late = timer.due_at + datetime.timedelta(minutes=90)

    SlaTimer.objects.filter(pk=timer.pk).update(stopped_at=late, met=False)
    timer.refresh_from_db()
    missed = _render("{% sla_badge timer %}", timer=timer)
    SlaTimer.objects.filter(pk=timer.pk).update(stopped_at=timer.started_at, met=True)
    timer.refresh_from_db()
    met = _render("{% sla_badge timer %}", timer=timer)

    assert "sla-missed" in missed and "Late by 1 h 30 min" in missed
    assert "data-sla-due" not in missed  # nothing to count down
    assert "sla-met" in met and ">Met<" in met


def test_the_due_time_shows_in_the_users_zone(make_lead):
    timer = timer_of(make_lead(), "first-contact")
    with timezone.override("Asia/Jakarta"):
        html = _render("{% sla_badge timer show_policy=True %}", timer=timer)
    local = timezone.localtime(
        timer.due_at, timezone=datetime.timezone(datetime.timedelta(hours=7))
    )
    assert f"{local:%H:%M} WIB" in html
    assert "First contact within 24 hours of assignment" in html


def test_badges_of_a_lead_use_the_prefetched_clocks(make_lead, django_assert_num_queries):
    from leads.models import Lead

    make_lead()
    lead = Lead.objects.prefetch_related(running_timers_prefetch()).get()

    with django_assert_num_queries(0):
        html = _render("{% sla_badges lead %}", lead=lead)

    assert html.count('data-testid="sla-badge"') == 2


def test_filters_and_assets():
    assert duration_text(datetime.timedelta(seconds=20)) == "< 1 min"
    assert duration_text(datetime.timedelta(days=2)) == "2 d"
    assert target_text(1, "business_days") == "1 business day"
    assert target_text(24, "hours") == "24 hours"
    html = _render("{% sla_assets %}")
    assert "sla/sla.css" in html and "sla/countdown.js" in html and 'id="sla-labels"' in html
    assert _render("{{ days|sla_weekdays }}", days=[0, 1, 2, 3, 4]) == "Mon–Fri"
    assert _render("{% sla_badge nothing %}", nothing=None).strip() == ""
