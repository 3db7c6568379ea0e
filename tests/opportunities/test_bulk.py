"""Bulk actions on deals: one `opportunity_move_stage` per row, each in its own transaction.

The service (`opportunities.services.bulk.opportunity_bulk`), the API
(`POST /api/v1/opportunities/bulk/`: ids or the list's filter, the cap, strict parsing)
and the deal list's bulk bar and results page.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from opportunities.models import Opportunity, Stage
from opportunities.services import bulk
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/opportunities/bulk/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def deals(ae):
    """Two deals ready to leave Discovery, one missing its exit field, one waiting for
    approval, and another AE's deal."""
    ready = OpportunityFactory.create_batch(2, owner=ae, decision_criteria="Security review.")
    missing = OpportunityFactory(owner=ae, name="Missing Criteria", decision_criteria="")
    pending = OpportunityFactory(
        owner=ae, decision_criteria="Pilot.", approval=Opportunity.Approval.PENDING
    )
    other = OpportunityFactory(owner=UserFactory(ae=True), name="Not Mine")
    return ready, missing, pending, other


def qualification() -> Stage:
    return Stage.objects.get(name="Qualification")


def test_move_runs_every_row_and_names_each_failure(ae, deals):
    ready, missing, pending, other = deals
    ids = [ready[0].pk, missing.pk, pending.pk, other.pk, ready[1].pk]
    result = bulk.opportunity_bulk(by=ae, action=bulk.MOVE_STAGE, ids=ids, stage=qualification())
    assert (result.done, result.failed) == (2, 3)
    for deal in ready:
        deal.refresh_from_db()
        assert deal.stage == qualification()
    failures = {row.id: row for row in result.failures}
    assert failures[missing.pk].problems[0].code == "exit_field_missing"
    assert failures[missing.pk].label == "Missing Criteria"
    assert failures[pending.pk].problems[0].field == "stage"
    assert failures[other.pk].problems[0].code == "not_found"
    assert failures[other.pk].label == ""


def test_lost_needs_its_reasons_per_row(ae, deals):
    ready, *_rest = deals
    lost = Stage.objects.get(name="Closed Lost")
    refused = bulk.opportunity_bulk(by=ae, action=bulk.MOVE_STAGE, ids=[ready[0].pk], stage=lost)
    assert {p.field for p in refused.rows[0].problems} == {"lost_reason", "lost_to_competitor"}
    done = bulk.opportunity_bulk(
        by=ae,
        action=bulk.MOVE_STAGE,
        ids=[ready[0].pk],
        stage=lost,
        lost_reason="Budget cut.",
        lost_to_competitor="No decision",
    )
    assert done.done == 1


def test_a_manager_moves_their_team_s_deals_only(deals, manager):
    ready, _missing, _pending, other = deals
    ready[0].owner.manager = manager
    ready[0].owner.save()
    result = bulk.opportunity_bulk(
        by=manager, action=bulk.MOVE_STAGE, ids=[ready[0].pk, other.pk], stage=qualification()
    )
    assert [row.ok for row in result.rows] == [True, False]


# --- the API -------------------------------------------------------------------------------


def test_api_answers_each_row(ae, deals):
    ready, missing, _pending, _other = deals
    response = client_for(ae).post(
        URL,
        {"action": "move_stage", "stage": qualification().pk, "ids": [ready[0].pk, missing.pk]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["done"], body["failed"]) == (1, 1)
    assert body["results"][0] == {"id": ready[0].pk, "ok": True}
    assert body["results"][1]["errors"][0]["field"] == "decision_criteria"


def test_api_caps_and_is_strict(ae):
    client = client_for(ae)
    stage = qualification().pk
    over = client.post(
        URL,
        {"action": "move_stage", "stage": stage, "ids": list(range(1, bulk.BULK_CAP + 2))},
        format="json",
    )
    assert over.status_code == 400 and [e["field"] for e in over.json()["errors"]] == ["ids"]
    unknown = client.post(
        URL, {"action": "move_stage", "stage": stage, "ids": [1], "assignee": 3}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "unknown_field"
    no_stage = client.post(URL, {"action": "move_stage", "ids": [1]}, format="json")
    assert no_stage.status_code == 400 and no_stage.json()["errors"][0]["field"] == "stage"
    bad_stage = client.post(
        URL, {"action": "move_stage", "ids": [1], "stage": 10**9}, format="json"
    )
    assert bad_stage.status_code == 400 and bad_stage.json()["errors"][0]["field"] == "stage"


def test_api_filter_mode(ae, deals):
    ready, missing, pending, other = deals
    response = client_for(ae).post(
        URL,
        {"action": "move_stage", "stage": qualification().pk, "filter": {"is_open": "true"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert sorted(r["id"] for r in body["results"]) == sorted(
        [ready[0].pk, ready[1].pk, missing.pk, pending.pk]
    )
    assert (body["done"], body["failed"]) == (2, 2)
    bad = client_for(ae).post(
        URL,
        {"action": "move_stage", "stage": qualification().pk, "filter": {"stage": "x"}},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "filter.stage"


# --- the list's bar and results page -------------------------------------------------------


def test_list_offers_checkboxes_and_the_bar(client, ae, deals):
    client.force_login(ae)
    page = client.get(reverse("opportunities:list")).content.decode()
    assert page.count('data-testid="bulk-row"') == 4
    assert reverse("opportunities:bulk-bar") in page
    bar = client.get(reverse("opportunities:bulk-bar")).content.decode()
    assert "Select all 4 deals matching the filter" in bar and "Qualification" in bar


def test_results_page_names_each_failure(client, ae, deals):
    ready, missing, _pending, other = deals
    client.force_login(ae)
    response = client.post(
        reverse("opportunities:bulk"),
        {
            "action": "move_stage",
            "scope": "ids",
            "stage": qualification().pk,
            "ids": [ready[0].pk, missing.pk, other.pk],
        },
    )
    page = response.content.decode()
    assert "1 done, 2 failed" in page
    assert reverse("opportunities:detail", args=[missing.pk]) in page
    assert f"#{other.pk}" in page and "Not Mine" not in page


def test_export_of_the_selection(client, ae, deals):
    ready, _missing, _pending, other = deals
    client.force_login(ae)
    response = client.post(
        reverse("opportunities:bulk"),
        {"action": "export", "scope": "ids", "ids": [ready[0].pk, other.pk]},
    )
    body = b"".join(response.streaming_content).decode()
    assert ready[0].name in body and "Not Mine" not in body
