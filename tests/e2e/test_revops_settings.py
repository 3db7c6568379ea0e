"""RevOps runs the product from its settings pages, in a real browser: adds a pipeline
stage and a routing rule, checks with the tester who would get a lead, and a manager's
new lead is then routed by that rule to the SDR next in turn."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import Page, expect

from crm.models import User
from leads.models import Lead, LeadEvent, RoutingRule, SettingChange
from opportunities.models import Stage
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def defaults(transactional_db, pipeline_stages) -> None:
    """The live server's transactional flush empties what the data migrations wrote."""
    importlib.import_module("sla.migrations.0002_default_policies").create(django_apps, None)
    importlib.import_module("leads.migrations.0006_default_disqualification_reasons").create(
        django_apps, None
    )


@pytest.fixture
def people(defaults) -> dict[str, User]:
    boss = UserFactory(manager=True, username="mira", first_name="Mira", last_name="Santoso")
    inbound = TeamFactory(name="Jakarta Inbound", manager=boss)
    events = TeamFactory(name="Events Squad", manager=boss)
    # the fallback would pick Dewi first (lowest id): the rule must send the lead elsewhere
    dewi = UserFactory(sdr=True, username="dewi", first_name="Dewi", last_name="Lestari")
    dewi.team = inbound
    dewi.save(update_fields=["team"])
    ayu = UserFactory(sdr=True, username="ayu", first_name="Ayu", last_name="Putri", team=events)
    UserFactory(sdr=True, username="bima", first_name="Bima", last_name="Sakti", team=events)
    return {
        "boss": boss,
        "ayu": ayu,
        "dewi": dewi,
        "revops": UserFactory(revops=True, username="rani", first_name="Rani", last_name="Ops"),
    }


def test_revops_adds_a_stage_and_a_rule_and_a_new_lead_is_routed_by_it(
    page: Page, live_server, login, screenshot, people, browser
):
    login(page, live_server, people["revops"])

    # RevOps finds the settings from the hub
    page.goto(f"{live_server.url}/settings/")
    hub = page.get_by_test_id("settings-pages")
    expect(hub.get_by_role("link", name=re.compile("Routing rules"))).to_be_visible()
    expect(hub.get_by_role("link", name=re.compile("Pipeline stages"))).to_be_visible()

    # adds a pipeline stage
    hub.get_by_role("link", name=re.compile("Pipeline stages")).click()
    page.get_by_test_id("new-stage").click()
    form = page.get_by_test_id("stage-form")
    form.get_by_label("Name").fill("Security review")
    form.get_by_label("Default probability %").fill("50")
    form.get_by_role("button", name="Add stage").click()
    expect(page.locator("[data-testid=stage-row][data-stage='Security review']")).to_be_visible()
    assert Stage.objects.filter(name="Security review", default_probability=50).exists()

    # adds a routing rule: events leads from Indonesia go to the Events Squad
    page.goto(f"{live_server.url}/settings/")
    page.get_by_test_id("settings-pages").get_by_role(
        "link", name=re.compile("Routing rules")
    ).click()
    expect(page.get_by_role("heading", name="Routing rules", level=1)).to_be_visible()
    page.get_by_test_id("new-rule").click()
    form = page.get_by_test_id("routing-rule-form")
    form.get_by_role("button", name="Create rule").click()  # nothing filled in yet
    expect(form.locator("[data-field=name]")).to_contain_text("Give the rule a name.")
    expect(form.locator("[data-field=team]")).to_contain_text("Choose the team")
    form.get_by_label(re.compile(r"^Name")).fill("Events in Indonesia")
    form.get_by_label(re.compile(r"^Strategy")).select_option("territory")
    form.get_by_label(re.compile(r"^Team")).select_option(label="Events Squad")
    form.get_by_label("Source").select_option("event")
    form.get_by_label("Country").fill("id")
    screenshot(page, "new-rule")
    form.get_by_role("button", name="Create rule").click()

    rules = page.get_by_test_id("routing-rules")
    expect(rules.get_by_test_id("routing-rule")).to_have_count(1)
    expect(rules).to_contain_text("Events in Indonesia")
    expect(rules).to_contain_text("ID")
    expect(page.get_by_test_id("settings-history")).to_contain_text("Events in Indonesia")

    # the tester says who would get such a lead, and moves nobody's turn
    tester = page.get_by_test_id("routing-tester")
    tester.get_by_label("Source").select_option("event")
    tester.get_by_label("Country").fill("ID")
    tester.get_by_test_id("run-tester").click()
    result = page.get_by_test_id("tester-result")
    expect(result).to_contain_text("Events in Indonesia")
    expect(result.get_by_test_id("tester-owner")).to_have_text("Ayu Putri")
    screenshot(page, "tester")
    rule = RoutingRule.objects.get(name="Events in Indonesia")
    assert rule.last_assigned is None and rule.match_country == "ID"

    # the reasons sit next door: RevOps adds a disqualification reason
    page.get_by_role("link", name="Reasons").click()
    add = page.get_by_test_id("add-disqualification")
    add.get_by_label("Add a reason").fill("Government agency, no budget line")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_test_id("reasons-disqualification")).to_contain_text(
        "Government agency, no budget line"
    )
    screenshot(page, "reasons")
    assert SettingChange.objects.filter(object_id=rule.pk, actor=people["revops"]).exists()

    # a manager adds a lead through the intake form: the rule routes it to Ayu
    manager_page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    login(manager_page, live_server, people["boss"])
    manager_page.goto(f"{live_server.url}/leads/new/")
    form = manager_page.get_by_test_id("lead-form")
    form.get_by_label(re.compile(r"^Company\W*$")).fill("Garuda Events")
    form.get_by_label("Last name").fill("Halim")
    form.get_by_label("E-mail").fill("halim@garuda.example")
    form.get_by_label("Source").select_option("event")
    form.get_by_label("Country").select_option("ID")
    manager_page.get_by_role("button", name="Create lead").click()

    expect(manager_page.get_by_role("heading", name="Garuda Events", level=1)).to_be_visible()
    expect(manager_page.get_by_test_id("owner")).to_have_text("Ayu Putri")
    screenshot(manager_page, "routed-lead")
    lead = Lead.objects.get(company_name="Garuda Events")
    assert lead.owner == people["ayu"] and lead.team.name == "Events Squad"
    assert LeadEvent.objects.get(lead=lead, kind="assigned").note == (
        "Routed by rule “Events in Indonesia”"
    )
    manager_page.context.close()


def test_a_lead_nobody_can_take_waits_in_the_unassigned_queue_until_a_manager_assigns_it(
    page: Page, live_server, login, screenshot, defaults
):
    from leads import services

    boss = UserFactory(manager=True, username="mira", first_name="Mira", last_name="Santoso")
    lead = services.lead_create(
        by=None,
        data={
            "company_name": "Orphan Logistics",
            "last_name": "Tan",
            "email": "tan@orphan.example",
            "source": "inbound",
        },
    )
    assert lead.owner is None  # no active SDR at all
    rep = UserFactory(sdr=True, username="sari", first_name="Sari", last_name="Dewi")

    login(page, live_server, boss)
    page.goto(f"{live_server.url}/leads/")
    tab = page.get_by_test_id("unassigned-tab")
    expect(tab.get_by_test_id("unassigned-count")).to_have_text("1")
    tab.click()
    expect(page.get_by_role("heading", name="Waiting for an owner")).to_be_visible()
    row = page.get_by_test_id("queue-row").filter(has_text="Orphan Logistics")
    expect(row.get_by_test_id("queue-assign")).to_be_visible()
    expect(row).to_contain_text("Route a lead")  # the routing clock runs against it
    screenshot(page, "unassigned")

    row.get_by_label("SDR for Orphan Logistics").select_option(label="Sari Dewi")
    row.get_by_role("button", name="Assign").click()

    expect(page.get_by_text("Orphan Logistics assigned to Sari Dewi.")).to_be_visible()
    expect(page.get_by_test_id("unassigned-count")).to_have_text("0")
    lead.refresh_from_db()
    assert lead.owner == rep
