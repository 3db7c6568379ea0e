"""Duplicates in a real browser: the intake form warns while the e-mail is typed and asks
before saving; a manager merges two leads of one person side by side."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from leads import services
from leads.models import Lead, LeadEvent
from tests.e2e.conftest import VIEWPORT
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.e2e

PERSON = {
    "company_name": "PT Nusantara Logistik",
    "company_domain": "nusantara.example",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "source": "inbound",
}


@pytest.fixture
def people(transactional_db):
    boss = UserFactory(manager=True, username="mira", first_name="Mira", last_name="Santoso")
    team = TeamFactory(name="Jakarta Inbound", manager=boss)
    rep = UserFactory(sdr=True, username="dewi", first_name="Dewi", last_name="Lestari", team=team)
    return boss, rep


def test_a_duplicate_is_caught_at_intake_and_merged_by_the_manager(
    browser: Browser, page: Page, live_server, login, screenshot, people
):
    boss, rep = people
    existing = services.lead_create(
        by=rep, data={**PERSON, "email": "budi@nusantara.example"}, owner=rep
    )
    other = services.lead_create(
        by=rep,
        data={**PERSON, "email": "budi.wijaya@gmail.com", "phone": "+62 31 555 0101"},
        owner=rep,
    )

    # the SDR types a person who is already a lead: warned as the e-mail is typed
    login(page, live_server, rep)
    page.goto(f"{live_server.url}/leads/new/")
    page.locator("#id_company_name").fill("Nusantara Logistik")
    page.locator("#id_last_name").fill("Wijaya")
    page.locator("#id_email").fill("BUDI@nusantara.example")
    page.locator("#id_email").blur()
    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning.get_by_role("link", name=f"#{existing.pk}", exact=False)).to_be_visible()
    page.locator("#id_source").select_option("event")
    screenshot(page, "warned")

    # submitting asks first; confirming records a touch on the existing lead
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_test_id("duplicate-warning")).to_be_visible()
    page.get_by_test_id("save-anyway").click()
    expect(page).to_have_url(f"{live_server.url}/leads/{existing.pk}/")
    expect(page.get_by_text("recorded on its history as a touch")).to_be_visible()
    expect(page.get_by_test_id("touch")).to_contain_text("the intake form")
    assert Lead.objects.count() == 2
    assert existing.events.filter(kind=LeadEvent.Kind.TOUCH).count() == 1

    # the manager merges the other lead of the same person into it
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    manager_page = context.new_page()
    try:
        login(manager_page, live_server, boss)
        manager_page.goto(f"{live_server.url}/leads/{existing.pk}/")
        manager_page.get_by_test_id("merge").click()
        candidate = manager_page.get_by_test_id("merge-candidate").filter(has_text=f"#{other.pk}")
        candidate.get_by_test_id("choose-duplicate").click()
        chooser = manager_page.get_by_test_id("merge-fields")
        expect(chooser.locator("[data-field=email]")).to_contain_text("budi.wijaya@gmail.com")
        chooser.locator("[data-field=phone] input[value=duplicate]").check()
        manager_page.get_by_label("Why merge?").fill("Same person: work and personal address.")
        screenshot(manager_page, "chooser")
        manager_page.get_by_test_id("confirm-merge").click()
        expect(manager_page).to_have_url(f"{live_server.url}/leads/{existing.pk}/")
        expect(manager_page.get_by_text(f"Lead #{other.pk} merged into this lead")).to_be_visible()
        expect(manager_page.get_by_test_id("merge-note")).to_contain_text(f"#{other.pk}")
        screenshot(manager_page, "merged")

        manager_page.goto(f"{live_server.url}/leads/{other.pk}/")
        expect(manager_page.get_by_test_id("merged-into")).to_contain_text(f"#{existing.pk}")
    finally:
        context.close()

    existing.refresh_from_db()
    other.refresh_from_db()
    assert existing.phone == "+62 31 555 0101"
    assert existing.email == "budi@nusantara.example"
    assert other.merged_into_id == existing.pk
