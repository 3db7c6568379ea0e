"""Bulk actions in a real browser: tick rows, widen to every lead the filter matches, run
"Accept" on 50 leads where one cannot be accepted, and read 49 done and the one failure
named with its reason; on the deal list, move the ticked deals to another stage, and a
manager hands them to another AE."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from opportunities.models import Stage
from tests.factories import LeadFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def fifty(transactional_db):
    """An SDR with 50 open leads; one of them she accepted already."""
    sdr = UserFactory(sdr=True, username="sari", first_name="Sari", last_name="Dewi")
    LeadFactory.create_batch(49, owner=sdr)
    LeadFactory(owner=sdr, status=Lead.Status.SAL, company_name="Already Accepted Co")
    return sdr


def test_accept_fifty_with_one_failure(page: Page, live_server, login, screenshot, fifty):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, live_server, fifty)
    page.goto(f"{live_server.url}/leads/")

    bar = page.get_by_test_id("bulk-bar")
    expect(page.get_by_test_id("bulk-row")).to_have_count(25)  # one page
    expect(bar).to_be_hidden()

    # she ticks the page, then widens the selection to every lead the filter matches
    page.get_by_test_id("bulk-all").check()
    expect(bar).to_be_visible()
    expect(bar.get_by_test_id("bulk-selected")).to_contain_text("25 selected on this page")
    bar.get_by_test_id("bulk-select-matching").click()
    expect(bar.get_by_test_id("bulk-selected")).to_contain_text("All 50 leads matching the filter")

    # and accepts them all
    expect(bar.get_by_test_id("bulk-select-matching")).to_be_hidden()
    # each action shows only its own parameters
    bar.get_by_test_id("bulk-action").select_option("reject")
    expect(bar.get_by_label("Rejection reason")).to_be_visible()
    bar.get_by_test_id("bulk-action").select_option("accept")
    expect(bar.get_by_label("Rejection reason")).to_be_hidden()
    screenshot(page, "bar", full_page=False)
    # 50 transactions in one request: on a loaded machine it takes longer than a click
    bar.get_by_test_id("bulk-run").click(no_wait_after=True)

    expect(page.get_by_test_id("bulk-summary")).to_have_text("49 done, 1 failed", timeout=90_000)
    failures = page.get_by_test_id("bulk-failure")
    expect(failures).to_have_count(1)
    expect(failures).to_contain_text("Already Accepted Co")
    expect(failures).to_contain_text("cannot move to")
    expect(failures.get_by_role("link", name="Already Accepted Co")).to_be_visible()
    screenshot(page, "results")
    assert Lead.objects.filter(owner=fifty, status=Lead.Status.SAL).count() == 50
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors

    page.get_by_test_id("bulk-back").click()
    expect(page.get_by_test_id("queue")).to_be_visible()


def test_move_ticked_deals_to_a_stage(page: Page, live_server, login, pipeline_stages):
    ae = UserFactory(ae=True, username="adi", first_name="Adi", last_name="Putra")
    ready = OpportunityFactory(owner=ae, name="Ready Deal", decision_criteria="Pilot first.")
    blocked = OpportunityFactory(owner=ae, name="Blocked Deal", decision_criteria="")
    login(page, live_server, ae)
    page.goto(f"{live_server.url}/opportunities/")

    page.get_by_test_id("bulk-row").nth(0).check()
    page.get_by_test_id("bulk-row").nth(1).check()
    bar = page.get_by_test_id("bulk-bar")
    expect(bar.get_by_test_id("bulk-selected")).to_contain_text("2 selected on this page")
    bar.get_by_test_id("bulk-action").select_option("move_stage")
    bar.get_by_label("Move to").select_option(label="Qualification")
    bar.get_by_test_id("bulk-run").click()

    expect(page.get_by_test_id("bulk-summary")).to_have_text("1 done, 1 failed")
    expect(page.get_by_test_id("bulk-failure")).to_contain_text("Blocked Deal")
    ready.refresh_from_db()
    blocked.refresh_from_db()
    assert ready.stage == Stage.objects.get(name="Qualification")
    assert blocked.stage.name == "Discovery"


def test_a_manager_hands_ticked_deals_to_another_ae(
    page: Page, live_server, login, pipeline_stages
):
    manager = UserFactory(manager=True, username="maya", first_name="Maya", last_name="Sari")
    team = TeamFactory(name="Enterprise East", manager=manager)
    adi = UserFactory(ae=True, username="adi", first_name="Adi", last_name="Putra", team=team)
    bima = UserFactory(ae=True, username="bima", first_name="Bima", last_name="Sakti", team=team)
    deals = OpportunityFactory.create_batch(2, owner=adi)
    login(page, live_server, manager)
    page.goto(f"{live_server.url}/opportunities/")

    page.get_by_test_id("bulk-all").check()
    bar = page.get_by_test_id("bulk-bar")
    bar.get_by_test_id("bulk-action").select_option("change_owner")
    bar.get_by_label("New owner").select_option(label="Bima Sakti")
    bar.get_by_label("Why the deals change hands").fill("Adi moves to partners.")
    bar.get_by_test_id("bulk-run").click()

    expect(page.get_by_test_id("bulk-summary")).to_have_text("2 done, 0 failed")
    for deal in deals:
        deal.refresh_from_db()
        assert deal.owner == bima
        assert deal.events.get().reason == "Adi moves to partners."
