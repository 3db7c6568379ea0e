"""Browser harness: a headless system Chromium driven by Playwright against `live_server`.

`playwright install` cannot download browsers here, so the Debian `chromium` package is
launched directly. pytest-django's `live_server` serves static files through
`django.contrib.staticfiles`' handler, so pages render with their CSS and scripts.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM
# calls there (factories, the transactional flush) unless told the thread is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("THRESHOLD_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "pw-for-tests-1"  # what tests.factories.UserFactory sets
VIEWPORT = {"width": 1440, "height": 900}

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (install the Debian package `chromium`)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI promises real browser tests: never skip them there
        pytest.skip(reason)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own cookies) per test, closed afterwards."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login() -> Callable[..., None]:
    """`login(page, live_server, user)`: sign in through the real login form."""

    def _login(page: Page, live_server, user, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        # The page's deferred scripts (palette.js's keyboard shortcuts) run by "load":
        # a key pressed before it would go unheard.
        page.wait_for_load_state("load")

    return _login


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """`screenshot(page, "label")` saves `var/screenshots/<test-name>[-label].png`
    (the whole page unless `full_page=False`)."""

    def _screenshot(page: Page, label: str = "", *, full_page: bool = True) -> Path:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        if label:
            name = f"{name}-{label}"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _screenshot


@pytest.fixture
def pipeline_stages(transactional_db) -> None:
    """Re-create the default stages and policy: the transactional flush after each
    live-server test empties the rows the data migration wrote."""
    migration = importlib.import_module("opportunities.migrations.0002_default_stages")
    migration.create(django_apps, None)
