"""The manager dashboard in a real browser: charts drawn, tables behind them, filters,
drill-down to the records behind a number. Screenshots go to var/screenshots/."""

from __future__ import annotations

import datetime
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm import demo
from crm.models import User
from leads.models import Lead
from reports import rollups
from sla.models import SlaPolicy, SlaTimer

pytestmark = pytest.mark.e2e

CHARTS = ("conversion", "funnel", "stages", "forecast", "times", "sla")
ALL_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return canvases.length > 0 && window.Chart &&
    canvases.every(c => Chart.getChart(c) && c.dataset.rendered === 'true' && c.width > 0);
}"""


@pytest.fixture
def demo_data(transactional_db, pipeline_stages) -> None:
    """A few hundred leads of believable history (the transactional flush emptied the
    rows the data migrations wrote, so those come back first)."""
    for module in (
        "leads.migrations.0003_default_rejection_reasons",
        "reports.migrations.0002_default_benchmarks",
        "sla.migrations.0002_default_policies",
    ):
        importlib.import_module(module).create(django_apps, None)
    demo.seed_demo(leads=900, seed=7, force=True)
    _first_contact_clocks()
    rollups.refresh(full=True)  # the dashboard reads them, as in production


def _first_contact_clocks() -> None:
    """The demo has no SLA clocks; derive the first-contact ones from the milestones."""
    policy = SlaPolicy.objects.get(key="first-contact")
    now = timezone.now()
    timers = []
    for lead in Lead.objects.filter(assigned_at__isnull=False).only(
        "assigned_at", "first_contacted_at", "owner_id", "status"
    ):
        due = lead.assigned_at + datetime.timedelta(hours=24)
        stopped = lead.first_contacted_at
        if stopped is None and lead.status not in Lead.OPEN_STATUSES:
            stopped = min(due + datetime.timedelta(days=2), now)  # left the flow
            met = None
        else:
            met = None if stopped is None else stopped <= due
        timers.append(
            SlaTimer(
                policy=policy,
                lead=lead,
                responsible_id=lead.owner_id,
                started_at=lead.assigned_at,
                warn_at=due - datetime.timedelta(hours=6),
                due_at=due,
                target_value=24,
                target_unit="hours",
                stopped_at=stopped,
                met=met,
            )  # fmt: skip
        )
    SlaTimer.objects.bulk_create(timers)


def _open_dashboard(page: Page, live_server, login, user: User, query: str = "") -> None:
    page.emulate_media(reduced_motion="reduce")
    login(page, live_server, user, password="threshold-demo")
    page.goto(f"{live_server.url}/dashboard/{query}")
    page.wait_for_function(ALL_DRAWN)


def test_manager_dashboard_draws_every_chart(page: Page, live_server, login, screenshot, demo_data):
    manager = User.objects.get(username="manager")
    _open_dashboard(page, live_server, login, manager)

    expect(page.get_by_role("heading", name="Lead-to-opportunity dashboard")).to_be_visible()
    expect(page.get_by_test_id("speed-loaded")).to_be_visible()  # the medians, via htmx
    screenshot(page, "manager")
    screenshot(page, "manager-top", full_page=False)
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".filter(c => Chart.getChart(c)).map(c => c.dataset.chart)"
    )
    assert sorted(drawn) == sorted(CHARTS)
    # Every chart has data points, and its table is on the page (aria-describedby).
    for name in CHARTS:
        points = page.evaluate(
            f"() => Chart.getChart(document.querySelector('canvas[data-chart={name}]'))"
            ".data.datasets.reduce((n, d) => n + d.data.filter(v => v !== null).length, 0)"
        )
        assert points > 0, name
    for table in ("conversion", "funnel", "stages", "forecast", "time_in_stage", "sla_by_policy"):
        expect(page.locator(f"#table-{table}")).to_be_attached()
    expect(page.get_by_test_id("report-scope")).to_have_text(re.compile("Your teams"))


def test_filters_and_drill_down(page: Page, live_server, login, screenshot, demo_data):
    revops = User.objects.get(username="revops")
    _open_dashboard(page, live_server, login, revops)

    filters = page.get_by_test_id("report-filters")
    filters.get_by_label("Source", exact=True).select_option("inbound")
    filters.get_by_label("Period", exact=True).select_option("12m")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_function(ALL_DRAWN)
    expect(page).to_have_url(re.compile(r"period=12m.*source=inbound"))
    conversion = page.get_by_test_id("table-conversion")
    expect(conversion.locator("tbody tr")).to_have_count(2)  # inbound and the total
    screenshot(page, "inbound-12m", full_page=False)

    # Drill from the number of converted inbound leads to the leads behind it.
    converted = conversion.locator("tbody tr").first.locator("td").nth(1).locator("a")
    expected = int(converted.inner_text().replace(",", ""))
    converted.click()
    expect(page.get_by_role("heading", name="Leads created in the period")).to_be_visible()
    expect(page.get_by_test_id("drill-facts")).to_contain_text("Converted")
    rows = page.get_by_test_id("drill-row")
    assert rows.count() == min(expected, 50)
    screenshot(page, "drill", full_page=False)


def test_sdr_sees_their_own_figures(page: Page, live_server, login, screenshot, demo_data):
    sdr = User.objects.get(username="sdr")
    _open_dashboard(page, live_server, login, sdr)
    expect(page.get_by_test_id("report-scope")).to_have_text(re.compile("Your own figures"))
    expect(page.get_by_test_id("report-filters").get_by_label("Team")).to_have_count(0)
    screenshot(page, "sdr", full_page=False)


@pytest.mark.parametrize("path", ["funnel", "quality", "pipeline", "sla", "feedback"])
def test_report_pages(page: Page, live_server, login, screenshot, demo_data, path):
    revops = User.objects.get(username="revops")
    page.emulate_media(reduced_motion="reduce")
    login(page, live_server, revops, password="threshold-demo")
    page.goto(f"{live_server.url}/reports/{path}/")
    expect(page.locator("table.table-report").first).to_be_visible()
    if page.locator("canvas[data-chart]").count():
        page.wait_for_function(ALL_DRAWN)
    screenshot(page, path)
