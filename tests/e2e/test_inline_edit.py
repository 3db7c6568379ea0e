"""Inline edit in a real browser: click a lead's score in the queue, change it, save; and
when someone else saved the lead meanwhile, the cell shows the conflict and the value saved
now, and nothing is overwritten."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from leads import services
from leads.models import Lead
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_edit_a_score_in_place_and_meet_a_stale_version(
    page: Page, live_server, login, screenshot, transactional_db
):
    sdr = UserFactory(sdr=True, username="sari", first_name="Sari", last_name="Dewi")
    lead = LeadFactory(owner=sdr, score=50, company_name="Borneo Foods")
    login(page, live_server, sdr)
    page.goto(f"{live_server.url}/leads/")

    cell = page.get_by_test_id("inline-score")
    cell.get_by_test_id("inline-open").click()
    cell = page.get_by_test_id("inline-score")
    cell.get_by_label("Score").fill("80")
    cell.get_by_test_id("inline-save").click()
    expect(page.get_by_test_id("inline-open")).to_have_text("80")
    lead.refresh_from_db()
    assert lead.score == 80

    # she opens the editor again; meanwhile her manager saves the lead
    page.get_by_test_id("inline-open").click()
    services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 65})
    editor = page.get_by_test_id("inline-score")
    editor.get_by_label("Score").fill("20")
    editor.get_by_test_id("inline-save").click()

    conflict = page.get_by_test_id("inline-conflict")
    expect(conflict).to_contain_text("changed this record meanwhile")
    expect(page.get_by_test_id("inline-current")).to_have_text("65")
    screenshot(page, "conflict", full_page=False)
    assert Lead.objects.get(pk=lead.pk).score == 65
