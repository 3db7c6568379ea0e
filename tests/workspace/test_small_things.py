"""Small things users notice (issue 13, item 8): the favicon, the drill-down's Reset link.
(My work's order is the queue's: tests/workspace/test_my_work.py; the hand-off draft and
e-mail: tests/leads/test_handoff_draft.py and test_handoff_email.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_the_static_icon_and_pages_link_it(client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
    icon = Path(settings.BASE_DIR, "static", "favicon.ico").read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file
    client.force_login(UserFactory(sdr=True))
    page = client.get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.ico"' in page
    assert 'href="/static/favicon.svg" type="image/svg+xml"' in page


@pytest.mark.parametrize(
    ("url", "reset"),
    [
        (
            "/reports/drill/leads/?period=30d&source=inbound&cohort=created&measure=leads",
            "/reports/drill/leads/?cohort=created&measure=leads",
        ),
        (
            "/reports/drill/opportunities/?period=90d&cohort=open&measure=open&g_stage=1",
            "/reports/drill/opportunities/?cohort=open&measure=open&g_stage=1",
        ),
        ("/reports/funnel/?period=90d&by=campaign", "/reports/funnel/?by=campaign"),
        ("/reports/sla/?period=30d", "/reports/sla/"),
    ],
)
def test_reset_drops_the_filters_but_keeps_what_the_page_shows(client: Client, url, reset):
    client.force_login(UserFactory(manager=True))

    page = client.get(url)

    assert page.status_code == 200
    assert page.context["reset_url"] == reset
    assert f'href="{reset.replace("&", "&amp;")}" data-testid="filters-reset"' in (
        page.content.decode()
    )
    assert client.get(reset).status_code == 200  # it was a 404 on every drill-down
