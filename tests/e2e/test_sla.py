"""SLA clocks in a real browser: the owner hears of a breach through the bell, the manager
sees their team's overdue and at-risk clocks counting, RevOps edits a policy."""

from __future__ import annotations

import datetime
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import User
from leads import services as lead_services
from leads.models import Lead
from sla.models import SlaPolicyChange, SlaTimer
from sla.sweep import timers_sweep
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def sla_defaults(transactional_db) -> None:
    """The live server's transactional flush empties what the data migrations wrote."""
    importlib.import_module("sla.migrations.0002_default_policies").create(django_apps, None)


@pytest.fixture
def people(sla_defaults) -> dict[str, User]:
    boss = UserFactory(
        manager=True,
        username="mira",
        first_name="Mira",
        last_name="Santoso",
        time_zone="Asia/Jakarta",
    )
    team = TeamFactory(name="Jakarta Inbound", manager=boss)
    owner = UserFactory(
        sdr=True,
        username="dewi",
        first_name="Dewi",
        last_name="Lestari",
        team=team,
        time_zone="Asia/Jakarta",
    )
    owner.manager = boss
    owner.save(update_fields=["manager"])
    return {"boss": boss, "owner": owner, "revops": UserFactory(revops=True, username="rani")}


def _lead(owner: User, company: str, person: str) -> Lead:
    first, last = person.split()
    return lead_services.lead_create(
        by=None,
        owner=owner,
        data={
            "company_name": company,
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}@{company.split()[0].lower()}.example",
            "source": "inbound",
        },
    )


def _move_clock(lead: Lead, key: str, *, due_in: datetime.timedelta) -> SlaTimer:
    """Shift a clock as if it had started earlier: due `due_in` from now (negative: late)."""
    timer = SlaTimer.objects.get(lead=lead, policy__key=key)
    shift = timezone.now() + due_in - timer.due_at
    SlaTimer.objects.filter(pk=timer.pk).update(
        started_at=timer.started_at + shift,
        warn_at=timer.warn_at + shift,
        due_at=timer.due_at + shift,
        next_check_at=timer.warn_at + shift,
    )
    timer.refresh_from_db()
    return timer


def test_a_breach_reaches_the_owner_and_the_managers_overview(
    page: Page, browser, live_server, login, screenshot, people
):
    # given one lead past its first-contact deadline and one close to it
    owner, boss = people["owner"], people["boss"]
    late = _lead(owner, "Nusantara Logistik", "Budi Wijaya")
    close = _lead(owner, "Borneo Foods", "Sari Putri")
    _move_clock(late, "first-contact", due_in=-datetime.timedelta(hours=2, minutes=10))
    _move_clock(close, "first-contact", due_in=datetime.timedelta(hours=3, minutes=20))

    # when the beat task's sweep runs
    result = timers_sweep(now=timezone.now())
    assert (result.breaches, result.warnings) == (1, 1)

    # then the owner's bell counts the SLA notifications (plus the two assignments)
    login(page, live_server, owner)
    bell = page.get_by_test_id("notification-bell")
    expect(bell).to_contain_text("4 unread notifications")
    expect(bell.locator(".bell-count")).to_have_text("4")
    bell.click()

    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(4)
    breach = items.filter(has_text="SLA breached")
    expect(breach).to_contain_text("First contact within 24 hours of assignment")
    expect(breach).to_contain_text("Nusantara Logistik")
    expect(breach).to_contain_text("WIB")  # her own time zone
    expect(breach.locator(".notification-kind")).to_have_text("SLA breach")
    expect(items.filter(has_text="SLA at risk")).to_contain_text("Borneo Foods")
    screenshot(page, "notifications")

    # she marks the breach as read: the bell goes down by one
    breach.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_test_id("notification-bell")).to_contain_text("3 unread notifications")
    expect(page.get_by_test_id("notification").filter(has_text="SLA breached")).not_to_have_class(
        re.compile(r"is-unread")
    )

    # and the manager sees the overdue clock and the one at risk counting down
    manager_context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    manager = manager_context.new_page()
    try:
        login(manager, live_server, boss)
        manager.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
        expect(manager).to_have_url(re.compile(r"/sla/$"))
        expect(manager.get_by_test_id("sla-scope")).to_contain_text("My team")
        expect(manager.get_by_test_id("sla-count-overdue").locator(".stat-value")).to_have_text("1")
        expect(manager.get_by_test_id("sla-count-at-risk").locator(".stat-value")).to_have_text("1")
        overdue = manager.get_by_test_id("sla-overdue")
        row = overdue.get_by_role("row", name=re.compile("Nusantara Logistik"))
        expect(row).to_contain_text("Dewi Lestari")
        expect(row.get_by_test_id("sla-badge")).to_contain_text(re.compile(r"Overdue 2 h 1\d min"))
        expect(row).to_contain_text("Owner")  # told so far: the owner, at the breach
        at_risk = manager.get_by_test_id("sla-at-risk")
        badge = at_risk.get_by_role("row", name=re.compile("Borneo Foods")).get_by_test_id(
            "sla-badge"
        )
        expect(badge).to_contain_text(re.compile(r"3 h 1\d min left"))
        expect(badge).to_have_attribute("data-sla-state", "at_risk")
        expect(manager.get_by_test_id("sla-at-risk").get_by_role("columnheader")).to_contain_text(
            ["Lead", "Commitment", "Responsible", "Due Asia/Jakarta", "Clock"]
        )
        screenshot(manager, "manager-overview")
    finally:
        manager_context.close()


def test_the_countdown_ticks_in_the_browser_and_turns_overdue(
    page: Page, live_server, login, screenshot, people
):
    lead = _lead(people["owner"], "Selat Shipping", "Agus Salim")
    _move_clock(lead, "first-contact", due_in=datetime.timedelta(minutes=5, seconds=30))
    page.clock.install()
    login(page, live_server, people["boss"])
    page.goto(f"{live_server.url}/sla/")
    badge = page.get_by_test_id("sla-at-risk").get_by_test_id("sla-badge")
    expect(badge).to_contain_text(re.compile(r"[45] min left"))

    page.clock.fast_forward("07:00")

    expect(badge).to_contain_text(re.compile(r"Overdue 1 min"))
    expect(badge).to_have_class(re.compile(r"\bsla-overdue\b"))
    screenshot(page, "ticked", full_page=False)


def test_revops_edits_a_policy_and_re_plans_running_clocks(
    page: Page, live_server, login, screenshot, people
):
    lead = _lead(people["owner"], "Garuda Analytics", "Rina Hartono")
    login(page, live_server, people["revops"])
    page.goto(f"{live_server.url}/sla/policies/")
    expect(page.get_by_test_id("sla-policies")).to_contain_text("Owner at breach")
    screenshot(page, "policies")

    page.get_by_role("link", name="First contact within 24 hours of assignment").click()
    page.get_by_role("spinbutton", name="Target").fill("8")
    page.get_by_label("Level 1: tell").select_option("manager")
    page.get_by_label("Level 1: delay").fill("2")
    page.get_by_label("Level 1: unit").select_option("hours")
    page.get_by_label("Re-plan running timers").check()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "edit")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("alert")).to_contain_text("1 running timers were re-planned.")
    history = page.get_by_test_id("sla-history")
    expect(history).to_contain_text("24")
    expect(history).to_contain_text("8")
    expect(history).to_contain_text("Manager after 2 h")
    change = SlaPolicyChange.objects.get()
    assert change.actor == people["revops"]
    assert (change.old["target_value"], change.new["target_value"]) == (24, 8)
    timer = SlaTimer.objects.get(lead=lead, policy__key="first-contact")
    assert timer.due_at - timer.started_at == datetime.timedelta(hours=8)
    screenshot(page, "saved")


def test_revops_maintains_a_business_calendar(page: Page, live_server, login, screenshot, people):
    login(page, live_server, people["revops"])
    page.goto(f"{live_server.url}/sla/calendars/")
    page.get_by_role("link", name=re.compile("Standard week")).click()

    page.get_by_label("Time zone").select_option("Asia/Jakarta")
    page.get_by_label("Public holidays of").select_option("ID")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Saved.")
    expect(page.get_by_test_id("public-holidays")).to_be_visible()

    holiday = page.get_by_test_id("holiday-form")
    holiday.get_by_label("Date").fill("2031-08-18")
    holiday.get_by_label("Name").fill("Company offsite")
    holiday.get_by_role("button", name="Add holiday").click()
    expect(page.get_by_test_id("custom-holidays")).to_contain_text("Company offsite")
    expect(page.get_by_test_id("sla-history")).to_contain_text("Company offsite")
    screenshot(page, "calendar")


def test_reps_cannot_open_the_sla_area(page: Page, live_server, login, people):
    login(page, live_server, people["owner"])
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA")
    ).to_have_count(0)
    response = page.goto(f"{live_server.url}/sla/policies/")
    assert response is not None and response.status == 403
