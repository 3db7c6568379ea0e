"""The Content-Security-Policy in a real browser: the main pages, as a manager and as
RevOps, raise no CSP violation and no script error; Alpine (its CSP build), the board's
drag script and the dashboard's charts still work; /api/docs/ renders Swagger UI from our
own files with every other host unreachable."""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from crm.models import User
from demo.seed import seed_demo
from opportunities.models import Stage
from reports.rollups.refresh import refresh
from tests.e2e.test_ae_flow import _column, _drag
from tests.e2e.test_dashboard import ALL_DRAWN
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.e2e

# Recorded from the first script on every page (Playwright's init scripts are not subject
# to the page's CSP), so a violation during load is caught too.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}` +
    ` at ${e.sourceFile || location.pathname}:${e.lineNumber}`);
});
"""


class Problems:
    """Everything a page complained about: CSP violations, console errors, script errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if message.location.get("url", "").endswith("/favicon.ico"):
            return  # no favicon yet: the browser's own request, not the page's
        if message.type == "error" or "Alpine" in text or "Content Security Policy" in text:
            self.console.append(f"{message.type}: {text}")

    def on(self, path: str) -> list[str]:
        """What went wrong on the page now open (`path` names it in the failure)."""
        self.page.wait_for_load_state("load")
        # Let late requests (htmx `load` triggers, Swagger's schema) finish; a page that
        # keeps polling is never idle.
        with contextlib.suppress(PlaywrightTimeoutError):
            self.page.wait_for_load_state("networkidle", timeout=3_000)
        violations = self.page.evaluate("window.__cspViolations || []")
        found = [f"{path}: {v}" for v in violations] + [f"{path}: {c}" for c in self.console]
        self.console.clear()
        return found


@pytest.fixture
def demo(transactional_db, pipeline_stages) -> None:
    """A small believable history: leads, deals, clocks and the dashboard's rollups."""
    for module in (
        "leads.migrations.0003_default_rejection_reasons",
        "reports.migrations.0002_default_benchmarks",
        "sla.migrations.0002_default_policies",
    ):
        importlib.import_module(module).create(django_apps, None)
    seed_demo(leads=300, seed=11, force=True)
    refresh(full=True)


def _first_link(page: Page, pattern: str) -> str:
    href = page.locator("main a[href]").evaluate_all(
        f"(links) => links.map(a => a.getAttribute('href')).find(h => /{pattern}/.test(h)) || ''"
    )
    assert href, f"no link matching {pattern} on {page.url}"
    return href


def _visit_main_pages(page: Page, base: str, problems: Problems) -> list[str]:
    found = []
    for path in ("/", "/leads/", "/opportunities/", "/pipeline/", "/sla/", "/settings/"):
        page.goto(base + path)
        found += problems.on(path)
        if path == "/leads/":
            lead = _first_link(page, r"^\/leads\/\d+\/$")
            page.goto(base + lead)
            found += problems.on(lead)
            # Alpine (CSP build) still drives the activity form: a task asks for a due date.
            page.locator("label[for=activity-kind-task]").click()
            expect(page.get_by_label("Due")).to_be_visible()
            expect(page.get_by_test_id("activity-form").get_by_role("button")).to_have_text(
                "Schedule follow-up"
            )
            found += problems.on(f"{lead} (task)")
        if path == "/opportunities/":
            deal = _first_link(page, r"^\/opportunities\/\d+\/$")
            page.goto(base + deal)
            found += problems.on(deal)
    page.goto(base + "/dashboard/")
    page.wait_for_function(ALL_DRAWN)
    found += problems.on("/dashboard/")
    return found


@pytest.mark.parametrize("role", ["manager", "revops"])
def test_main_pages_raise_no_csp_violation(
    page: Page, live_server, login, screenshot, demo, role: str, settings
):
    # given a demo manager (with a team and its records) or a RevOps user
    if role == "manager":
        user = User.objects.filter(role=User.Role.MANAGER, is_demo=True).first()
        assert user is not None
        user.set_password("pw-for-tests-1")
        user.save(update_fields=["password"])
    else:
        user = UserFactory(revops=True, username="rina")
    problems = Problems(page)
    login(page, live_server, user)

    # when they open the main pages, then nothing is blocked and no script fails
    found = _visit_main_pages(page, live_server.url, problems)
    page.goto(f"{live_server.url}/settings/sign-in-protection/")
    expect(page.get_by_role("heading", name="Sign-in protection", level=1)).to_be_visible()
    found += problems.on("/settings/sign-in-protection/")
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    found += problems.on("/api/docs/")
    screenshot(page, "api-docs", full_page=False)

    assert found == []


def test_the_board_still_drags_under_the_csp(page: Page, live_server, login, pipeline_stages):
    revops = UserFactory(revops=True, username="rina")
    deal = OpportunityFactory(
        account=AccountFactory(name="Sumatra Logistics", domain="sumatra.example"),
        name="Sumatra Logistics - Router - Fleet",
        stage=Stage.objects.get(name="Present/Demo"),
    )
    problems = Problems(page)
    login(page, live_server, revops)
    page.goto(f"{live_server.url}/pipeline/")
    card = _column(page, "presentdemo").get_by_test_id("deal-card")
    expect(card).to_be_visible()

    with page.expect_response(re.compile(r"/opportunities/\d+/stage/$")) as moved:
        _drag(page, card, _column(page, "proposal").locator(".board-list"))

    assert moved.value.status == 200
    expect(_column(page, "proposal").locator("[data-count]")).to_have_text("1")
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert problems.on("/pipeline/") == []


def _only_this_server(base: str) -> Callable[[Route], None]:
    host = urlsplit(base).hostname

    def handle(route: Route) -> None:
        if urlsplit(route.request.url).hostname == host:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    return handle


def test_api_docs_render_with_no_internet(page: Page, live_server, login, screenshot):
    user = UserFactory(ae=True, username="arif")
    page.route("**/*", _only_this_server(live_server.url))
    problems = Problems(page)
    login(page, live_server, user)
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            external.append(request.url)
            if urlsplit(request.url).hostname != urlsplit(live_server.url).hostname
            else None
        ),
    )

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/leads/").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert external == []
    assert problems.on("/api/docs/") == []
    screenshot(page, "offline", full_page=False)


def test_an_anonymous_visitor_is_asked_to_sign_in_for_the_docs(page: Page, live_server, db):
    page.goto(f"{live_server.url}/api/docs/")

    expect(page).to_have_url(re.compile(r"/login/\?next=/api/docs/"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
