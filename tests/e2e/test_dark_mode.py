"""Dark mode in a real browser: the main pages at 1440 px and at 390 px (a phone), with a
dark background, light text and every piece of text readable (WCAG AA contrast against
what is behind it). Screenshots go to /tmp/shots/dark/ to be looked at.

Also: the top bar's switch flips the theme at once and saves it, the command palette's
`threshold:theme` event does the same, charts take the new colours, and "same as my
device" follows the browser's colour scheme."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from crm.models import User
from crm.preferences import user_update_preferences
from demo.seed import seed_demo
from leads.models import Lead
from opportunities.models import Opportunity
from reports.rollups.refresh import refresh

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("THRESHOLD_DARK_SHOTS", "/tmp/shots/dark"))
DEMO_PASSWORD = "threshold-demo"
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "mobile": {"width": 390, "height": 844}}
CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return window.Chart && canvases.every(c => c.dataset.rendered === 'true');
}"""

# The contrast audit, run in the page (see the script's header).
AUDIT = (Path(__file__).parent / "contrast_audit.js").read_text()


@pytest.fixture
def demo(transactional_db) -> None:
    """A few hundred leads of believable history. The transactional flush emptied the rows
    the data migrations wrote, so those come back first."""
    schema_editor = SimpleNamespace(connection=connection)  # what the data migrations read
    for module in (
        "opportunities.migrations.0002_default_stages",
        "leads.migrations.0003_default_rejection_reasons",
        "reports.migrations.0002_default_benchmarks",
        "sla.migrations.0002_default_policies",
    ):
        importlib.import_module(module).create(django_apps, schema_editor)
    seed_demo(leads=300, seed=7, force=True)
    refresh(full=True)


def _signed_in_page(browser: Browser, live_server, user: User, viewport: str, **context) -> Page:
    page = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-US", **context).new_page()
    page.set_default_timeout(15_000)
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page


def _main_pages(manager: User) -> Iterator[tuple[str, str]]:
    lead = (
        Lead.objects.filter(team__manager=manager, status=Lead.Status.SQL).order_by("pk").first()
        or Lead.objects.filter(team__manager=manager).order_by("pk").first()
    )
    assert lead is not None
    yield "my-work", "/"
    yield "leads", "/leads/"
    yield "lead", f"/leads/{lead.pk}/"
    yield "board", "/pipeline/"
    yield "dashboard", "/dashboard/"
    yield "reports", "/reports/pipeline/"
    yield "sla", "/sla/"
    yield "settings", "/settings/"
    yield "personal-settings", "/settings/me/"
    # Beyond the main pages: the deal pages, the conversion wizard, a form, the bell.
    deal = Opportunity.objects.filter(owner__team__manager=manager).order_by("pk").first()
    yield "opportunities", "/opportunities/"
    if deal is not None:
        yield "opportunity", f"/opportunities/{deal.pk}/"
    yield "convert", f"/leads/{lead.pk}/convert/"
    yield "new-lead", "/leads/new/"
    yield "notifications", "/notifications/"


@pytest.mark.parametrize(
    ("theme", "viewport"), [("dark", "desktop"), ("dark", "mobile"), ("light", "desktop")]
)
def test_the_main_pages_are_readable(browser: Browser, live_server, demo, theme, viewport):
    """Dark: a dark page, light text, every text readable. Light is held to the same
    contrast, so the palette's refactoring cannot quietly make it worse."""
    manager = User.objects.get(username="manager")
    user_update_preferences(user=manager, by=manager, changes={"theme": theme})
    page = _signed_in_page(browser, live_server, manager, viewport)
    shots = SHOTS if theme == "dark" else SHOTS.parent / theme
    shots.mkdir(parents=True, exist_ok=True)

    unreadable: dict[str, list[str]] = {}
    for name, path in _main_pages(manager):
        page.goto(f"{live_server.url}{path}")
        if name in ("dashboard", "reports"):
            page.wait_for_function(CHARTS_DRAWN)
        page.screenshot(path=str(shots / f"{name}-{viewport}.png"), full_page=True)
        seen = page.evaluate(AUDIT)

        assert seen["theme"] == theme, name
        if theme == "dark":
            assert seen["background"] < 0.05, f"{name}: the page background is not dark"
            assert seen["text"] > 0.6, f"{name}: the text is not light"
        else:
            assert seen["background"] > 0.85, f"{name}: the page background is not light"
        if seen["failures"]:
            unreadable[name] = seen["failures"]

    assert not unreadable, unreadable
    page.context.close()


def test_the_switch_flips_the_theme_at_once_and_saves_it(browser: Browser, live_server, demo):
    manager = User.objects.get(username="manager")
    user_update_preferences(user=manager, by=manager, changes={"theme": "system"})
    page = _signed_in_page(browser, live_server, manager, "desktop", color_scheme="light")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_function(CHARTS_DRAWN)
    tick = (
        "() => Chart.getChart(document.querySelector('canvas[data-chart=funnel]'))"
        ".options.scales.x.ticks.color"
    )
    light_tick = page.evaluate(tick)
    html = page.locator("html")

    page.get_by_test_id("theme-toggle").click()

    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.get_by_test_id("theme-toggle")).to_have_attribute("value", "light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 17, 23)"
    assert page.evaluate(tick) != light_tick  # the charts were drawn again in dark colours
    page.screenshot(path=str(SHOTS / "dashboard-switched-desktop.png"))
    _wait_for_saved(manager, "dark")

    # The command palette asks for the theme with an event.
    page.evaluate("document.dispatchEvent(new CustomEvent('threshold:theme'))")
    expect(html).to_have_attribute("data-theme", "light")
    _wait_for_saved(manager, "light")
    page.evaluate(
        "document.dispatchEvent(new CustomEvent('threshold:theme', {detail: {theme: 'dark'}}))"
    )
    expect(html).to_have_attribute("data-theme", "dark")
    _wait_for_saved(manager, "dark")

    page.reload()  # rendered dark by the server: no flash of light
    expect(html).to_have_attribute("data-theme", "dark")
    page.context.close()


def _wait_for_saved(user: User, theme: str) -> None:
    for _ in range(50):
        user.refresh_from_db()
        if user.theme == theme:
            return
        time.sleep(0.1)
    raise AssertionError(f"the theme {theme!r} was not saved (still {user.theme!r})")


@pytest.mark.parametrize(("scheme", "dark"), [("dark", True), ("light", False)])
def test_same_as_my_device_follows_the_browser(browser: Browser, live_server, demo, scheme, dark):
    sdr = User.objects.get(username="sdr")
    page = _signed_in_page(browser, live_server, sdr, "desktop", color_scheme=scheme)
    page.goto(f"{live_server.url}/leads/")

    expect(page.locator("html")).not_to_have_attribute("data-theme", "dark")
    seen = page.evaluate(AUDIT)
    assert (seen["background"] < 0.05) is dark
    assert not seen["failures"], seen["failures"]
    toggle = page.get_by_test_id("theme-toggle")
    expect(toggle).to_have_attribute("value", "light" if dark else "dark")
    page.context.close()
