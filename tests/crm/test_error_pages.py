"""403, 404 and 500 are the app's own pages (templates/errors/_page.html): inside the layout,
with a way back, in the reader's language — not Django's bare English defaults."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_page_the_role_may_not_open_is_a_403_inside_the_layout(client: Client) -> None:
    client.force_login(UserFactory(sdr=True))

    response = client.get("/settings/")

    assert response.status_code == 403
    page = response.content.decode()
    assert 'data-testid="error-page"' in page
    assert "Your role cannot open this page" in page
    assert "You are signed in as SDR." in page
    assert 'class="sidebar-nav"' in page  # the navigation is the way back
    assert "<h1>403 Forbidden</h1>" not in page


def test_a_missing_record_is_a_404_in_the_readers_language(client: Client) -> None:
    client.force_login(UserFactory(ae=True, language="id"))

    response = client.get("/leads/999999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-testid="error-page"' in page
    assert "Tidak ditemukan" in page
    assert "Not Found" not in page


def test_an_anonymous_404_is_a_card_of_its_own(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "The page does not exist." in page
    assert 'class="sidebar-nav"' not in page


def test_the_500_page_renders_without_a_request_context() -> None:
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "The server could not answer this request." in response.content.decode()
