"""The AE's day in a real browser: convert a handed-off lead with the wizard, land on the
deal, and drag it across the pipeline board (SortableJS, real mouse events)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from leads.models import Lead, Source
from opportunities import services
from opportunities.models import Opportunity, Stage, StageChange
from tests.factories import (
    AccountFactory,
    HandoffFactory,
    LeadFactory,
    OpportunityFactory,
    QualificationFactory,
    UserFactory,
)

pytestmark = pytest.mark.e2e


def _drag(page: Page, card: Locator, target: Locator) -> None:
    """Press, move in small steps, release: what SortableJS listens to."""
    # The board scrolls sideways: bring the target column in, then the card must be in too.
    card.scroll_into_view_if_needed()
    target.scroll_into_view_if_needed()
    start = card.bounding_box()
    end = target.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 1440
    assert start is not None and end is not None
    assert start["x"] >= 0 and end["x"] + end["width"] / 2 < width, "drag ends off-screen"
    x, y = start["x"] + start["width"] / 2, start["y"] + 20
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=25)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 44, steps=4)
    page.mouse.up()


def _column(page: Page, name: str) -> Locator:
    return page.get_by_test_id(f"column-{name}")


def test_ae_converts_a_handed_off_lead_and_drags_the_deal(
    page: Page, live_server, login, screenshot, pipeline_stages
):
    # given an AE in Jakarta with a lead the SDR handed off, discovery held yesterday
    sdr = UserFactory(sdr=True, username="maya", first_name="Maya", last_name="Putri")
    ae = UserFactory(
        ae=True,
        username="arif",
        first_name="Arif",
        last_name="Wibowo",
        time_zone="Asia/Jakarta",
        default_currency="USD",
    )
    lead = LeadFactory(
        status=Lead.Status.SQL,
        owner=sdr,
        ae=ae,
        company_name="Nusantara Logistics",
        company_domain="nusantara-logistics.example",
        first_name="Dewi",
        last_name="Lestari",
        email="dewi@nusantara-logistics.example",
        job_title="VP Sales",
        industry="Logistics",
        source=Source.EVENT,
        campaign="Jakarta Supply Chain Summit",
        score=82,
    )
    QualificationFactory(
        lead=lead,
        confirmed=True,
        decision_criteria="Routing speed, CRM integration, total cost over 3 years",
        decision_other_vendors="RouteCo; the in-house spreadsheet",
        notes="Champion is the RevOps lead; VP Sales signs.",
    )
    HandoffFactory(
        lead=lead,
        from_user=sdr,
        to_user=ae,
        discovery_held_at=timezone.now() - datetime.timedelta(days=1),
    )
    # and a board that already holds a few deals
    other = AccountFactory(name="Borneo Foods", domain="borneo-foods.example")
    OpportunityFactory(
        owner=ae,
        account=other,
        name="Borneo Foods - Routing Engine - Cold chain",
        amount=Decimal("42000"),
        stage=Stage.objects.get(name="Qualification"),
        competitive_landscape="RouteCo",
    )
    OpportunityFactory(
        owner=ae,
        account=AccountFactory(name="Selat Shipping", domain="selat-shipping.example"),
        name="Selat Shipping - Lead Router - Port ops",
        amount=Decimal("310000000"),
        currency="IDR",
        stage=Stage.objects.get(name="Proposal"),
        stage_entered_at=timezone.now() - datetime.timedelta(days=30),
    )
    today = timezone.localdate()

    # when the AE opens the conversion wizard
    login(page, live_server, ae)
    page.goto(f"{live_server.url}/leads/{lead.pk}/convert/")

    # then the readiness checklist says ready and the form is pre-filled from the lead
    expect(page.get_by_role("heading", name="Convert Nusantara Logistics")).to_be_visible()
    expect(page.get_by_test_id("verdict")).to_have_text(re.compile("Ready"))
    expect(page.get_by_test_id("check-discovery_not_held")).to_contain_text("Discovery call held")
    expect(page.locator("#id_name")).to_have_value("Nusantara Logistics - ")
    expect(page.locator("#id_industry_vertical")).to_have_value("Logistics")
    expect(page.locator("#id_decision_criteria")).to_have_value(re.compile("Routing speed"))
    expect(page.get_by_test_id("account-match")).to_contain_text("a new account will be created")
    expect(page.get_by_test_id("attribution")).to_contain_text("Jakarta Supply Chain Summit")
    expect(page.get_by_test_id("close-date-reason")).to_be_hidden()

    # the close-date reason appears only outside RevOps' window
    page.locator("#id_expected_close_date").fill((today + datetime.timedelta(days=30)).isoformat())
    expect(page.get_by_test_id("close-date-reason")).to_be_visible()
    page.locator("#id_expected_close_date").fill((today + datetime.timedelta(days=120)).isoformat())
    expect(page.get_by_test_id("close-date-reason")).to_be_hidden()

    # converting with the name unfinished and no contact role lists every problem at once
    page.get_by_test_id("convert").click()
    problems = page.get_by_test_id("problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("Use the standard format")
    expect(problems).to_contain_text("Estimate the deal size.")
    expect(problems).to_contain_text("Give at least one contact a role")
    expect(page.locator('[data-field="amount"] .field-error')).to_have_text(
        re.compile("Estimate the deal size.")
    )
    expect(page.get_by_test_id("verdict")).to_contain_text("complete the opportunity data")
    assert not Opportunity.objects.filter(lead=lead).exists()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "wizard-problems")

    # the AE completes the wizard
    page.locator("#id_name").fill("Nusantara Logistics - Routing Engine - Inbound lead speed")
    page.locator("#id_amount").fill("85000")
    page.locator("#id_discount_notes").fill("10% multi-year discount if signed before March.")
    page.locator("#id_stage").select_option(label="Discovery")
    expect(page.locator("#id_probability")).to_have_value("10")
    page.locator("#id_next_step").fill("Technical deep-dive with their IT lead")
    page.locator("#id_next_step_due").fill((today + datetime.timedelta(days=5)).isoformat())
    page.locator("#id_product_line").fill("Routing Engine")
    page.locator("#id_use_case").fill("Inbound lead speed")
    page.locator("#id_risks").fill("IT security review may take 6 weeks.")
    page.locator("#id_roles-0-role").select_option("economic_buyer")
    page.get_by_test_id("add-contact").click()
    page.locator("#id_roles-1-role").select_option("champion")
    page.locator("#id_roles-1-first_name").fill("Rina")
    page.locator("#id_roles-1-last_name").fill("Sari")
    page.locator("#id_roles-1-email").fill("rina@nusantara-logistics.example")
    page.locator("#id_roles-1-job_title").fill("RevOps lead")
    page.evaluate("window.scrollTo(0, 0)")  # sticky bars paint mid-page otherwise
    screenshot(page, "wizard")
    page.get_by_test_id("convert").click()

    # then the AE lands on the new opportunity
    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    expect(page.get_by_role("alert")).to_contain_text("Converted.")
    expect(page.get_by_test_id("opportunity-name")).to_have_text(
        "Nusantara Logistics - Routing Engine - Inbound lead speed"
    )
    expect(page.get_by_test_id("amount")).to_have_text("$85,000.00")
    expect(page.get_by_test_id("roles")).to_contain_text("Rina Sari")
    expect(page.get_by_test_id("activities")).to_contain_text("Technical deep-dive")
    expect(page.get_by_test_id("snapshot")).to_contain_text("CFO approved 120k")
    opportunity = Opportunity.objects.get(lead=lead)
    assert opportunity.stage.name == "Discovery"
    screenshot(page, "detail")

    # when the AE opens the board and drags the deal from Discovery to Qualification
    page.goto(f"{live_server.url}/pipeline/")
    card = _column(page, "discovery").get_by_test_id("deal-card").filter(has_text="Nusantara")
    expect(card).to_be_visible()
    expect(_column(page, "qualification").locator("[data-count]")).to_have_text("1")
    screenshot(page, "board")
    with page.expect_response(re.compile(r"/opportunities/\d+/stage/$")) as moved:
        _drag(page, card, _column(page, "qualification").locator(".board-list"))
    assert moved.value.status == 200

    # then the totals follow, the move is stored, and a reload shows it in Qualification
    expect(_column(page, "qualification").locator("[data-count]")).to_have_text("2")
    expect(_column(page, "discovery").locator("[data-count]")).to_have_text("0")
    expect(page.get_by_test_id("board-alert")).to_contain_text("moved to Qualification")
    change = StageChange.objects.filter(opportunity=opportunity).latest("changed_at")
    assert (change.from_stage.name, change.to_stage.name, change.actor) == (
        "Discovery",
        "Qualification",
        ae,
    )
    page.reload()
    expect(
        _column(page, "qualification").get_by_test_id("deal-card").filter(has_text="Nusantara")
    ).to_be_visible()
    expect(_column(page, "discovery").get_by_test_id("deal-card")).to_have_count(0)
    screenshot(page, "board-after-move")


def test_the_board_puts_a_refused_deal_back_and_asks_why_it_was_lost(
    page: Page, live_server, login, screenshot, pipeline_stages
):
    # given a deal that may not leave Qualification yet, and one ready to close
    ae = UserFactory(ae=True, username="arif", first_name="Arif", last_name="Wibowo")
    blocked = OpportunityFactory(
        owner=ae,
        account=AccountFactory(name="Garuda Analytics", domain="garuda.example"),
        name="Garuda Analytics - Lead Router - Scoring",
        stage=Stage.objects.get(name="Qualification"),
        competitive_landscape="",
    )
    closing = OpportunityFactory(
        owner=ae,
        account=AccountFactory(name="Borneo Foods", domain="borneo-foods.example"),
        name="Borneo Foods - Routing Engine - Cold chain",
        stage=Stage.objects.get(name="Negotiation"),
    )
    login(page, live_server, ae)
    page.goto(f"{live_server.url}/pipeline/")

    # when the blocked deal is dropped on Present/Demo
    card = _column(page, "qualification").get_by_test_id("deal-card")
    with page.expect_response(re.compile(r"/stage/$")) as refused:
        _drag(page, card, _column(page, "presentdemo").locator(".board-list"))

    # then it goes back and the exit criterion is named
    assert refused.value.status == 400
    expect(page.get_by_test_id("board-alert")).to_contain_text(
        "Fill in competitive landscape before leaving Qualification."
    )
    expect(_column(page, "qualification").get_by_test_id("deal-card")).to_have_count(1)
    expect(_column(page, "presentdemo").get_by_test_id("deal-card")).to_have_count(0)
    screenshot(page, "refused")

    # when the other deal is dropped on Closed Lost, a form asks why and to whom
    card = _column(page, "negotiation").get_by_test_id("deal-card")
    with page.expect_response(re.compile(r"/stage/$")):
        _drag(page, card, _column(page, "closed-lost").locator(".board-list"))
    modal = page.get_by_test_id("lost-modal")
    expect(modal).to_be_visible()
    modal.get_by_label("Why was it lost?").fill("Budget moved to a warehouse project.")
    modal.get_by_label("Lost to").fill("No decision")
    screenshot(page, "lost-modal", full_page=False)
    with page.expect_response(re.compile(r"/stage/$")) as closed:
        modal.get_by_role("button", name="Close as lost").click()

    # then the deal is closed lost, with the reason stored
    assert closed.value.status == 200
    expect(modal).to_be_hidden()
    expect(_column(page, "closed-lost").locator("[data-count]")).to_have_text("1")
    closing.refresh_from_db()
    blocked.refresh_from_db()
    assert closing.stage.is_lost and closing.lost_to_competitor == "No decision"
    assert blocked.stage.name == "Qualification"


def test_manager_approves_an_override_request_from_the_approvals_page(
    page: Page, live_server, login, screenshot, pipeline_stages
):
    # given an AE asked to convert a lead whose timeline is not confirmed yet
    manager = UserFactory(manager=True, username="sari", first_name="Sari", last_name="Hadi")
    ae = UserFactory(ae=True, username="arif", first_name="Arif", last_name="Wibowo")
    ae.manager = manager  # not a factory kwarg: `manager` is the factory's role trait
    ae.save()
    lead = LeadFactory(
        status=Lead.Status.SQL,
        ae=ae,
        company_name="Garuda Analytics",
        company_domain="garuda.example",
        email="budi@garuda.example",
    )
    QualificationFactory(lead=lead, confirmed=True, timeline_status="in_progress")
    HandoffFactory(lead=lead, to_user=ae, discovery_held_at=timezone.now())
    today = timezone.localdate()
    services.conversion_request_create(
        lead_id=lead.pk,
        by=ae,
        raw={
            "name": "Garuda Analytics - Lead Router - Scoring",
            "amount": "64000",
            "currency": "USD",
            "expected_close_date": (today + datetime.timedelta(days=100)).isoformat(),
            "stage": str(Stage.objects.get(name="Discovery").pk),
            "next_step": "Pilot kick-off",
            "next_step_owner": str(ae.pk),
            "next_step_due": (today + datetime.timedelta(days=3)).isoformat(),
            "product_line": "Lead Router",
            "use_case": "Scoring",
            "industry_vertical": "Analytics",
            "decision_criteria": "Accuracy",
            "competitive_landscape": "None yet",
            "risks": "Timeline depends on their merger",
            "contact_roles": [{"lead_contact": True, "role": "champion"}],
        },
        rationale="Their merger closes in 60 days; the buyer wants the pilot running before.",
    )
    OpportunityFactory(
        owner=ae,
        name="Selat Shipping - Lead Router - Port ops",
        account=AccountFactory(name="Selat Shipping", domain="selat-shipping.example"),
        approval=Opportunity.Approval.PENDING,
        amount=Decimal("180000"),
    )

    # when the manager opens Approvals
    login(page, live_server, manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    request = page.get_by_test_id("override-request")
    expect(request).to_contain_text("Garuda Analytics")
    expect(request).to_contain_text("Timeline defined")
    expect(request).to_contain_text("Their merger closes in 60 days")
    expect(request).to_contain_text("Garuda Analytics - Lead Router - Scoring")
    screenshot(page, "approvals")
    request.get_by_label("Note to the requester").fill("OK given the merger; revisit in 30 days.")
    request.get_by_test_id("approve-override").click()

    # then the lead converts, the deal is flagged as an override
    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    expect(page.get_by_role("alert").first).to_contain_text("Approved")
    expect(page.locator(".opp-title-row .flag-override")).to_be_visible()
    expect(page.get_by_test_id("snapshot")).to_contain_text("Converted by override.")
    opportunity = Opportunity.objects.get(lead=lead)
    assert opportunity.is_override and opportunity.owner == ae

    # and the list shows both flags
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Opportunities").click()
    rows = page.get_by_test_id("opportunity-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Garuda")).to_contain_text("Override")
    expect(rows.filter(has_text="Selat")).to_contain_text("Approval pending")
    screenshot(page, "list")
