"""Every change to a deal or to RevOps' pipeline configuration leaves who, when, old -> new,
whether it was made in the product or in the admin."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.exceptions import StaleVersion
from opportunities import services
from opportunities.models import (
    ConversionPolicy,
    Opportunity,
    OpportunityEvent,
    PolicyChange,
    Stage,
)
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_edit_records_each_changed_field_old_and_new():
    opp = OpportunityFactory(amount=Decimal("50000"), next_step="Demo")
    due = opp.next_step_due + datetime.timedelta(days=3)

    services.opportunity_update(
        opportunity_id=opp.pk,
        by=opp.owner,
        data={"amount": Decimal("61000"), "next_step": "Demo", "next_step_due": due},
        expected_version=1,
    )

    event = OpportunityEvent.objects.get(opportunity=opp)
    assert (event.kind, event.actor) == ("edited", opp.owner)
    # the unchanged next step is not recorded
    assert event.changes == {
        "amount": ["50000.00", "61000"],
        "next_step_due": [opp.next_step_due.isoformat(), due.isoformat()],
    }
    opp.refresh_from_db()
    assert opp.version == 2 and opp.amount == Decimal("61000")


def test_an_edit_that_changes_nothing_writes_nothing():
    opp = OpportunityFactory(next_step="Demo")

    services.opportunity_update(opportunity_id=opp.pk, by=opp.owner, data={"next_step": "Demo"})

    assert not OpportunityEvent.objects.exists()
    opp.refresh_from_db()
    assert opp.version == 1


def test_a_stale_edit_writes_no_event():
    opp = OpportunityFactory()
    with pytest.raises(StaleVersion):
        services.opportunity_update(
            opportunity_id=opp.pk, by=opp.owner, data={"name": "A - B - C"}, expected_version=7
        )
    assert not OpportunityEvent.objects.exists()


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    admin = UserFactory(admin=True, username="root")
    client.force_login(admin)
    client.user = admin
    return client


def _admin_form(client, url: str) -> dict[str, str]:
    """The admin change form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()  # already prepared for the widget
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = str(value)
    return data


def test_the_admin_cannot_touch_what_services_own(admin_client):
    opp = OpportunityFactory()
    url = reverse("admin:opportunities_opportunity_change", args=[opp.pk])

    form = admin_client.get(url).context["adminform"].form

    for owned in ("stage", "amount", "currency", "owner", "approval", "version", "lead"):
        assert owned not in form.fields, owned
    assert "next_step" in form.fields
    assert admin_client.get(reverse("admin:opportunities_opportunity_add")).status_code == 403


def test_an_admin_edit_of_a_deal_goes_through_the_service_and_its_audit(admin_client):
    opp = OpportunityFactory(next_step="Demo")
    url = reverse("admin:opportunities_opportunity_change", args=[opp.pk])
    data = _admin_form(admin_client, url)
    inline_management = {
        f"{prefix}-{key}": value
        for prefix in ("contact_roles", "stage_changes", "events")
        for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
    }

    refused = admin_client.post(url, {**data, **inline_management, "next_step": "TBD"})
    saved = admin_client.post(url, {**data, **inline_management, "next_step": "Send the proposal"})

    assert refused.status_code == 200  # the form again, with the service's rule on the field
    assert refused.context["adminform"].form.errors["next_step"] == [
        "Describe the next step: a specific action."
    ]
    assert saved.status_code == 302
    opp.refresh_from_db()
    assert opp.next_step == "Send the proposal" and opp.version == 2
    event = OpportunityEvent.objects.get(opportunity=opp)
    assert event.actor == admin_client.user
    assert event.changes == {"next_step": ["Demo", "Send the proposal"]}


def test_a_stage_edited_in_the_admin_is_audited_old_to_new(admin_client):
    stage = Stage.objects.get(name="Proposal")
    url = reverse("admin:opportunities_stage_change", args=[stage.pk])
    data = _admin_form(admin_client, url)
    old_rot = stage.rot_days

    response = admin_client.post(url, {**data, "rot_days": "33"})

    assert response.status_code == 302
    change = PolicyChange.objects.get()
    assert (change.model, change.object_id, change.actor) == ("stage", stage.pk, admin_client.user)
    assert (change.old, change.new) == ({"rot_days": old_rot}, {"rot_days": 33})


def test_the_conversion_policy_edited_in_the_admin_is_audited_old_to_new(admin_client):
    policy = ConversionPolicy.current()
    url = reverse("admin:opportunities_conversionpolicy_change", args=[policy.pk])
    data = _admin_form(admin_client, url)

    response = admin_client.post(url, {**data, "close_window_max_days": "200"})

    assert response.status_code == 302
    change = PolicyChange.objects.get()
    assert (change.model, change.actor) == ("conversion_policy", admin_client.user)
    assert (change.old, change.new) == (
        {"close_window_max_days": 180},
        {"close_window_max_days": 200},
    )
    policy.refresh_from_db()
    assert policy.updated_by == admin_client.user


def test_creating_and_deleting_a_stage_is_audited():
    revops = UserFactory(revops=True)
    stage = Stage(name="Legal review", position=55, default_probability=70)

    services.stage_save(stage=stage, by=revops)
    pk = stage.pk
    services.stage_delete(stage=stage, by=revops)

    created, deleted = PolicyChange.objects.order_by("id")
    assert created.old == {} and created.new["name"] == "Legal review"
    assert deleted.object_id == pk and deleted.new == {}
    assert deleted.old["name"] == "Legal review"
    assert not Opportunity.objects.filter(stage_id=pk).exists()
