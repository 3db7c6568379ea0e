"""The manager dashboard in a real browser: charts drawn, tables behind them, filters,
drill-down to the records behind a number. Screenshots go to var/screenshots/."""

from __future__ import annotations

import datetime
import importlib
import re
import zoneinfo

import pytest
from django.apps import apps as django_apps
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from crm.models import User
from demo.seed import seed_demo
from leads.models import Lead, Source
from opportunities.models import Opportunity
from reports import formatting
from reports.rollups.refresh import refresh
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
    seed_demo(leads=900, seed=7, force=True)
    _first_contact_clocks()
    refresh(full=True)  # the dashboard reads them, as in production


def _first_contact_clocks() -> None:
    """First-contact clocks derived from the milestones, for the leads the demo gave none."""
    policy = SlaPolicy.objects.get(key="first-contact")
    now = timezone.now()
    timers = []
    without = Lead.objects.filter(assigned_at__isnull=False).exclude(sla_timers__policy=policy)
    for lead in without.only("assigned_at", "first_contacted_at", "owner_id", "status"):
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


def _default_period(user: User) -> tuple[datetime.datetime, datetime.datetime]:
    """The dashboard's default period, the last 90 days in the reader's zone: [start, end)."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    today = timezone.localdate(timezone.now(), tz)
    start = datetime.datetime.combine(today - datetime.timedelta(days=89), datetime.time(), tz)
    return start, datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), tz)


def _number(text: str) -> int:
    return int(text.strip().replace(",", ""))


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


def test_manager_dashboard_shows_the_figures_of_their_records(
    page: Page, live_server, login, demo_data
):
    """The numbers on the page (read from the rollups) are counts of the manager's own
    records, counted here straight from the rows the demo wrote (a lead merged into
    another is no lead of its own: the demo's merged pair counts once)."""
    manager = User.objects.get(username="manager")
    start, end = _default_period(manager)
    created = Lead.objects.visible_to(manager).filter(
        created_at__gte=start, created_at__lt=end, merged_into__isnull=True
    )
    converted = created.filter(converted_at__isnull=False)
    # Every source has a row, also one without leads.
    expected = {
        str(label): (created.filter(source=source).count(), converted.filter(source=source).count())
        for source, label in Source.choices
    }
    total = (created.count(), converted.count())
    expected["All sources"] = total
    # The pipeline: open deals, less those waiting for a manager's approval.
    open_deals = (
        Opportunity.objects.visible_to(manager)
        .open()
        .exclude(approval=Opportunity.Approval.PENDING)
        .count()
    )
    assert total[0] > 50 and total[1] > 0 and open_deals > 0  # the demo gave them figures

    _open_dashboard(page, live_server, login, manager)

    shown = {}
    for row in page.get_by_test_id("table-conversion").locator("tbody tr").all():
        cells = row.locator("td")
        source = row.locator("th").inner_text().strip()
        shown[source] = (_number(cells.nth(0).inner_text()), _number(cells.nth(1).inner_text()))
    assert shown == expected
    leads_tile = page.get_by_test_id("kpi-leads").locator(".kpi-value")
    expect(leads_tile).to_have_text(f"{total[0]:,}")
    with translation.override("en"):
        rate = formatting.percent(100 * total[1] / total[0])
    expect(page.get_by_test_id("kpi-conversion").locator(".kpi-value")).to_have_text(rate)
    expect(page.get_by_test_id("kpi-pipeline").locator(".kpi-value")).to_have_text(
        f"{open_deals:,} deals"
    )
    stages_total = page.get_by_test_id("table-stages").locator("tbody tr.is-total td").first
    expect(stages_total).to_have_text(f"{open_deals:,}")


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


def _last_month(user: User) -> datetime.date:
    today = timezone.localdate(timezone.now(), zoneinfo.ZoneInfo(user.time_zone))
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def test_revops_sets_mql_targets_and_reads_delivery_against_them(
    page: Page, live_server, login, screenshot, demo_data
):
    revops = User.objects.get(username="revops")
    month = _last_month(revops)
    page.emulate_media(reduced_motion="reduce")
    login(page, live_server, revops, password="threshold-demo")

    # RevOps finds the targets in the Settings hub and sets last month's inbound target
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name=re.compile("MQL targets")).click()
    page.goto(f"{live_server.url}/reports/mql-targets/?year={month.year}")
    cell = page.locator(f"input[name='t_{month:%Y_%m}_inbound']")
    cell.fill("100000")
    page.locator(f"input[name='t_{month:%Y_%m}_referral']").fill("1")
    page.get_by_test_id("targets-save").click()
    expect(page.get_by_text(re.compile("MQL targets saved"))).to_be_visible()
    latest = page.get_by_test_id("target-change").filter(has_text="Inbound").first
    expect(latest).to_contain_text("100000")
    expect(latest).to_contain_text(revops.get_full_name())
    screenshot(page, "targets")

    # the marketing report compares last month's delivery with it
    page.get_by_role("link", name="Marketing").first.click()
    last_day = (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    page.goto(
        f"{live_server.url}/reports/marketing/?start={month.isoformat()}&end={last_day.isoformat()}"
    )
    targets = page.get_by_test_id("table-mql_targets")
    headers = [h.strip() for h in targets.locator("thead th").all_inner_texts()]
    column = next(i for i, h in enumerate(headers) if h.lower().startswith("inbound"))
    with translation.override("en"):
        month_label = formatting.month(month)
    row = targets.locator("tbody tr", has_text=month_label)
    inbound = row.locator("th, td").nth(column)
    expect(inbound).to_contain_text("/ 100,000")
    expect(inbound).to_contain_text("Below target")
    below = targets.locator(".bench", has_text="Below target").count()
    expect(page.get_by_test_id("kpi-below").locator(".kpi-value")).to_have_text(str(below))
    delivered = Lead.objects.filter(
        source="inbound", mql_at__isnull=False, created_at__gte=_local_start(revops, month),
        created_at__lt=_local_start(revops, last_day + datetime.timedelta(days=1)),
    ).count()  # fmt: skip
    expect(inbound.locator("a.drill")).to_have_text(f"{delivered:,}")
    # the number opens the leads behind it: company-wide, the whole month
    inbound.locator("a.drill").click()
    expect(page.get_by_test_id("drill-facts")).to_contain_text("Reached MQL")
    assert page.get_by_test_id("drill-row").count() == min(delivered, 50)
    page.go_back()
    expect(page.get_by_test_id("table-revenue_by_source")).to_be_visible()
    screenshot(page, "marketing")
    page.get_by_role("link", name="Campaign").click()
    expect(page.get_by_test_id("table-revenue_by_campaign")).to_be_visible()
    screenshot(page, "marketing-by-campaign")


def _local_start(user: User, day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), zoneinfo.ZoneInfo(user.time_zone))


def test_manager_reads_the_targets_and_the_marketing_report(
    page: Page, live_server, login, screenshot, demo_data
):
    from reports.models import MqlTarget

    manager = User.objects.get(username="manager")
    month = _last_month(manager)
    MqlTarget.objects.update_or_create(month=month, source="inbound", defaults={"target": 40})
    page.emulate_media(reduced_motion="reduce")
    login(page, live_server, manager, password="threshold-demo")

    page.goto(f"{live_server.url}/reports/mql-targets/?year={month.year}")
    expect(page.get_by_test_id("targets-read-only")).to_be_visible()
    expect(page.locator(f"input[name='t_{month:%Y_%m}_inbound']")).to_be_disabled()
    expect(page.locator(f"input[name='t_{month:%Y_%m}_inbound']")).to_have_value("40")
    expect(page.get_by_test_id("targets-save")).to_have_count(0)
    screenshot(page, "targets")

    page.goto(f"{live_server.url}/reports/marketing/?period=12m")
    expect(page.get_by_test_id("table-mql_targets")).to_contain_text("40")
    expect(page.get_by_test_id("targets-link")).to_have_text(re.compile("See the targets"))
    expect(page.get_by_test_id("table-mql_targets").locator("a.drill")).to_have_count(0)
    screenshot(page, "marketing")


def test_reps_have_no_marketing_report(page: Page, live_server, login, demo_data):
    sdr = User.objects.get(username="sdr")
    login(page, live_server, sdr, password="threshold-demo")
    page.goto(f"{live_server.url}/reports/conversion/")
    expect(page.locator("nav.report-tabs a", has_text="Marketing")).to_have_count(0)
    response = page.goto(f"{live_server.url}/reports/marketing/")
    assert response is not None and response.status == 403
