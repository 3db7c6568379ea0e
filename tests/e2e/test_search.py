"""The global search and keyboard shortcuts in a real browser: Ctrl+K opens the palette,
typing finds a lead, Enter opens it; "?" lists the shortcuts; "g" then a letter goes
somewhere; the top bar's box and the theme commands; the manager's team view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e

MOBILE = {"width": 390, "height": 844}


@pytest.fixture
def sdr(transactional_db):
    return UserFactory(sdr=True, username="maya", first_name="Maya", last_name="Putri")


@pytest.fixture
def leads(sdr) -> list[Lead]:
    other = UserFactory(sdr=True, username="other")
    LeadFactory(owner=other, company_name="Nusantara Logistics Rival")  # not hers
    return [
        LeadFactory(owner=sdr, company_name="Nusantara Logistics", first_name="Budi"),
        LeadFactory(owner=sdr, company_name="Borneo Foods", first_name="Sari"),
    ]


def open_palette(page: Page) -> None:
    page.wait_for_load_state()  # palette.js is deferred: it listens once the page has loaded
    page.keyboard.press("Control+k")
    expect(page.get_by_test_id("palette")).to_be_visible()
    expect(page.get_by_role("combobox")).to_be_focused()


def test_ctrl_k_finds_a_lead_and_enter_opens_it(
    page: Page, live_server, login, leads, sdr, screenshot
):
    login(page, live_server, sdr)

    open_palette(page)
    page.keyboard.type("nusantara")

    listbox = page.get_by_role("listbox")
    option = listbox.get_by_role("option", name=re.compile("Nusantara Logistics"))
    expect(option.first).to_be_visible()
    # her lead only: the other SDR's lead is not hers to find
    expect(listbox.get_by_text("Nusantara Logistics Rival")).to_have_count(0)
    expect(option.first).to_have_attribute("aria-selected", "true")
    combobox = page.get_by_role("combobox")
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(combobox).to_have_attribute("aria-activedescendant", re.compile(r"palette-option-\d+"))
    screenshot(page, "palette", full_page=False)

    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/leads/{leads[0].pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nusantara Logistics")


def test_arrows_move_and_esc_closes(page: Page, live_server, login, leads, sdr):
    login(page, live_server, sdr)
    open_palette(page)
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()  # the commands, before anything is typed

    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps to the last
    expect(options.last).to_have_attribute("aria-selected", "true")

    page.keyboard.press("Escape")
    expect(page.get_by_test_id("palette")).to_be_hidden()


def test_a_misspelt_name_still_finds_the_lead(page: Page, live_server, login, leads, sdr):
    login(page, live_server, sdr)
    open_palette(page)

    page.keyboard.type("nusantra")

    expect(page.get_by_role("option", name=re.compile("Nusantara Logistics")).first).to_be_visible()


def test_question_mark_lists_the_shortcuts_and_g_l_goes_to_the_queue(
    page: Page, live_server, login, sdr, screenshot
):
    login(page, live_server, sdr)

    page.keyboard.press("?")

    dialog = page.get_by_test_id("shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    expect(dialog).to_contain_text("Go to the lead queue")
    screenshot(page, "shortcuts", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("g")
    page.keyboard.press("l")

    expect(page).to_have_url(re.compile(r"/leads/$"))


def test_the_top_bar_box_opens_the_palette_and_works_without_it(
    page: Page, live_server, login, leads, sdr, screenshot
):
    login(page, live_server, sdr)

    page.get_by_test_id("topbar-search").click()
    expect(page.get_by_test_id("palette")).to_be_visible()
    page.keyboard.type("borneo")
    expect(page.get_by_role("option", name=re.compile("Borneo Foods")).first).to_be_visible()
    page.keyboard.press("Escape")

    # the page it submits to without scripts
    page.goto(f"{live_server.url}/search/?q=borneo")
    expect(page.get_by_test_id("search-group-lead")).to_contain_text("Borneo Foods")
    screenshot(page, "search-page")
    page.set_viewport_size(MOBILE)
    screenshot(page, "search-page-mobile")


def test_the_theme_commands_switch_the_theme(
    page: Page, live_server, login, leads, sdr, screenshot
):
    login(page, live_server, sdr)
    open_palette(page)

    page.keyboard.type("theme dark")
    page.keyboard.press("Enter")  # before the answer came: it acts on the answer

    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_test_id("palette")).to_be_hidden()
    open_palette(page)
    page.keyboard.type("nusantara")
    expect(page.get_by_role("option", name=re.compile("Nusantara Logistics")).first).to_be_visible()
    screenshot(page, "palette-dark", full_page=False)


def test_the_palette_on_a_phone(page: Page, live_server, login, leads, sdr, screenshot):
    page.set_viewport_size(MOBILE)
    login(page, live_server, sdr)

    page.get_by_test_id("topbar-search").click()
    page.keyboard.type("nusantara")

    option = page.get_by_role("option", name=re.compile("Nusantara Logistics")).first
    expect(option).to_be_visible()
    box = page.get_by_test_id("palette").bounding_box()
    assert box is not None and box["width"] <= MOBILE["width"]
    screenshot(page, "palette-mobile", full_page=False)


def test_a_manager_sees_the_team_and_drills_into_a_figure(
    page: Page, live_server, login, screenshot
):
    manager = UserFactory(manager=True, username="boss", first_name="Bima")
    squad = TeamFactory(name="Squad", manager=manager)
    rep = UserFactory(sdr=True, username="sari", first_name="Sari", last_name="Dewi", team=squad)
    LeadFactory.create_batch(3, owner=rep, team=squad)
    login(page, live_server, manager)

    team = page.get_by_test_id("team-view")
    expect(team).to_contain_text("Sari Dewi")
    screenshot(page, "team-view")
    team.locator('[data-metric="open_leads"] a').first.click()

    expect(page.get_by_test_id("team-drill")).to_be_visible()
    expect(page.get_by_test_id("team-drill").locator("tbody tr")).to_have_count(3)
    screenshot(page, "team-drill")
    page.set_viewport_size(MOBILE)
    page.goto(f"{live_server.url}/")
    screenshot(page, "team-view-mobile")
