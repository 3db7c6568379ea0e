"""The leads admin edits nothing a service owns; what it may correct goes through the
service, so it leaves the same history as the lead's edit page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from leads import services
from leads.models import Lead, LeadEvent
from tests.factories import HandoffFactory, LeadFactory, QualificationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for_staff(client: Client) -> Client:
    client.force_login(UserFactory(admin=True))
    return client


def _change_data(lead: Lead, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        f: "" if getattr(lead, f) is None else getattr(lead, f) for f in services.EDITABLE_FIELDS
    }
    data |= {
        "transitions-TOTAL_FORMS": "0",
        "transitions-INITIAL_FORMS": "0",
        "transitions-MIN_NUM_FORMS": "0",
        "transitions-MAX_NUM_FORMS": "1000",
    }
    return data | changes


def test_a_lead_corrected_in_the_admin_is_saved_by_the_service(admin_client_for_staff, sdr):
    # given a lead and someone else staff might want to give it to
    lead = LeadFactory(owner=sdr, company_name="Old Name")
    other = UserFactory(sdr=True)
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    assert admin_client_for_staff.get(reverse("admin:leads_lead_changelist")).status_code == 200
    assert admin_client_for_staff.get(url).status_code == 200

    # when staff correct the company name (and try to slip in a new owner and status)
    response = admin_client_for_staff.post(
        url, _change_data(lead, company_name="New Name", owner=other.pk, status="sql")
    )

    # then the name changed through lead_update (version bump, old → new event) and
    # ownership and status did not move
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.company_name == "New Name"
    assert lead.version == 2
    assert (lead.owner, lead.status) == (sdr, Lead.Status.MQL)
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.EDITED)
    assert event.changes == {"company_name": ["Old Name", "New Name"]}


def test_the_admin_refuses_what_intake_refuses(admin_client_for_staff, sdr):
    lead = LeadFactory(owner=sdr, company_name="Acme")
    url = reverse("admin:leads_lead_change", args=[lead.pk])

    response = admin_client_for_staff.post(url, _change_data(lead, company_name="TBD"))

    assert response.status_code == 200
    assert "Enter the company name." in response.content.decode()
    lead.refresh_from_db()
    assert lead.company_name == "Acme"
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.EDITED).exists()


def test_leads_are_not_added_in_the_admin(admin_client_for_staff):
    assert admin_client_for_staff.get(reverse("admin:leads_lead_add")).status_code == 403


@pytest.mark.parametrize(
    ("model", "make"),
    [
        ("qualification", lambda: QualificationFactory(confirmed=True)),
        ("handoff", lambda: HandoffFactory(lead=LeadFactory(status=Lead.Status.SQL))),
    ],
)
def test_criteria_and_hand_offs_are_read_only_in_the_admin(admin_client_for_staff, model, make):
    row = make()
    url = reverse(f"admin:leads_{model}_change", args=[row.pk])

    page = admin_client_for_staff.get(url)
    edit = admin_client_for_staff.post(url, {"need_status": "unknown", "pain_points": "x"})

    assert page.status_code == 200
    assert edit.status_code == 403
    assert admin_client_for_staff.get(reverse(f"admin:leads_{model}_add")).status_code == 403
