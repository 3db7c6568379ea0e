"""Bulk actions on leads: one service call per row, one failing row never stops the others.

The service (`leads.services.bulk.lead_bulk`), the API (`POST /api/v1/leads/bulk/`: ids or
the list's filter, the cap, strict parsing) and the queue's bulk bar and results page.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from leads.models import Lead
from leads.services import bulk
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/bulk/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mixed(sdr):
    """Three MQLs of the SDR's, one she already accepted, one of another SDR's."""
    mine = LeadFactory.create_batch(3, owner=sdr)
    accepted = LeadFactory(owner=sdr, status=Lead.Status.SAL, company_name="Already Co")
    other = LeadFactory(owner=UserFactory(sdr=True), company_name="Not Hers Co")
    return mine, accepted, other


# --- the service ---------------------------------------------------------------------------


def test_accept_runs_every_row_and_names_each_failure(sdr, mixed):
    mine, accepted, other = mixed
    ids = [mine[0].pk, accepted.pk, mine[1].pk, other.pk, mine[2].pk, mine[0].pk]
    result = bulk.lead_bulk(by=sdr, action=bulk.ACCEPT, ids=ids)
    assert (result.done, result.failed) == (3, 2)
    assert [row.id for row in result.rows] == [
        mine[0].pk,
        accepted.pk,
        mine[1].pk,
        other.pk,
        mine[2].pk,
    ]  # a repeated id runs once
    for lead in mine:
        lead.refresh_from_db()
        assert lead.status == Lead.Status.SAL
    failures = {row.id: row for row in result.failures}
    assert failures[accepted.pk].problems[0].code == "invalid_transition"
    assert failures[accepted.pk].label == "Already Co"
    # Not hers to see: "no such lead", and its company is not revealed.
    assert failures[other.pk].problems[0].code == "not_found"
    assert failures[other.pk].label == ""
    other.refresh_from_db()
    assert other.status == Lead.Status.MQL


def test_reject_and_nurture_go_through_their_services(sdr, mixed):
    mine, _accepted, _other = mixed
    result = bulk.lead_bulk(
        by=sdr,
        action=bulk.REJECT,
        ids=[mine[0].pk],
        reason="bad-data",
        note="Phone numbers and e-mails bounce.",
    )
    assert result.done == 1
    mine[0].refresh_from_db()
    assert mine[0].status == Lead.Status.REJECTED and mine[0].rejection_reason.code == "bad-data"
    # The service's own rule: a placeholder rationale fails the row, naming the field.
    refused = bulk.lead_bulk(
        by=sdr, action=bulk.REJECT, ids=[mine[1].pk], reason="bad-data", note="n/a"
    )
    assert refused.failed == 1 and refused.rows[0].problems[0].field == "note"
    nurtured = bulk.lead_bulk(
        by=sdr, action=bulk.NURTURE, ids=[mine[2].pk], reason="Budget next year."
    )
    assert nurtured.done == 1
    mine[2].refresh_from_db()
    assert mine[2].status == Lead.Status.NURTURE


def test_assign_fails_per_row_for_a_role_that_may_not_assign(sdr, revops, mixed):
    mine, _accepted, _other = mixed
    new_owner = UserFactory(sdr=True, first_name="Nia")
    refused = bulk.lead_bulk(by=sdr, action=bulk.ASSIGN, ids=[mine[0].pk], owner=new_owner)
    assert refused.failed == 1 and refused.rows[0].problems[0].code == "permission_denied"
    done = bulk.lead_bulk(by=revops, action=bulk.ASSIGN, ids=[m.pk for m in mine], owner=new_owner)
    assert done.done == 3
    assert set(
        Lead.objects.filter(pk__in=[m.pk for m in mine]).values_list("owner", flat=True)
    ) == {new_owner.pk}


def test_one_query_names_the_rows(sdr, mixed, django_assert_num_queries):
    mine, accepted, other = mixed
    with django_assert_num_queries(1):
        labels = bulk.lead_labels(sdr, [m.pk for m in mine] + [accepted.pk, other.pk])
    assert other.pk not in labels and labels[accepted.pk] == "Already Co"


# --- the API -------------------------------------------------------------------------------


def test_api_answers_each_row(sdr, mixed):
    mine, accepted, other = mixed
    response = client_for(sdr).post(
        URL, {"action": "accept", "ids": [mine[0].pk, accepted.pk, other.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["done"], body["failed"]) == (1, 2)
    assert body["results"][0] == {"id": mine[0].pk, "ok": True}
    assert body["results"][1]["ok"] is False
    assert body["results"][1]["errors"][0]["code"] == "invalid_transition"
    assert body["results"][2]["errors"][0]["code"] == "not_found"


def test_api_caps_the_ids(sdr):
    response = client_for(sdr).post(
        URL, {"action": "accept", "ids": list(range(1, bulk.BULK_CAP + 2))}, format="json"
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["ids"]


def test_api_is_strict(sdr):
    client = client_for(sdr)
    unknown = client.post(URL, {"action": "accept", "ids": [1], "colour": "red"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0] == {
        "code": "unknown_field",
        "field": "colour",
        "message": "Unknown field 'colour'.",
    }
    both = client.post(URL, {"action": "accept", "ids": [1], "filter": {}}, format="json")
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "ids"
    neither = client.post(URL, {"action": "accept"}, format="json")
    assert neither.status_code == 400 and neither.json()["errors"][0]["field"] == "ids"
    bad_action = client.post(URL, {"action": "delete", "ids": [1]}, format="json")
    assert bad_action.json()["errors"][0]["field"] == "action"
    no_owner = client.post(URL, {"action": "assign", "ids": [1]}, format="json")
    assert no_owner.status_code == 400 and no_owner.json()["errors"][0]["field"] == "owner"
    no_note = client.post(URL, {"action": "reject", "ids": [1], "reason": "x"}, format="json")
    assert [e["field"] for e in no_note.json()["errors"]] == ["note"]
    not_an_sdr = client.post(
        URL, {"action": "assign", "ids": [1], "owner": sdr.pk + 999}, format="json"
    )
    assert not_an_sdr.status_code == 400 and not_an_sdr.json()["errors"][0]["field"] == "owner"


def test_api_filter_mode_acts_on_what_the_list_returns(sdr, mixed):
    mine, accepted, other = mixed
    response = client_for(sdr).post(
        URL,
        {"action": "nurture", "reason": "Not this quarter.", "filter": {"status": "mql"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    # Her three MQLs; neither the accepted lead (filtered out) nor the other SDR's (unseen).
    assert sorted(row["id"] for row in body["results"]) == sorted(m.pk for m in mine)
    assert body["done"] == 3
    other.refresh_from_db()
    assert other.status == Lead.Status.MQL


def test_api_filter_is_checked_key_by_key(sdr):
    client = client_for(sdr)
    unknown = client.post(URL, {"action": "accept", "filter": {"colour": "red"}}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "filter.colour"
    invalid = client.post(URL, {"action": "accept", "filter": {"status": "gone"}}, format="json")
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"] == "filter.status"


def test_api_filter_over_the_cap_is_refused(sdr, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_CAP", 2)
    LeadFactory.create_batch(3, owner=sdr)
    response = client_for(sdr).post(URL, {"action": "accept", "filter": {}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "too_many",
        "field": "filter",
        "message": "More than 2 leads match: narrow the filter.",
    }


# --- the queue's bar and results page ------------------------------------------------------


def test_queue_offers_a_checkbox_per_row_and_loads_the_bar(client, sdr, mixed):
    client.force_login(sdr)
    page = client.get(reverse("leads:list")).content.decode()
    assert page.count('data-testid="bulk-row"') == 4  # her open leads
    assert reverse("leads:bulk_bar") in page and "js/bulk.js" in page
    bar = client.get(reverse("leads:bulk_bar"), {"status": "mql"}).content.decode()
    assert "Select all 3 leads matching the filter" in bar
    assert 'value="status=mql"' in bar
    assert 'value="assign"' not in bar  # an SDR does not assign


def test_results_page_names_each_failure_with_a_link(client, sdr, mixed):
    mine, accepted, other = mixed
    client.force_login(sdr)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "accept", "scope": "ids", "ids": [mine[0].pk, accepted.pk, other.pk]},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 done, 2 failed" in page
    assert reverse("leads:detail", args=[accepted.pk]) in page and "Already Co" in page
    assert f"#{other.pk}" in page and "Not Hers Co" not in page


def test_web_filter_scope_uses_the_queue_filters(client, sdr, mixed):
    mine, accepted, _other = mixed
    client.force_login(sdr)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "accept", "scope": "filter", "query": "status=mql"},
    )
    page = response.content.decode()
    assert "3 done, 0 failed" in page
    assert Lead.objects.filter(owner=sdr, status=Lead.Status.SAL).count() == 4
    # Every row done is listed too, each with a link to its lead.
    assert page.count('data-testid="bulk-done-row"') == 3
    for lead in mine:
        assert reverse("leads:detail", args=[lead.pk]) in page


def test_web_export_of_the_selection(client, sdr, mixed):
    mine, _accepted, other = mixed
    client.force_login(sdr)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "export", "scope": "ids", "ids": [mine[0].pk, other.pk]},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert mine[0].company_name in body and other.company_name not in body


def test_web_refuses_an_empty_selection(client, sdr):
    client.force_login(sdr)
    response = client.post(reverse("leads:bulk"), {"action": "accept", "scope": "ids"})
    assert response.status_code == 302
