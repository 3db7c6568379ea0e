"""After `seed_demo`, every demo login finds SLA and qualification content on the pages
a newcomer opens first: My work, the lead list, a lead, the SLA overview, the SLA report,
the dashboard and the bell."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from crm.models import Notification, User
from leads.models import Lead
from sla.models import SlaTimer
from tests.demo.seeding import seed

ROLES = ("sdr", "ae", "manager", "revops")


@pytest.fixture
def demo(db: None) -> None:
    # The pages read the clocks against the real time, so the history ends now.
    seed(leads=600, now=timezone.now())


def signed_in(username: str) -> Client:
    """Through the login form, with the password the seed prints."""
    client = Client()
    password = settings.THRESHOLD_DEMO_PASSWORD
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:500]
    return client


def get(client: Client, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


@pytest.mark.parametrize("username", ["sdr", "sdr4", "sdr6", "ae", "ae3"])
def test_my_work_lists_the_reps_work_by_its_sla_clock(demo: None, username: str) -> None:
    context = get(signed_in(username), "/").context

    leads = context["leads"]
    assert context["lead_counts"]["open"] > 0
    assert any(lead.next_due_at for lead in leads)


@pytest.mark.parametrize("username", ["manager", "revops"])
def test_my_work_opens_for_managers_and_revops(demo: None, username: str) -> None:
    # They own no leads: their SLA view is /sla/ (below) and the lead queue.
    get(signed_in(username), "/")


@pytest.mark.parametrize("username", ROLES)
def test_the_lead_queue_shows_on_track_at_risk_and_overdue_clocks(
    demo: None, username: str
) -> None:
    client = signed_in(username)
    # The SDRs' default view ("Overdue first") opens first; the whole queue is "All".
    assert client.get("/leads/").status_code in (200, 302)
    html = get(client, "/leads/?view=all").content.decode()
    user = User.objects.get(username=username)
    now = timezone.now()

    assert "sla-chip sla-overdue" in html
    visible = SlaTimer.objects.visible_to(user)
    assert visible.on_track(now).exists()
    assert visible.at_risk(now).exists()
    assert visible.overdue(now).exists()


@pytest.mark.parametrize("username", ROLES)
def test_a_lead_page_shows_its_clocks_and_criteria(demo: None, username: str) -> None:
    user = User.objects.get(username=username)
    visible = Lead.objects.visible_to(user).filter(is_demo=True, status__in=Lead.OPEN_STATUSES)
    lead = visible.filter(sla_timers__in=SlaTimer.objects.running()).distinct().first()
    assert lead is not None

    response = get(signed_in(username), f"/leads/{lead.pk}/")

    assert response.context["running_timers"]
    assert response.context["qualification"] is not None
    assert response.context["criteria"]


@pytest.mark.parametrize("username", ["manager", "revops"])
def test_the_sla_overview_has_live_and_past_clocks(demo: None, username: str) -> None:
    context = get(signed_in(username), "/sla/").context

    summary = context["summary"]
    assert summary.running and summary.overdue and summary.met and summary.missed
    assert context["overdue"] and context["late"]
    assert {row.label for row in context["compliance"]} >= {
        "First contact within 24 hours of assignment",
        "Accept or reject within 5 business days",
    }


@pytest.mark.parametrize("username", ["sdr", "ae"])
def test_reps_are_refused_the_sla_overview(demo: None, username: str) -> None:
    get(signed_in(username), "/sla/", status=403)


@pytest.mark.parametrize("username", ROLES)
def test_the_sla_report_has_twelve_months_of_figures(demo: None, username: str) -> None:
    client = signed_in(username)
    today = timezone.localdate()
    start = today.replace(year=today.year - 1)

    context = get(client, f"/reports/sla/?start={start}&end={today}").context

    # by policy: the clocks the reader answers for (a rep's own, a manager's team's)
    compliance = next(iter(context["tables"].values()))
    policies = [row for row in compliance.rows if not row.is_total]
    assert len(policies) == (5 if username in ("manager", "revops") else 2), username
    url = f"/reports/sla/?start={start}&end={today}&format=csv&table={compliance.id}"
    csv = get(client, url).content.decode()
    assert len(csv.splitlines()) > len(policies)


@pytest.mark.parametrize("username", ROLES)
def test_the_dashboard_renders_with_data(demo: None, username: str) -> None:
    html = get(signed_in(username), "/dashboard/").content.decode()

    assert "No data" not in html


@pytest.mark.parametrize(
    ("username", "kinds"),
    [
        ("sdr", {Notification.Kind.SLA_WARNING, Notification.Kind.SLA_BREACH}),
        ("ae", {Notification.Kind.SLA_BREACH}),
        ("manager", {Notification.Kind.ESCALATION}),
        ("revops", {Notification.Kind.ESCALATION}),
    ],
)
def test_the_bell_holds_sla_messages(demo: None, username: str, kinds: set[str]) -> None:
    user = User.objects.get(username=username)
    mine = set(Notification.objects.filter(recipient=user).values_list("kind", flat=True))

    html = get(signed_in(username), "/notifications/").content.decode()

    assert kinds <= mine
    assert "SLA" in html


@pytest.mark.parametrize("username", ["manager", "revops"])
def test_the_marketing_report_sets_mqls_against_targets(demo: None, username: str) -> None:
    context = get(signed_in(username), "/reports/marketing/").context

    statuses = {row.status for row in context["delivery"].rows if row.target}
    assert {"target_met", "target_below"} <= statuses
