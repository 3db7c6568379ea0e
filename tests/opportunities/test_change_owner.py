"""Handing deals to another AE: `opportunity_change_owner` (the team's manager or
RevOps; audited who, when, why, old -> new), its bulk action `change_owner` in the
service, `POST /api/v1/opportunities/bulk/` and the deal list's bulk bar."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.exceptions import NotAllowed, NotFound, StaleVersion, ValidationFailed
from crm.models import Team, User
from opportunities import services
from opportunities.models import Opportunity, OpportunityEvent, Stage
from opportunities.services import bulk
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/opportunities/bulk/"


@pytest.fixture
def team(manager) -> Team:
    return Team.objects.create(name="Enterprise East", manager=manager)


@pytest.fixture
def adi(team) -> User:
    return UserFactory(ae=True, username="adi", first_name="Adi", last_name="Putra", team=team)


@pytest.fixture
def bima(team) -> User:
    return UserFactory(ae=True, username="bima", first_name="Bima", last_name="Sakti", team=team)


@pytest.fixture
def deal(adi) -> Opportunity:
    return OpportunityFactory(owner=adi, name="Acme - Routing - Inbound speed")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_team_s_manager_hands_a_deal_on_with_its_audit_row(manager, adi, bima, deal):
    services.opportunity_change_owner(
        opportunity_id=deal.pk, by=manager, owner=bima, reason="Adi moves to partners."
    )
    deal.refresh_from_db()
    assert deal.owner == bima and deal.version == 2
    # the next step was Adi's: it moves with the deal
    assert deal.next_step_owner == bima
    event = deal.events.get()
    assert event.kind == OpportunityEvent.Kind.EDITED and event.actor == manager
    assert event.reason == "Adi moves to partners." and event.at is not None
    assert event.changes["owner"] == [str(adi), str(bima)]
    assert event.changes["next_step_owner"] == [str(adi), str(bima)]


def test_a_next_step_someone_else_owns_stays_theirs(manager, adi, bima):
    sdr = UserFactory(sdr=True)
    deal = OpportunityFactory(owner=adi, next_step_owner=sdr)
    services.opportunity_change_owner(opportunity_id=deal.pk, by=manager, owner=bima, reason="x y")
    deal.refresh_from_db()
    assert (deal.owner, deal.next_step_owner) == (bima, sdr)
    assert set(deal.events.get().changes) == {"owner"}


def test_revops_hands_any_deal_to_any_active_ae(revops, deal):
    elsewhere = UserFactory(ae=True)
    services.opportunity_change_owner(
        opportunity_id=deal.pk, by=revops, owner=elsewhere, reason="Territory re-cut."
    )
    deal.refresh_from_db()
    assert deal.owner == elsewhere


def test_the_owner_may_not_give_the_deal_away(adi, bima, deal):
    with pytest.raises(NotAllowed):
        services.opportunity_change_owner(
            opportunity_id=deal.pk, by=adi, owner=bima, reason="Too busy."
        )
    deal.refresh_from_db()
    assert deal.owner == adi and not deal.events.exists()


def test_another_team_s_manager_does_not_see_the_deal(bima, deal):
    other = UserFactory(manager=True)
    with pytest.raises(NotFound):
        services.opportunity_change_owner(
            opportunity_id=deal.pk, by=other, owner=bima, reason="Mine now."
        )


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("not_an_ae", "invalid_choice", "owner"),
        ("outside_the_team", "invalid_choice", "owner"),
        ("inactive", "invalid_choice", "owner"),
        ("no_reason", "required", "reason"),
        ("closed", "closed", "owner"),
    ],
)
def test_what_the_service_refuses(manager, team, bima, deal, case, code, field):
    owner, reason = bima, "Adi moves to partners."
    if case == "not_an_ae":
        owner = UserFactory(sdr=True, team=team)
    elif case == "outside_the_team":
        owner = UserFactory(ae=True)
    elif case == "inactive":
        owner = UserFactory(ae=True, team=team, is_active=False)
    elif case == "no_reason":
        reason = "  "
    elif case == "closed":
        deal.stage = Stage.objects.filter(is_won=True).first()
        deal.save()
    with pytest.raises(ValidationFailed) as refused:
        services.opportunity_change_owner(
            opportunity_id=deal.pk, by=manager, owner=owner, reason=reason
        )
    assert (code, field) in {(p.code, p.field) for p in refused.value.problems}
    deal.refresh_from_db()
    assert deal.owner.username == "adi" and deal.version == 1


def test_a_stale_version_writes_nothing(manager, bima, deal):
    with pytest.raises(StaleVersion):
        services.opportunity_change_owner(
            opportunity_id=deal.pk, by=manager, owner=bima, reason="x y", expected_version=7
        )
    deal.refresh_from_db()
    assert deal.owner.username == "adi"


def test_bulk_change_owner_runs_each_row(manager, adi, bima, deal):
    second = OpportunityFactory(owner=adi)
    won = OpportunityFactory(owner=adi, stage=Stage.objects.filter(is_won=True).first())
    stranger = OpportunityFactory(owner=UserFactory(ae=True))
    result = bulk.opportunity_bulk(
        by=manager,
        action=bulk.CHANGE_OWNER,
        ids=[deal.pk, won.pk, stranger.pk, second.pk],
        owner=bima,
        reason="Adi moves to partners.",
    )
    assert (result.done, result.failed) == (2, 2)
    failures = {row.id: row.problems[0].code for row in result.failures}
    assert failures == {won.pk: "closed", stranger.pk: "not_found"}
    assert set(Opportunity.objects.filter(owner=bima)) == {deal, second}


def test_api_change_owner(manager, adi, bima, deal):
    response = api(manager).post(
        URL,
        {"action": "change_owner", "ids": [deal.pk], "owner": bima.pk, "reason": "Rebalance."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"results": [{"id": deal.pk, "ok": True}], "done": 1, "failed": 0}
    deal.refresh_from_db()
    assert deal.owner == bima


def test_api_change_owner_needs_an_ae_it_may_choose_and_a_reason(manager, adi, deal):
    client = api(manager)
    missing = client.post(URL, {"action": "change_owner", "ids": [deal.pk]}, format="json")
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"owner", "reason"}
    stranger = UserFactory(ae=True)
    body = {"action": "change_owner", "ids": [deal.pk], "owner": stranger.pk, "reason": "x y"}
    refused = client.post(URL, body, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "owner"
    deal.refresh_from_db()
    assert deal.owner == adi


def test_api_change_owner_as_an_ae_fails_every_row(adi, bima, deal):
    # an AE has nobody to hand deals to: the owner does not parse for them
    body = {"action": "change_owner", "ids": [deal.pk], "owner": bima.pk, "reason": "x y"}
    response = api(adi).post(URL, body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "owner"


def test_the_bar_offers_change_owner_to_the_manager_only(client, manager, adi, bima, deal):
    client.force_login(manager)
    bar = client.get(reverse("opportunities:bulk-bar")).content.decode()
    assert 'value="change_owner"' in bar and f'value="{bima.pk}"' in bar
    client.force_login(adi)
    bar = client.get(reverse("opportunities:bulk-bar")).content.decode()
    assert 'value="change_owner"' not in bar


def test_the_bar_runs_change_owner(client, manager, adi, bima, deal):
    client.force_login(manager)
    won = OpportunityFactory(
        owner=adi, name="Won - Deal - Closed", stage=Stage.objects.filter(is_won=True).first()
    )
    response = client.post(
        reverse("opportunities:bulk"),
        {
            "action": "change_owner",
            "scope": "ids",
            "ids": [deal.pk, won.pk],
            "owner": bima.pk,
            "reason": "Adi moves to partners.",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="bulk-summary"' in page and "1 done, 1 failed" in page
    assert "Won - Deal - Closed" in page and "keeps the owner it closed with" in page
    deal.refresh_from_db()
    assert deal.owner == bima


def test_the_bar_needs_the_new_owner(client, manager, adi, deal):
    client.force_login(manager)
    response = client.post(
        reverse("opportunities:bulk"),
        {"action": "change_owner", "scope": "ids", "ids": [deal.pk], "reason": "x y"},
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.owner == adi
