"""The board in a real browser: a manager's columns show their newest cards, "Load more"
appends the next ones in place (htmx), every open stage fits at 1440 px, and the
board-table toggle keeps the filters."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from opportunities.models import Stage
from opportunities.views import board as board_views
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_load_more_fills_a_column_and_the_toggle_keeps_the_filters(
    page: Page, live_server, login, screenshot, pipeline_stages, monkeypatch
):
    monkeypatch.setattr(board_views, "BOARD_CARDS_PER_COLUMN", 5)
    manager = UserFactory(manager=True, username="maya", first_name="Maya", last_name="Sari")
    team = TeamFactory(manager=manager)
    ae = UserFactory(ae=True, team=team, username="arif", first_name="Arif")
    discovery = Stage.objects.get(name="Discovery")
    close = timezone.localdate() + datetime.timedelta(days=40)
    for i in range(12):
        OpportunityFactory(
            owner=ae, stage=discovery, name=f"Deal {i:02d}", expected_close_date=close
        )
    login(page, live_server, manager)

    page.goto(f"{live_server.url}/pipeline/")
    column = page.get_by_test_id("column-discovery")
    expect(column.get_by_test_id("deal-card")).to_have_count(5)
    open_stages = Stage.objects.filter(is_active=True, is_won=False, is_lost=False).count()
    for section in page.locator("section.board-col").all()[:open_stages]:
        box = section.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1440, "an open stage is off-screen"
    screenshot(page, "first")

    column.get_by_test_id("load-more").click()
    expect(column.get_by_test_id("deal-card")).to_have_count(10)
    column.get_by_test_id("load-more").click()
    expect(column.get_by_test_id("deal-card")).to_have_count(12)
    expect(column.get_by_test_id("load-more")).to_have_count(0)
    names = column.locator(".deal-name").all_inner_texts()
    assert names == [f"Deal {i:02d}" for i in range(11, -1, -1)]
    screenshot(page, "all")

    page.goto(f"{live_server.url}/pipeline/?close_month={close:%Y-%m}")
    page.get_by_test_id("board-to-table").click()
    expect(page).to_have_url(
        f"{live_server.url}/opportunities/?close_month={close:%Y-%m}&state=open"
    )
    expect(page.get_by_text("Deal 11")).to_be_visible()
