"""The conversion and opportunities API contract."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import IdempotencyRecord
from opportunities.models import Opportunity, OpportunityContactRole, Stage
from tests.factories import ConvertibleLeadFactory, OpportunityFactory, UserFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_readiness_lists_the_checklist_and_problems():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    ready = client.get(f"/api/v1/leads/{lead.pk}/readiness/").json()
    assert ready["ready"] is True and ready["problems"] == []
    assert len(ready["checklist"]) == 9
    q = lead.qualification
    q.decision_status = "in_progress"
    q.save()
    body = client.get(f"/api/v1/leads/{lead.pk}/readiness/").json()
    assert body["ready"] is False
    assert body["problems"] == [
        {
            "code": "decision_unconfirmed",
            "field": "decision_status",
            "message": body["problems"][0]["message"],
        }
    ]


def test_convert_returns_201_with_account_contact_and_roles():
    lead = ConvertibleLeadFactory()
    response = client_for(lead.ae).post(
        f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] and body["account"] and body["primary_contact"]
    assert body["contact_roles"][0]["role"] == "economic_buyer"


def test_convert_422_lists_every_problem_and_409_after_conversion():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    bad = client.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead, name="", currency="??", contact_roles=[]),
        format="json",
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "currency", "contact_roles"}
    assert (
        client.post(
            f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead), format="json"
        ).status_code
        == 201
    )
    again = client.post(f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead), format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_converted"


def test_idempotent_replay_returns_the_first_result():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    first = client.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    replay = client.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Opportunity.objects.count() == 1


def test_same_key_with_another_body_is_422_and_a_running_one_is_409():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    client.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    other = client.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead, amount="1"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"

    second = ConvertibleLeadFactory(ae=lead.ae)
    # A first request still running holds its key.
    _reserve_running(lead.ae, "k-3", second, wizard_input(second))
    running = client.post(
        f"/api/v1/leads/{second.pk}/convert/",
        wizard_input(second),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )
    assert running.status_code == 409
    assert running.json()["errors"][0]["code"] == "idempotency_in_progress"


def _reserve_running(user, key, lead, body) -> None:
    from crm.idempotency import _fingerprint

    IdempotencyRecord.objects.create(
        user=user,
        key=key,
        scope=f"lead-convert:{lead.pk}",
        request_hash=_fingerprint(f"lead-convert:{lead.pk}", body),
    )


def test_keys_are_scoped_to_the_user():
    lead = ConvertibleLeadFactory()
    boss = UserFactory(revops=True)
    client_for(boss).post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead, amount="5"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )
    response = client_for(lead.ae).post(
        f"/api/v1/leads/{lead.pk}/convert/",
        wizard_input(lead),
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )
    # converted by RevOps first; not a replay of theirs (nor a request still running)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "already_converted"


def test_wrong_roles_are_refused(sdr):
    lead = ConvertibleLeadFactory(owner=sdr)
    assert (
        client_for(UserFactory(ae=True))
        .post(f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead), format="json")
        .status_code
        == 404
    )
    assert (
        client_for(sdr)
        .post(f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead), format="json")
        .status_code
        == 403
    )
    assert not Opportunity.objects.exists()


def test_opportunities_list_patch_and_stage():
    opp = OpportunityFactory(decision_criteria="Price", competitive_landscape="HubSpot")
    client = client_for(opp.owner)
    assert [o["id"] for o in client.get("/api/v1/opportunities/").json()["results"]] == [opp.pk]
    assert (
        client_for(UserFactory(ae=True)).get(f"/api/v1/opportunities/{opp.pk}/").status_code == 404
    )
    etag = client.get(f"/api/v1/opportunities/{opp.pk}/")["ETag"]
    patched = client.patch(
        f"/api/v1/opportunities/{opp.pk}/",
        {"amount": "61000.00"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert patched.status_code == 200 and patched.json()["amount"] == "61000.00"
    stale = client.patch(
        f"/api/v1/opportunities/{opp.pk}/", {"amount": "1"}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412
    qualification = Stage.objects.get(name="Qualification")
    moved = client.post(
        f"/api/v1/opportunities/{opp.pk}/stage/", {"stage": qualification.pk}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["stage_name"] == "Qualification"
    lost = Stage.objects.get(name="Closed Lost")
    refused = client.post(
        f"/api/v1/opportunities/{opp.pk}/stage/", {"stage": lost.pk}, format="json"
    )
    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"lost_reason", "lost_to_competitor"}


def test_post_opportunities_converts_the_named_lead():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    assert (
        client.post("/api/v1/opportunities/", wizard_input(lead), format="json").status_code == 400
    )
    response = client.post(
        "/api/v1/opportunities/", {**wizard_input(lead), "lead": lead.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["lead"] == lead.pk


def _deals_with_roles(owner, n: int) -> None:
    for opp in OpportunityFactory.create_batch(n, owner=owner):
        OpportunityContactRole.objects.create(
            opportunity=opp, contact=opp.primary_contact, role="champion"
        )


def test_the_list_costs_the_same_few_queries_for_any_page_length(django_assert_num_queries):
    # given an AE with deals that each carry a contact role
    ae = UserFactory(ae=True)
    client = client_for(ae)
    _deals_with_roles(ae, 2)

    # then a page costs two queries (deals, their roles with the contacts)...
    with django_assert_num_queries(2):
        few = client.get("/api/v1/opportunities/")
    _deals_with_roles(ae, 30)
    # ...whether it holds two deals or thirty-two
    with django_assert_num_queries(2):
        many = client.get("/api/v1/opportunities/")

    assert len(few.json()["results"]) == 2
    assert len(many.json()["results"]) == 32
    assert all(row["contact_roles"] for row in many.json()["results"])


def test_the_list_pages_newest_first_by_keyset():
    ae = UserFactory(ae=True)
    deals = OpportunityFactory.create_batch(5, owner=ae)
    client = client_for(ae)

    first = client.get("/api/v1/opportunities/?page_size=2").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    back = client.get(third["previous"]).json()

    newest_first = [d.pk for d in sorted(deals, key=lambda d: (d.created_at, d.pk), reverse=True)]
    pages = [[row["id"] for row in page["results"]] for page in (first, second, third)]
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    assert first["previous"] is None and third["next"] is None
    assert [row["id"] for row in back["results"]] == newest_first[2:4]
