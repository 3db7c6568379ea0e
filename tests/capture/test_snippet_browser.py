"""The JavaScript snippet in a real browser (QA walk, item 18): whatever goes wrong, the
visitor reads a message in the form. A customer's page is served by Playwright from
another site than Threshold's; the form posts to the live server (real CORS, real
answers), or to an address where Playwright plays a failing network or proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from capture.models import WebForm
from capture.snippet import fetch_snippet
from tests.capture.conftest import LEAD

# Playwright's sync API runs an event loop in the test thread; the ORM must be told the
# thread is safe (as tests/e2e does).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

from playwright.sync_api import Browser, Page, Route, sync_playwright  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("THRESHOLD_E2E_CHROMIUM", "/usr/bin/chromium")
SITE = "http://shop.example"
# The customer's page is made up by Playwright, so Chromium counts it as on the public
# internet and would block its posts to the live server on this machine's loopback.
NO_LOCAL_NETWORK_CHECKS = (
    "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessChecks,"
    "BlockInsecurePrivateNetworkRequests"
)
ENDPOINT = "https://crm.example"
COULD_NOT_SEND = "Sorry, the form could not be sent. Please check your connection and try again."
GOOD = {"last_name": "Pérez", "email": "ana@acme.example", "company_name": "Acme"}
TRY_LATER = "Sorry, the form could not be sent just now. Please try again in a few minutes."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (install the Debian package `chromium`)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", NO_LOCAL_NETWORK_CHECKS],
            headless=True,
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def _open(page: Page, form: WebForm, action: str, answer=None) -> None:
    """The customer's page with the snippet posting to `action`; `answer(route)`, when
    given, stands in for the network (a real server otherwise: real CORS)."""
    html = fetch_snippet(form, action=action)
    page.route(f"{SITE}/", lambda route: route.fulfill(content_type="text/html", body=html))
    if answer is not None:
        page.route(f"{action}**", answer)
    page.goto(f"{SITE}/")


def _fill(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f"#thr-{name}", value)


def _action(live_server, form: WebForm) -> str:
    return f"{live_server.url}/f/{form.key}/"


@pytest.fixture
def site_form(make_form) -> WebForm:
    return make_form(name="Shop sign-up", allowed_origins=[SITE])


MOCKED = f"{ENDPOINT}/f/mocked/"  # the network stands in: no server is reached


def test_a_network_error_is_told_and_the_typed_values_stay(page, site_form):
    _open(page, site_form, MOCKED, lambda route: route.abort("internetdisconnected"))
    _fill(page, GOOD | {"first_name": "Ana"})

    page.click("button[type=submit]")

    notice = page.locator("[data-form-message]")
    notice.filter(has_text=COULD_NOT_SEND).wait_for()
    assert page.input_value("#thr-first_name") == "Ana"
    assert page.is_enabled("button[type=submit]")  # they may send again


def test_a_site_the_form_does_not_allow_is_told(page, make_form, live_server):
    # Threshold refuses the preflight and sends no CORS header: the browser hides the
    # answer from the page, so the snippet has only its own words.
    other = make_form(name="Other site's form", allowed_origins=["https://other.example"])
    _open(page, other, _action(live_server, other))
    _fill(page, GOOD)

    page.click("button[type=submit]")

    page.locator("[data-form-message]").filter(has_text=COULD_NOT_SEND).wait_for()
    assert not other.submissions.filter(outcome="created").exists()


def test_a_rate_limited_post_shows_the_servers_words(page, site_form, settings, live_server):
    settings.CAPTURE_RATE_FORM_PER_IP = "1/10min"
    Client().post(f"/f/{site_form.key}/", LEAD)  # this address's one post
    _open(page, site_form, _action(live_server, site_form))
    _fill(page, GOOD)

    page.click("button[type=submit]")

    notice = page.locator("[data-form-message]")
    notice.filter(has_text="Too many posts from here; please try again in").wait_for()


def test_a_proxys_error_page_is_told_as_try_later(page, site_form):
    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")

    _open(page, site_form, MOCKED, bad_gateway)
    _fill(page, GOOD)

    page.click("button[type=submit]")

    page.locator("[data-form-message]").filter(has_text=TRY_LATER).wait_for()


def test_every_field_error_is_shown_beside_its_field(page, site_form, live_server):
    _open(page, site_form, _action(live_server, site_form))
    # The browser's own checks (required, type=email) would stop this post first; a
    # browser without them, or a value they let through, reaches the server.
    page.eval_on_selector("form", "form => { form.noValidate = true; }")
    _fill(page, {"first_name": "Ana", "email": "bad-email"})

    page.click("button[type=submit]")

    page.locator('[data-error-for="email"]').filter(has_text="valid e-mail").wait_for()
    assert "last name" in page.text_content('[data-error-for="last_name"]')
    assert "company name" in page.text_content('[data-error-for="company_name"]')


def test_a_good_post_shows_the_thank_you(page, site_form, live_server):
    _open(page, site_form, _action(live_server, site_form))
    _fill(page, GOOD)

    page.click("button[type=submit]")

    page.locator("form").filter(has_text="Thank you!").wait_for()
