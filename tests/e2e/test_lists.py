"""Lists in a real browser: sort by a column, hide a column, go compact, save the view,
reload and find its tab and order again; export the list as a CSV file."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from crm.saved_views import SavedView
from leads.models import Lead, Source
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def queue(transactional_db):
    """A RevOps user and open leads with distinct scores (and one formula for the export)."""
    revops = UserFactory(revops=True, username="rina", first_name="Rina", last_name="Sari")
    sdr = UserFactory(sdr=True, username="sari")
    for company, score in [
        ("Borneo Foods", 72),
        ("Selat Shipping", 35),
        ("Garuda Analytics", 91),
        ("=Danau Tech", 55),
    ]:
        LeadFactory(company_name=company, score=score, owner=sdr, source=Source.REFERRAL)
    return revops


def _companies(page: Page) -> list[str]:
    return [
        text.strip()
        for text in page.get_by_test_id("queue-row").locator(".cell-primary").all_inner_texts()
    ]


def test_sort_save_a_view_and_find_it_again(page: Page, live_server, login, screenshot, queue):
    login(page, live_server, queue)
    page.goto(f"{live_server.url}/leads/")

    # when RevOps sorts the queue by score, twice: descending
    page.get_by_test_id("sort-score").click()
    expect(page).to_have_url(re.compile(r"ordering=score"))
    page.get_by_test_id("sort-score").click()
    expect(page).to_have_url(re.compile(r"ordering=-score"))
    header = page.locator("th[data-col=score]")
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(header.locator(".bi-arrow-down")).to_have_count(1)
    assert _companies(page) == ["Garuda Analytics", "Borneo Foods", "=Danau Tech", "Selat Shipping"]

    # and hides the Source column, and goes compact
    page.get_by_test_id("column-chooser").click()
    page.get_by_test_id("column-source").uncheck()
    expect(page.locator("th[data-col=source]")).to_be_hidden()
    page.keyboard.press("Escape")
    page.get_by_test_id("density-toggle").click()
    expect(page.get_by_test_id("density-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("table[data-list-table]")).to_have_class(re.compile("table-compact"))

    # and saves the view
    page.get_by_test_id("save-view").click()
    form = page.get_by_test_id("save-view-form")
    form.get_by_label("Name").fill("Hottest first")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Hottest first")
    view = SavedView.objects.get()
    assert view.owner == queue and view.list_key == "leads"
    assert "ordering=-score" in view.query and "columns=" in view.query
    screenshot(page, "saved")

    # then, reloaded, the view's tab is current and keeps the order and the columns
    page.reload()
    tab = page.get_by_test_id("view-tab").filter(has_text="Hottest first")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.locator("th[data-col=score]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("th[data-col=source]")).to_be_hidden()
    assert _companies(page)[0] == "Garuda Analytics"

    # and the plain list keeps the manager's own column choice, apart from the view's
    page.get_by_test_id("view-tab-all").click()
    expect(page.get_by_test_id("view-tab-all")).to_have_attribute("aria-current", "page")
    expect(page.locator("th[data-col=source]")).to_be_hidden()  # remembered in the browser
    page.get_by_test_id("column-chooser").click()
    page.get_by_test_id("column-source").check()
    expect(page.locator("th[data-col=source]")).to_be_visible()
    page.keyboard.press("Escape")
    # and the tab brings the view back, with its own columns
    page.get_by_test_id("view-tab").filter(has_text="Hottest first").click()
    expect(page.locator("th[data-col=source]")).to_be_hidden()
    expect(page.locator("th[data-col=score]")).to_have_attribute("aria-sort", "descending")
    assert _companies(page)[0] == "Garuda Analytics"


def test_export_downloads_the_filtered_list_as_csv(page: Page, live_server, login, queue):
    LeadFactory(company_name="Closed Co", status=Lead.Status.DISQUALIFIED, owner=None)
    login(page, live_server, queue)
    page.goto(f"{live_server.url}/leads/?ordering=company_name")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert download.suggested_filename.startswith("threshold-leads-")
    assert download.suggested_filename.endswith(".csv")
    raw = open(download.path(), "rb").read()  # noqa: PTH123, SIM115 - a temp file Playwright owns
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # the open leads the page shows, in its order, the formula neutralized
    assert [row["Company"] for row in rows] == [
        "'=Danau Tech",
        "Borneo Foods",
        "Garuda Analytics",
        "Selat Shipping",
    ]
    assert {row["Owner"] for row in rows} == {
        str(UserFactory._meta.model.objects.get(username="sari"))
    }


def test_the_opportunity_list_sorts_and_exports(page: Page, live_server, login, pipeline_stages):
    from tests.factories import OpportunityFactory

    ae = UserFactory(ae=True, username="arif")
    for name, probability in [("Alpha", 30), ("Bravo", 80), ("Charlie", 10)]:
        OpportunityFactory(name=name, owner=ae, probability=probability)
    login(page, live_server, ae)
    page.goto(f"{live_server.url}/opportunities/")
    page.get_by_test_id("sort-probability").click()
    expect(page.locator("th[data-col=probability]")).to_have_attribute("aria-sort", "ascending")
    names = page.get_by_test_id("opportunity-row").locator(".cell-primary").all_inner_texts()
    assert [n.strip() for n in names] == ["Charlie", "Alpha", "Bravo"]
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    text = open(download_info.value.path(), encoding="utf-8-sig").read()  # noqa: PTH123, SIM115
    assert [row["Name"] for row in csv.DictReader(io.StringIO(text))] == [
        "Charlie",
        "Alpha",
        "Bravo",
    ]
