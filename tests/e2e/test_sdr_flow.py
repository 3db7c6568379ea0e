"""An SDR's whole hand-off in a real browser: intake, accept, qualify, SQL, hand-off."""

from __future__ import annotations

import datetime
import importlib
import re
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads import services
from leads.models import Handoff, Lead, LeadTransition, Source
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def default_rows(transactional_db) -> None:
    """The SLA policies and rejection reasons the data migrations write; the flush after
    each live-server test empties them."""
    for module in (
        "sla.migrations.0002_default_policies",
        "leads.migrations.0003_default_rejection_reasons",
    ):
        importlib.import_module(module).create(django_apps, None)


def _criterion(page: Page, key: str, evidence: str) -> None:
    criterion = page.get_by_test_id(f"criterion-{key}")
    if criterion.get_attribute("open") is None:  # failed criteria open by themselves
        criterion.locator("summary").click()
    criterion.locator("label", has_text=re.compile(r"^\s*Confirmed\s*$")).click()
    criterion.get_by_label("evidence").first.fill(evidence)


def test_sdr_takes_a_lead_from_intake_to_hand_off(
    page: Page, live_server, login, screenshot, default_rows
):
    # given an SDR in Jakarta with a few leads in her queue, and an AE to hand off to
    sdr = UserFactory(
        sdr=True, username="maya", first_name="Maya", last_name="Putri", time_zone="Asia/Jakarta"
    )
    UserFactory(ae=True, username="arif", first_name="Arif", last_name="Wijaya")
    for company, person, source, score in [
        ("Borneo Foods", "Santoso", Source.REFERRAL, 72),
        ("Selat Shipping", "Halim", Source.EVENT, 35),
        ("Garuda Analytics", "Pratama", Source.OUTBOUND, 55),
    ]:
        services.lead_create(
            by=sdr,
            data={
                "company_name": company,
                "last_name": person,
                "email": f"{person.lower()}@example.com",
                "source": source,
                "score": score,
                "job_title": "Head of Sales",
            },
            owner=sdr,
        )
    login(page, live_server, sdr)

    # the queue, most urgent first
    page.goto(f"{live_server.url}/leads/")
    expect(page.get_by_role("heading", name="Lead queue")).to_be_visible()
    expect(page.get_by_test_id("queue-row")).to_have_count(3)
    expect(page.get_by_test_id("queue").get_by_text("left").first).to_be_visible()
    screenshot(page, "queue")

    # when she adds a lead through the intake form
    page.get_by_test_id("new-lead").click()
    page.get_by_role("button", name="Create lead").click()
    form = page.get_by_test_id("lead-form")
    expect(form.locator("[data-field=company_name]")).to_contain_text("Enter the company name.")
    expect(form.locator("[data-field=email]")).to_contain_text("Enter an e-mail address or a")
    expect(form.locator("[data-field=source]")).to_contain_text("Choose the lead source.")
    screenshot(page, "new-lead-errors")
    form.get_by_label(re.compile(r"^Company\W*$")).fill("Nusantara Logistics")
    form.get_by_label("First name").fill("Budi")
    form.get_by_label("Last name").fill("Wijaya")
    form.get_by_label("Job title").fill("COO")
    form.get_by_label("E-mail").fill("budi@nusantara.example")
    form.get_by_label("Source").select_option("inbound")
    form.get_by_label("Campaign").fill("Logistics webinar")
    form.get_by_label("Lead score").fill("78")
    page.get_by_role("button", name="Create lead").click()

    # then the lead is hers, as an MQL with its clocks running
    expect(page.get_by_role("heading", name="Nusantara Logistics", level=1)).to_be_visible()
    header = page.locator(".lead-header")
    expect(header.get_by_test_id("status-badge")).to_have_text("MQL")
    expect(page.get_by_test_id("owner")).to_have_text("Maya Putri")
    expect(page.get_by_test_id("sla-timer").first).to_be_visible()

    # she logs the intro call inline (htmx): first contact stops its clock
    activity = page.get_by_test_id("activity-form")
    activity.get_by_label("Subject").fill("Intro call with Budi")
    activity.get_by_label("Details").fill("Two-day response time on inbound; COO owns it.")
    activity.get_by_role("button", name="Log activity").click()
    expect(page.get_by_text("First contact recorded")).to_be_visible()
    expect(page.get_by_test_id("activities").get_by_text("Intro call with Budi")).to_be_visible()
    # and schedules the follow-up in the swapped-in form (the due field appears for tasks)
    activity = page.get_by_test_id("activity-form")
    expect(activity.get_by_label("Due")).to_be_hidden()
    activity.locator("label", has_text="Follow-up task").click()
    activity.get_by_label("Subject").fill("Send the case study")
    follow_up = timezone.localdate() + datetime.timedelta(days=1)
    activity.get_by_label("Due").fill(f"{follow_up.isoformat()}T09:00")
    activity.get_by_role("button", name="Schedule follow-up").click()
    expect(page.get_by_test_id("activities").get_by_text("Follow-ups")).to_be_visible()
    expect(page.get_by_test_id("activities").get_by_text("Send the case study")).to_be_visible()

    # accepts it
    page.get_by_role("button", name="Accept (SAL)").click()
    expect(page.get_by_role("alert").filter(has_text="sales-accepted")).to_be_visible()
    expect(header.get_by_test_id("status-badge")).to_have_text("SAL")

    # SQL is not offered too early; the panel names what is missing
    expect(page.get_by_role("button", name="Move to SQL")).to_have_count(0)
    readiness = page.get_by_test_id("sql-readiness")
    for criterion in ("Need", "Budget", "Authority"):
        expect(readiness.get_by_text(criterion, exact=True)).to_be_visible()

    # fills the qualification panel: need, budget and authority confirmed with evidence
    _criterion(page, "need", "Inbound leads wait two days; they lost two deals last quarter.")
    _criterion(page, "budget", "COO has 120k approved for sales tooling this fiscal year.")
    page.get_by_test_id("criterion-budget").get_by_label("Budget holder").fill("COO")
    _criterion(page, "authority", "COO signs; CFO co-signs above 100k.")
    page.get_by_test_id("criterion-authority").get_by_label("Economic buyer").fill("Budi (COO)")
    page.get_by_role("button", name="Save qualification").click()
    expect(page.get_by_test_id("qualification-progress")).to_contain_text("3/5 confirmed")
    expect(page.get_by_test_id("sql-readiness")).to_contain_text("Ready for SQL")
    expect(page.get_by_test_id("criterion-need").get_by_test_id("criterion-state")).to_have_text(
        "Confirmed"
    )

    # moves it to SQL
    page.get_by_role("button", name="Move to SQL").click()
    expect(header.get_by_test_id("status-badge")).to_have_text("SQL")
    screenshot(page, "lead")

    # the hand-off form starts from what the lead holds (leads/handoff_draft.py), and
    # refuses an incomplete package, naming every missing field
    page.get_by_role("link", name="Hand off to an AE").click()
    handoff = page.get_by_test_id("handoff-form")
    expect(handoff.get_by_label("Qualification notes")).to_have_value(re.compile("BANT"))
    handoff.get_by_label("Company background and fit").fill("400-person logistics firm; ICP.")
    handoff.get_by_label("Contacts and org chart").fill("")
    handoff.get_by_role("button", name="Hand off").click()
    # contacts (emptied), the next step (never drafted), the AE and the meeting
    expect(page.locator(".field-error")).to_have_count(4)
    expect(page.get_by_text("List the contacts and the org chart.")).to_be_visible()
    expect(page.get_by_text("Choose the account executive.")).to_be_visible()
    expect(page.get_by_text("Book the discovery meeting with the AE.")).to_be_visible()
    screenshot(page, "handoff-form")

    # then completes it, picks the AE and books discovery (Jakarta time)
    handoff = page.get_by_test_id("handoff-form")
    handoff.get_by_label("Contacts and org chart").fill(
        "Budi (COO, buyer); Sari (RevOps, champion)."
    )
    handoff.get_by_label("Pain points and business context").fill("Slow inbound response.")
    handoff.get_by_label("Engagement history").fill("Webinar, intro call, follow-up e-mail.")
    handoff.get_by_label("Qualification notes").fill("BANT: need, budget, authority confirmed.")
    handoff.get_by_label("Recommended next step").fill("Discovery with Budi and Sari.")
    handoff.get_by_label("Account executive").select_option(label="Arif Wijaya · 0 open hand-offs")
    meeting = timezone.localdate() + datetime.timedelta(days=3)
    handoff.get_by_label("Discovery meeting").fill(f"{meeting.isoformat()}T10:30")
    handoff.get_by_role("button", name="Hand off").click()

    # then the lead page shows the package, the AE and the whole history
    expect(page.get_by_role("alert").filter(has_text="Handed off to Arif Wijaya")).to_be_visible()
    expect(page.get_by_test_id("ae")).to_have_text("Arif Wijaya")
    package = page.get_by_test_id("handoff-package")
    expect(package).to_contain_text("Discovery with Budi and Sari.")
    expect(package).to_contain_text(f"{meeting.day} {meeting:%b %Y}, 10:30")
    expect(page.get_by_test_id("awaiting-discovery")).to_be_visible()
    history = page.get_by_test_id("history")
    expect(history.get_by_test_id("history-entry").first).to_contain_text("Handed off")
    for text in ("Qualification updated", "First contact", "Assigned", "Created"):
        expect(history.get_by_text(text, exact=True).first).to_be_visible()
    screenshot(page, "lead-handed-off")

    lead = Lead.objects.get(company_name="Nusantara Logistics")
    assert lead.status == Lead.Status.SQL
    assert list(
        LeadTransition.objects.filter(lead=lead).values_list("from_status", "to_status")
    ) == [("new", "mql"), ("mql", "sal"), ("sal", "sql")]
    handoff_row = Handoff.objects.get(lead=lead)
    local = timezone.localtime(handoff_row.discovery_meeting_at, ZoneInfo("Asia/Jakarta"))
    assert (local.date(), local.hour, local.minute) == (meeting, 10, 30)
