"""Web-to-lead in a real browser: RevOps creates a form on the settings page, copies the
snippet, opens the hosted form and submits a lead as a visitor would; the snippet pasted
into another page posts a second one; both leads are in the lead list, routed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from capture.models import FormSubmission, WebForm
from leads.models import Lead
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def own_cache(settings) -> None:
    """Rate-limit counters of this test's own, not the shared Redis'."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "e2e"}
    }


def test_revops_creates_a_form_and_a_visitor_becomes_a_routed_lead(
    page: Page, live_server, login, screenshot, transactional_db
):
    revops = UserFactory(revops=True, username="rani", first_name="Rani", last_name="Ops")
    sdr = UserFactory(sdr=True, username="dewi", first_name="Dewi", last_name="Lestari")
    login(page, live_server, revops)

    # RevOps finds the forms on the Settings hub and creates one
    page.goto(f"{live_server.url}/settings/")
    page.get_by_test_id("settings-pages").get_by_role(
        "link", name=re.compile("Web-to-lead forms")
    ).click()
    page.get_by_test_id("new-form").click()
    settings_form = page.get_by_test_id("web-form-settings")
    settings_form.get_by_label(re.compile(r"^Name")).fill("Demo request – website")
    settings_form.get_by_label("Campaign").fill("Website demo")
    settings_form.get_by_label("Phone", exact=True).check()
    settings_form.get_by_label("Thank-you message").fill("Thanks! We will call you today.")
    settings_form.get_by_role("button", name="Create form").click()

    expect(page.get_by_role("heading", name="Demo request – website", level=1)).to_be_visible()
    web_form = WebForm.objects.get()
    assert "phone" in web_form.fields and web_form.created_by == revops

    # copies the snippet: a plain form posting to the form's public address
    page.get_by_test_id("snippet").get_by_role("button", name="Copy").first.click()
    snippet = page.get_by_test_id("snippet-html").input_value()
    action = f"{live_server.url}/f/{web_form.key}/"
    assert f'action="{action}"' in snippet
    assert 'name="website"' in snippet  # the honeypot travels with it
    screenshot(page, "form-settings")

    # opens the hosted form from the preview link and submits a lead, as a visitor
    with page.context.expect_page() as opened:
        page.get_by_test_id("preview-link").click()
    visitor = opened.value
    expect(visitor.get_by_role("heading", name="Demo request – website")).to_be_visible()
    visitor.get_by_test_id("public-submit").click()  # nothing filled in yet
    expect(visitor.get_by_test_id("form-errors")).to_be_visible()
    expect(visitor.locator("[data-field=company_name]")).to_contain_text("Enter the company name.")
    visitor.get_by_label(re.compile(r"^First name")).fill("Ana")
    visitor.get_by_label(re.compile(r"^Last name")).fill("Pérez")
    visitor.get_by_label(re.compile(r"^Work e-mail")).fill("ana@acme.example")
    visitor.get_by_label(re.compile(r"^Company\W*$")).fill("Acme Logistics")
    visitor.get_by_test_id("public-submit").click()
    expect(visitor.get_by_test_id("thank-you")).to_contain_text("We will call you today.")
    screenshot(visitor, "thank-you")
    visitor.close()

    # the snippet, pasted into someone's page, posts a second lead
    pasted = page.context.new_page()
    pasted.set_content(f"<!doctype html><html><body>{snippet}</body></html>")
    pasted.get_by_label(re.compile(r"^Last name")).fill("Wijaya")
    pasted.get_by_label(re.compile(r"^Work e-mail")).fill("budi@garuda.example")
    pasted.get_by_label(re.compile(r"^Company")).fill("Garuda Freight")
    pasted.get_by_role("button", name="Send").click()
    expect(pasted.get_by_test_id("thank-you")).to_be_visible()
    pasted.close()

    # both are leads, routed at once, in RevOps' lead list
    page.goto(f"{live_server.url}/leads/")
    queue = page.get_by_test_id("queue")
    expect(queue).to_contain_text("Acme Logistics")
    expect(queue).to_contain_text("Garuda Freight")
    screenshot(page, "lead-list")
    leads = Lead.objects.order_by("id")
    assert [lead.company_name for lead in leads] == ["Acme Logistics", "Garuda Freight"]
    assert all(lead.owner == sdr and lead.campaign == "Website demo" for lead in leads)
    assert set(FormSubmission.objects.values_list("outcome", flat=True)) == {"created", "invalid"}

    # the form's page counts what it brought in
    page.goto(f"{live_server.url}/settings/web-forms/")
    row = page.locator("[data-testid=web-form-row][data-form='Demo request – website']")
    expect(row.get_by_test_id("count-created")).to_have_text("2")
    screenshot(page, "form-list")


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """A second web site, on another port: serves `html` at every path; yields its origin."""

    class Landing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_javascript_snippet_posts_json_from_an_allowed_site_only(
    page: Page, live_server, transactional_db
):
    """The fetch variant, pasted into a page of another site: the browser's CORS preflight
    is answered for a site the form allows, and the post is refused otherwise."""
    from capture.services.forms import web_form_create
    from capture.snippet import fetch_snippet

    revops = UserFactory(revops=True, username="rani")
    web_form = web_form_create(
        by=revops,
        data={
            "name": "Webinar sign-up",
            "source": "event",
            "thank_you_message": "You are on the list.",
        },
    )
    snippet = fetch_snippet(web_form, action=f"{live_server.url}/f/{web_form.key}/")
    with other_site(f"<!doctype html><html><body>{snippet}</body></html>") as site:
        WebForm.objects.filter(pk=web_form.pk).update(allowed_origins=[site])
        page.goto(f"{site}/landing")
        page.get_by_label(re.compile(r"^Last name")).fill("Halim")
        page.get_by_label(re.compile(r"^Work e-mail")).fill("halim@garuda.example")
        page.get_by_label(re.compile(r"^Company")).fill("Garuda Events")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("body")).to_contain_text("You are on the list.")
        assert Lead.objects.get().company_name == "Garuda Events"

        # the same page, the site no longer allowed: no CORS answer, no lead
        WebForm.objects.filter(pk=web_form.pk).update(allowed_origins=["https://elsewhere.example"])
        page.goto(f"{site}/landing")
        page.get_by_label(re.compile(r"^Last name")).fill("Wijaya")
        page.get_by_label(re.compile(r"^Work e-mail")).fill("budi@garuda.example")
        page.get_by_label(re.compile(r"^Company")).fill("Garuda Freight")
        with page.expect_event("requestfailed"):
            page.get_by_role("button", name="Send").click()
    assert Lead.objects.count() == 1
    assert not FormSubmission.objects.filter(
        outcome="created", lead__company_name="Garuda Freight"
    ).exists()
