"""Tables on a phone (390 px): the merge page's choices, the import mapping's "Becomes"
selects and an intake key's "Revoke…" button were in an inner sideways scroll nobody was
told about. Each table stacks its rows as cards there (`.table-stack`), so every control
is on screen and the page itself does not scroll sideways either."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import cast

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from capture.services.keys import intake_key_create
from crm.models import User
from imports import services as import_services
from leads import services
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 390, "height": 844}
PERSON = {
    "company_name": "Mobile Merge International Holdings Pte Ltd",
    "company_domain": "mobilemerge.example",
    "first_name": "Mo",
    "last_name": "Mobile",
    "source": "inbound",
    "job_title": "Head of Revenue Operations and Strategy",
}
CSV = (
    b"Name,Company,Email,Lead Source,Handphone\r\n"
    b"John Smith,NoEmail Co Worldwide Trading,john.smith@noemail.example,Web,+62 811 1\r\n"
)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _on_screen(page: Page, control: Locator) -> None:
    """The control is seen whole without scrolling sideways, by the page or a table."""
    expect(control).to_be_visible()
    box = control.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_phone_reaches_every_control_of_the_merge_mapping_and_keys_tables(
    phone: Page, live_server, login, screenshot, transactional_db
):
    revops = cast(User, UserFactory(revops=True, username="rani", first_name="Rani"))
    rep = cast(User, UserFactory(sdr=True, username="dewi", first_name="Dewi"))
    lead = services.lead_create(
        by=rep, data={**PERSON, "email": "mo.mobile@mobilemerge.example"}, owner=rep
    )
    duplicate = services.lead_create(
        by=rep,
        data={
            **PERSON,
            "company_name": "Mobile Merge Intl",
            "email": "mo.mobile.personal.address@gmail.example",
            "phone": "+62 812 7777 1234",
        },
        owner=rep,
    )
    job = import_services.import_upload(
        by=revops, file=io.BytesIO(CSV), name="phone.csv", size=len(CSV)
    )
    intake_key_create(by=revops, name="HubSpot: website chat leads")
    login(phone, live_server, revops)

    # merge: the duplicate's value can be chosen, and is
    phone.goto(f"{live_server.url}/leads/{lead.pk}/merge/{duplicate.pk}/")
    choice = phone.locator("[data-field=email] input[value=duplicate]")
    _on_screen(phone, choice)
    choice.check()
    expect(choice).to_be_checked()
    screenshot(phone, "merge")

    # import mapping: the first "Becomes" select, under its column's name
    phone.goto(f"{live_server.url}/imports/{job.pk}/mapping/")
    becomes = phone.get_by_test_id("mapping-row").first.locator("select")
    _on_screen(phone, becomes)
    cell = phone.get_by_test_id("mapping-row").first.locator("td[data-label]").last
    assert cell.get_attribute("data-label") == "Becomes"
    screenshot(phone, "mapping")

    # intake keys: "Revoke…" leads to its question
    phone.goto(f"{live_server.url}/settings/intake-keys/")
    revoke = phone.get_by_test_id("revoke-key").first
    _on_screen(phone, revoke)
    screenshot(phone, "keys")
    revoke.click()
    expect(phone.get_by_test_id("confirm-revoke")).to_be_visible()
