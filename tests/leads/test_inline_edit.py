"""Inline edit on the queue: the edit page's field and service, and its version check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads import services
from leads.models import Lead
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(sdr) -> Lead:
    return LeadFactory(owner=sdr, score=50)


def test_editor_saves_through_the_service(client, sdr, lead):
    client.force_login(sdr)
    url = reverse("leads:cell_edit", args=[lead.pk, "score"])
    editor = client.get(url).content.decode()
    assert 'name="score"' in editor and f'name="version" value="{lead.version}"' in editor
    saved = client.post(url, {"score": "80", "version": lead.version}).content.decode()
    assert "score-high" in saved and "80" in saved and 'name="score"' not in saved
    lead.refresh_from_db()
    assert lead.score == 80 and lead.events.filter(kind="edited").exists()


def test_a_bad_value_stays_in_the_editor_with_its_problem(client, sdr, lead):
    client.force_login(sdr)
    url = reverse("leads:cell_edit", args=[lead.pk, "score"])
    page = client.post(url, {"score": "140", "version": lead.version}).content.decode()
    assert 'data-testid="inline-error"' in page
    lead.refresh_from_db()
    assert lead.score == 50


def test_a_stale_version_shows_the_conflict_and_never_overwrites(client, sdr, lead):
    client.force_login(sdr)
    shown_at = lead.version
    services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 65})
    page = client.post(
        reverse("leads:cell_edit", args=[lead.pk, "score"]), {"score": "20", "version": shown_at}
    ).content.decode()
    assert 'data-testid="inline-conflict"' in page and "65" in page
    lead.refresh_from_db()
    assert lead.score == 65
    assert f'name="version" value="{lead.version}"' in page  # retry at the current version


def test_only_listed_fields_and_workable_leads(client, sdr, lead):
    client.force_login(sdr)
    assert client.get(reverse("leads:cell_edit", args=[lead.pk, "email"])).status_code == 404
    other = LeadFactory(owner=UserFactory(sdr=True))
    assert client.get(reverse("leads:cell_edit", args=[other.pk, "score"])).status_code == 404
