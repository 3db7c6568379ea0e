"""The app shell in a real browser: sign in, My work for an SDR and an AE, sign out."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from crm.models import Notification
from leads.models import Lead, Source
from tests.factories import LeadFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.e2e


def _count(page: Page, key: str):
    return page.get_by_test_id(f"count-{key}").locator(".stat-value")


def test_anonymous_visitor_is_sent_to_the_login_page(page: Page, live_server, screenshot):
    page.goto(f"{live_server.url}/")

    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Threshold")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_focused()
    # The stylesheet was served: the sign-in card is styled, not a bare form.
    card_width = page.locator(".auth-card").evaluate("el => el.getBoundingClientRect().width")
    assert card_width < 500
    screenshot(page, "login")


def test_sdr_sees_own_open_leads_and_counts(page: Page, live_server, login, screenshot):
    # given an SDR in Jakarta with open leads, a closed one, and someone else's lead
    sdr = UserFactory(
        sdr=True, username="maya", first_name="Maya", last_name="Putri", time_zone="Asia/Jakarta"
    )
    LeadFactory(
        owner=sdr,
        company_name="Nusantara Logistics",
        job_title="VP Operations",
        status=Lead.Status.MQL,
        score=82,
    )
    LeadFactory(
        owner=sdr, company_name="Borneo Foods", source=Source.REFERRAL, status=Lead.Status.MQL
    )
    LeadFactory(
        owner=sdr, company_name="Selat Shipping", source=Source.EVENT, status=Lead.Status.SAL
    )
    sql_lead = LeadFactory(
        owner=sdr,
        company_name="Garuda Analytics",
        source=Source.OUTBOUND,
        status=Lead.Status.SQL,
        score=24,
    )
    LeadFactory(
        owner=sdr,
        company_name="Closed Deal Co",
        status=Lead.Status.CONVERTED,
        converted_at=datetime.datetime.now(tz=datetime.UTC),
    )
    LeadFactory(company_name="Someone Else Inc")
    Lead.objects.filter(pk=sql_lead.pk).update(
        created_at=datetime.datetime(2025, 3, 4, 2, 30, tzinfo=datetime.UTC)
    )
    Notification.objects.create(recipient=sdr, kind="assignment", message="New lead for you")

    # when she signs in
    login(page, live_server, sdr)

    # then My work lists her open leads only, with the counts per status
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page.get_by_test_id("greeting")).to_contain_text("Maya")
    expect(page.get_by_test_id("greeting")).to_contain_text("SDR")
    leads = page.get_by_test_id("my-leads")
    for company in ("Nusantara Logistics", "Borneo Foods", "Selat Shipping", "Garuda Analytics"):
        expect(leads.get_by_text(company)).to_be_visible()
    expect(leads.get_by_text("Closed Deal Co")).to_have_count(0)
    expect(leads.get_by_text("Someone Else Inc")).to_have_count(0)
    expect(_count(page, "open")).to_have_text("4")
    expect(_count(page, "mql")).to_have_text("2")
    expect(_count(page, "sal")).to_have_text("1")
    expect(_count(page, "sql")).to_have_text("1")
    expect(_count(page, "opportunities")).to_have_text("0")
    # status badges and times in her own zone (02:30 UTC is 09:30 in Jakarta)
    garuda = leads.get_by_role("row", name=re.compile("Garuda Analytics"))
    expect(garuda.locator(".status-sql")).to_have_text("SQL")
    expect(garuda).to_contain_text("Outbound")
    expect(garuda).to_contain_text("4 Mar 2025, 09:30")
    expect(leads.get_by_role("columnheader", name="Asia/Jakarta")).to_be_visible()
    expect(page.get_by_test_id("my-opportunities")).to_contain_text("No open opportunities")
    # the shell: navigation, the bell, who is signed in
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["My work", "Leads", "Opportunities", "Pipeline", "Dashboard"]
    )
    expect(page.get_by_test_id("notification-bell")).to_contain_text("1 unread notification")
    expect(page.get_by_test_id("user-name")).to_have_text("Maya Putri")
    expect(page.get_by_test_id("user-role")).to_have_text("SDR")
    screenshot(page, "my-work")

    # when she logs out, she is back at the sign-in page and / is closed to her
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_ae_sees_opportunities_and_handed_off_leads(
    page: Page, live_server, login, screenshot, pipeline_stages
):
    # given an AE with an open opportunity and a lead an SDR handed off
    ae = UserFactory(ae=True, username="arif", first_name="Arif", last_name="Wijaya")
    sdr = UserFactory(sdr=True, username="sari", first_name="Sari", last_name="Lestari")
    OpportunityFactory(
        owner=ae,
        name="Kopi Kita - Routing - Inbound speed",
        account__name="Kopi Kita",
        amount=Decimal("125000.00"),
        currency="USD",
        probability=20,
    )
    LeadFactory(owner=sdr, ae=ae, company_name="Rinjani Retail", status=Lead.Status.SQL)

    # when he signs in
    login(page, live_server, ae)

    # then both show up, with the summary counts
    expect(page.get_by_test_id("greeting")).to_contain_text("Arif")
    expect(page.get_by_test_id("greeting")).to_contain_text("Account executive")
    opportunities = page.get_by_test_id("my-opportunities")
    row = opportunities.get_by_role("row", name=re.compile("Kopi Kita - Routing"))
    expect(row).to_contain_text("Discovery")
    expect(row).to_contain_text("125,000 USD")
    expect(row).to_contain_text("20%")
    handed_off = page.get_by_test_id("my-leads").get_by_role("row", name=re.compile("Rinjani"))
    expect(handed_off).to_contain_text("Handed off by Sari Lestari")
    expect(_count(page, "open")).to_have_text("1")
    expect(_count(page, "sql")).to_have_text("1")
    expect(_count(page, "opportunities")).to_have_text("1")
    expect(page.get_by_test_id("notification-bell")).to_contain_text("0 unread notifications")
    screenshot(page, "my-work")


def test_wrong_password_shows_an_error(page: Page, live_server, screenshot):
    user = UserFactory(sdr=True, username="dewi")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    expect(page.get_by_label("Username")).to_have_value("dewi")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(page, "login-error")


def test_navigation_folds_away_on_a_phone(page: Page, live_server, login, screenshot):
    user = UserFactory(sdr=True, username="putu", first_name="Putu")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, user)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    screenshot(page, "phone")

    page.get_by_role("button", name="Open navigation").click()

    expect(nav.get_by_role("link", name="My work")).to_be_visible()
    # Bootstrap's offcanvas is done sliding in when it drops `.showing`.
    expect(page.locator("#sidebar")).to_have_class(re.compile(r"^(?!.*\bshowing\b).*\bshow\b"))
    screenshot(page, "menu", full_page=False)


def test_staff_reach_the_admin_from_the_shell(page: Page, live_server, login):
    admin = UserFactory(admin=True, username="ops", first_name="Rina")
    lead = LeadFactory(owner=admin, company_name="Merapi Energy")

    login(page, live_server, admin)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        [
            "My work",
            "Leads",
            "Opportunities",
            "Pipeline",
            "Dashboard",
            "Approvals",
            "SLA",
            "Import leads",
            "Settings",
            "Administration",
        ]
    )
    expect(page.get_by_role("link", name="Merapi Energy")).to_have_attribute(
        "href", f"/leads/{lead.pk}/"
    )
