"""The Settings hub lists the settings pages each role may read; reps see none."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_revops_and_managers_see_every_settings_page_they_may_read(client, revops, manager):
    for user in (revops, manager):
        client.force_login(user)
        page = client.get(reverse("settings"))

        assert page.status_code == 200
        links = {url for _page, url in page.context["pages"]}
        assert {reverse("sla:policies"), reverse("sla:calendars")} <= links
        assert reverse("reports:benchmarks") in links
        assert all(client.get(url).status_code == 200 for url in links)


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_have_no_settings(client, request, role):
    client.force_login(request.getfixturevalue(role))

    assert client.get(reverse("settings")).status_code == 403
    nav = [str(label) for label, *_rest in client.get("/").context["nav_items"]]
    assert "Settings" not in nav
