"""Inline edit on the deal list: name, amount with its currency, expected close date and
probability, each through the edit page's form and `opportunity_update` (the
conversion's rules), a bad value refused naming its field, a stale version never
overwriting, and the edit button and the save both decided by `work_opportunity`."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from opportunities import services
from opportunities.models import Opportunity
from tests.factories import LeadFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = (timezone.localdate() + datetime.timedelta(days=150)).isoformat()
TOO_FAR = (timezone.localdate() + datetime.timedelta(days=365 * 6)).isoformat()

# field -> (what the editor posts, what is stored after)
GOOD = {
    "name": ({"name": "Borneo - Routing - Expansion"}, {"name": "Borneo - Routing - Expansion"}),
    "amount": (
        {"amount": "75000", "currency": "EUR"},
        {"amount": Decimal("75000"), "currency": "EUR"},
    ),
    "expected_close_date": (
        {"expected_close_date": IN_WINDOW},
        {"expected_close_date": datetime.date.fromisoformat(IN_WINDOW)},
    ),
    "probability": ({"probability": "40"}, {"probability": 40}),
}
# field -> (a bad input, the label its error starts with)
BAD = {
    "name": ({"name": "Borneo"}, "Name"),
    "amount": ({"amount": "-5", "currency": "USD"}, "Estimated deal size"),
    "expected_close_date": ({"expected_close_date": TOO_FAR}, "Expected close date"),
    "probability": ({"probability": "140"}, "Probability %"),
}


@pytest.fixture
def deal(ae) -> Opportunity:
    return OpportunityFactory(owner=ae, name="Acme - Routing - Inbound speed")


def edit_url(deal: Opportunity, field: str) -> str:
    return reverse("opportunities:cell-edit", args=[deal.pk, field])


def stored(deal: Opportunity, names) -> dict:
    return {name: getattr(deal, name) for name in names}


@pytest.mark.parametrize("field", list(GOOD))
def test_each_cell_saves_through_the_service(client, ae, deal, field):
    client.force_login(ae)
    posted, expected = GOOD[field]
    editor = client.get(edit_url(deal, field)).content.decode()
    assert all(f'name="{name}"' in editor for name in posted)
    assert f'name="version" value="{deal.version}"' in editor
    response = client.post(edit_url(deal, field), {**posted, "version": deal.version})
    assert response.status_code == 200, response.content.decode()
    deal.refresh_from_db()
    assert stored(deal, expected) == expected
    event = deal.events.get(kind="edited")
    assert event.actor == ae and set(event.changes) == set(expected)


@pytest.mark.parametrize("field", list(BAD))
def test_a_bad_value_stays_in_the_editor_naming_its_field(client, ae, deal, field):
    client.force_login(ae)
    posted, label = BAD[field]
    before = stored(deal, posted)
    response = client.post(edit_url(deal, field), {**posted, "version": deal.version})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="inline-error"' in page and f"{label}:" in page
    deal.refresh_from_db()
    assert stored(deal, posted) == before and deal.version == 1


@pytest.mark.parametrize("field", list(GOOD))
def test_a_stale_version_is_a_conflict_and_writes_nothing(client, ae, deal, field):
    client.force_login(ae)
    shown_at = deal.version
    services.opportunity_update(opportunity_id=deal.pk, by=ae, data={"probability": 25})
    posted, expected = GOOD[field]
    response = client.post(edit_url(deal, field), {**posted, "version": shown_at})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="inline-conflict"' in page and "edited this deal meanwhile" in page
    fresh = Opportunity.objects.get(pk=deal.pk)
    assert fresh.version == shown_at + 1 and fresh.probability == 25
    if field != "probability":
        assert stored(fresh, expected) == stored(deal, expected)
    assert f'name="version" value="{fresh.version}"' in page


def test_the_sourcing_sdr_sees_the_deal_but_gets_403_and_no_edit_button(client, ae, sdr):
    deal = OpportunityFactory(owner=ae, lead=LeadFactory(owner=sdr), probability=10)
    client.force_login(sdr)
    page = client.get(reverse("opportunities:list")).content.decode()
    assert deal.name in page and 'data-testid="inline-open"' not in page
    for field, (posted, _expected) in GOOD.items():
        assert client.get(edit_url(deal, field)).status_code == 403
        assert client.post(edit_url(deal, field), {**posted, "version": 1}).status_code == 403
    deal.refresh_from_db()
    assert (deal.probability, deal.version) == (10, 1)


def test_another_ae_s_deal_is_not_found(client, deal):
    client.force_login(UserFactory(ae=True))
    assert client.get(edit_url(deal, "name")).status_code == 404


def test_the_list_offers_each_cell_to_the_owner(client, ae, deal):
    client.force_login(ae)
    page = client.get(reverse("opportunities:list")).content.decode()
    for field in GOOD:
        assert edit_url(deal, field) in page
    assert client.get(edit_url(deal, "next_step_owner")).status_code == 404
