"""Inline edit of every queue cell: each through the edit page's form and `lead_update`,
a bad value refused naming its field, a stale version never overwriting, and the edit
button and the save both decided by `leads.work_lead`."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Team
from leads import services
from leads.models import Lead, Source
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

# field -> (a good value as posted, as stored); a bad value, and the form's label its
# error starts with
GOOD = {
    "company_name": ("Borneo Foods", "Borneo Foods"),
    "job_title": ("Head of Finance", "Head of Finance"),
    "source": (Source.REFERRAL.value, Source.REFERRAL),
    "campaign": ("Q4 webinar", "Q4 webinar"),
    "score": ("80", 80),
}
BAD = {
    "company_name": ("", "Company"),
    "job_title": ("x" * 151, "Job title"),
    "source": ("carrier-pigeon", "Source"),
    "campaign": ("y" * 151, "Campaign"),
    "score": ("140", "Lead score"),
}


@pytest.fixture
def lead(sdr) -> Lead:
    return LeadFactory(
        owner=sdr, score=50, company_name="Old Co", job_title="CTO", campaign="Spring"
    )


def edit_url(lead: Lead, field: str) -> str:
    return reverse("leads:cell_edit", args=[lead.pk, field])


@pytest.mark.parametrize("field", list(GOOD))
def test_each_cell_saves_through_the_service(client, sdr, lead, field):
    client.force_login(sdr)
    editor = client.get(edit_url(lead, field)).content.decode()
    assert f'name="{field}"' in editor and f'name="version" value="{lead.version}"' in editor
    posted, stored = GOOD[field]
    response = client.post(edit_url(lead, field), {field: posted, "version": lead.version})
    assert response.status_code == 200
    assert 'data-testid="inline-open"' in response.content.decode()  # the value again
    lead.refresh_from_db()
    assert getattr(lead, field) == stored
    assert lead.events.filter(kind="edited").exists()


@pytest.mark.parametrize("field", list(BAD))
def test_a_bad_value_stays_in_the_editor_naming_its_field(client, sdr, lead, field):
    client.force_login(sdr)
    before = getattr(lead, field)
    value, label = BAD[field]
    response = client.post(edit_url(lead, field), {field: value, "version": lead.version})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="inline-error"' in page and f"{label}:" in page
    lead.refresh_from_db()
    assert getattr(lead, field) == before
    assert lead.version == 1


@pytest.mark.parametrize("field", list(GOOD))
def test_a_stale_version_is_a_conflict_and_writes_nothing(client, sdr, lead, field):
    client.force_login(sdr)
    shown_at = lead.version
    services.lead_update(lead_id=lead.pk, by=sdr, data={"score": 65})
    posted, _stored = GOOD[field]
    response = client.post(edit_url(lead, field), {field: posted, "version": shown_at})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="inline-conflict"' in page and "changed this record meanwhile" in page
    fresh = Lead.objects.get(pk=lead.pk)
    assert getattr(fresh, field) == getattr(lead, field) or field == "score"
    assert fresh.score == 65 and fresh.version == shown_at + 1
    assert f'name="version" value="{fresh.version}"' in page  # retry at the current version


def test_a_save_without_the_version_is_refused(client, sdr, lead):
    client.force_login(sdr)
    response = client.post(edit_url(lead, "score"), {"score": "90"})
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.score == 50


def test_who_may_see_but_not_work_the_lead_gets_403_and_no_edit_button(client, sdr):
    # a teammate who reads the team's leads but does not work them
    team = Team.objects.create(name="Jakarta", sdrs_see_team_leads=True)
    sdr.team = team
    sdr.save()
    lead = LeadFactory(owner=sdr, team=team, score=50)
    teammate = UserFactory(sdr=True, team=team)
    client.force_login(teammate)

    page = client.get(reverse("leads:list"), {"owner": "team"}).content.decode()
    for field in GOOD:
        assert client.get(edit_url(lead, field)).status_code == 403
        response = client.post(edit_url(lead, field), {field: GOOD[field][0], "version": 1})
        assert response.status_code == 403
    assert client.get(reverse("leads:cell", args=[lead.pk, "score"])).status_code == 200
    lead.refresh_from_db()
    assert (lead.score, lead.version) == (50, 1)
    if lead.company_name in page:  # the queue lists it: no edit button on its cells
        assert 'data-testid="inline-open"' not in page


def test_the_queue_offers_each_cell_to_whoever_works_the_lead(client, sdr, lead):
    client.force_login(sdr)
    page = client.get(reverse("leads:list")).content.decode()
    for field in GOOD:
        assert f'data-testid="inline-{field}"' in page
        assert edit_url(lead, field) in page


def test_a_field_not_in_the_queue_is_not_edited_in_place(client, sdr, lead):
    client.force_login(sdr)
    for field in ("email", "phone", "status", "owner"):
        assert client.get(edit_url(lead, field)).status_code == 404
