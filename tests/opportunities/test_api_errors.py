"""Every problem at once, never a 500: conversion, deal edits, stage moves, override
requests and the deal filters answer malformed input with 400/409/412/422 and
`{"errors": [...]}` naming the field, and nothing is written."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from crm.models import User
from leads.models import Lead
from opportunities import services
from opportunities.models import ConversionRequest, Opportunity, Stage
from tests.factories import ConvertibleLeadFactory, OpportunityFactory, UserFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = pytest.mark.django_db

HUGE = 10**30
DATE, DUE = "expected_close_date", "next_step_due"


def client_for(user: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def assert_problems(response, *fields: str | None) -> list[dict]:
    """A client error (never a 500) in the one JSON shape, naming each of `fields`."""
    assert response.status_code in (400, 409, 412, 422), (response.status_code, response.content)
    errors = response.json()["errors"]
    assert errors and all(set(e) == {"code", "field", "message"} for e in errors)
    assert set(fields) <= {e["field"] for e in errors}, errors
    return errors


def converter(lead: Lead, role: str) -> User:
    """Someone who may convert `lead`: its AE, or RevOps."""
    return lead.ae if role == "ae" else UserFactory(revops=True)


# --- conversion: the crashes of the issue, and their neighbours -----------------------------

# (overrides of the wizard input, the field that must be named)
BAD_CONVERSION = [
    ({"stage": 999_999}, "stage"),
    ({"stage": "abc"}, "stage"),
    ({"stage": HUGE}, "stage"),
    ({"stage": [1]}, "stage"),
    ({"stage": True}, "stage"),
    ({"stage": None}, "stage"),
    ({"next_step_due": "next week"}, DUE),
    ({"next_step_due": 5}, DUE),
    ({"next_step_due": "9999-12-31"}, DUE),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": "-Infinity"}, "amount"),
    ({"amount": "1e20"}, "amount"),
    ({"amount": "1e-20"}, "amount"),
    ({"amount": "12.345"}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": {"value": 5}}, "amount"),
    ({"amount": None}, "amount"),
    ({DATE: "0001-01-01"}, DATE),
    ({DATE: "99999-01-01"}, DATE),
    ({DATE: "2026-02-30"}, DATE),
    ({DATE: "20260101"}, DATE),
    ({DATE: ["2026-01-01"]}, DATE),
    ({"name": None}, "name"),
    ({"name": {"company": "Acme"}}, "name"),
    ({"name": "x" * 100_000}, "name"),
    ({"name": "Acme\x00 - CRM - Routing"}, "name"),
    ({"currency": ["USD"]}, "currency"),
    ({"probability": "NaN"}, "probability"),
    ({"probability": 50.5}, "probability"),
    ({"probability": HUGE}, "probability"),
    ({"next_step_owner": "abc"}, "next_step_owner"),
    ({"next_step_owner": HUGE}, "next_step_owner"),
    ({"next_step_owner": None}, "next_step_owner"),
    ({"attach_to": HUGE}, "attach_to"),
    ({"attach_to": "abc"}, "attach_to"),
    ({"contact_roles": "economic_buyer"}, "contact_roles"),
    ({"contact_roles": None}, "contact_roles"),
    ({"contact_roles": [["economic_buyer"]]}, "contact_roles.0"),
    ({"contact_roles": [{"role": ["champion"], "lead_contact": True}]}, "contact_roles.0.role"),
    ({"contact_roles": [{"role": "champion", "lead_contact": "maybe"}]},
     "contact_roles.0.lead_contact"),
    ({"contact_roles": [{"role": "champion", "contact": HUGE}]}, "contact_roles.0.contact"),
    ({"contact_roles": [{"role": "champion", "last_name": {"a": 1}, "email": "a@b.example"}]},
     "contact_roles.0.last_name"),
    ({"contact_roles": [{"role": "champion", "lead_contact": True, "colour": "red"}]},
     "contact_roles.0.colour"),
    ({"no_such_field": 1}, "no_such_field"),
]  # fmt: skip


@pytest.mark.parametrize("role", ["ae", "revops"])
@pytest.mark.parametrize(
    ("overrides", "field"),
    BAD_CONVERSION,
    ids=[json.dumps(o, default=str)[:50] for o, _f in BAD_CONVERSION],
)
def test_a_malformed_conversion_is_a_client_error_naming_the_field(role, overrides, field):
    lead = ConvertibleLeadFactory()
    client = client_for(converter(lead, role))

    for url, body in (
        (f"/api/v1/leads/{lead.pk}/convert/", wizard_input(lead, **overrides)),
        ("/api/v1/opportunities/", {**wizard_input(lead, **overrides), "lead": lead.pk}),
    ):
        assert_problems(client.post(url, body, format="json"), field)

    assert not Opportunity.objects.exists()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SQL


@pytest.mark.parametrize("body", ["[1, 2]", '"convert me"', "42", "null", "true"])
@pytest.mark.parametrize(
    "path", ["leads/{id}/convert/", "opportunities/", "leads/{id}/override-request/"]
)
def test_a_body_that_is_not_an_object_is_a_400(body, path):
    lead = ConvertibleLeadFactory()

    response = client_for(lead.ae).post(
        "/api/v1/" + path.format(id=lead.pk), body, content_type="application/json"
    )

    assert response.status_code == 400
    assert_problems(response, None)


@pytest.mark.parametrize(
    ("lead_value", "code"),
    [("abc", "invalid"), (HUGE, "invalid"), ([1], "invalid"), ({"id": 1}, "invalid"),
     (True, "invalid"), (-1, "invalid"), (None, "required"), (999_999, "does_not_exist")],
)  # fmt: skip
def test_post_opportunities_names_a_bad_lead(lead_value, code):
    lead = ConvertibleLeadFactory()

    response = client_for(lead.ae).post(
        "/api/v1/opportunities/", {**wizard_input(lead), "lead": lead_value}, format="json"
    )

    errors = assert_problems(response, "lead")
    assert response.status_code == 400
    assert [e["code"] for e in errors if e["field"] == "lead"] == [code]


def test_a_lead_the_user_may_not_see_reads_as_no_such_lead():
    lead = ConvertibleLeadFactory()

    response = client_for(UserFactory(ae=True)).post(
        "/api/v1/opportunities/", {**wizard_input(lead), "lead": lead.pk}, format="json"
    )

    assert [(e["code"], e["field"]) for e in assert_problems(response, "lead")] == [
        ("does_not_exist", "lead")
    ]


@pytest.mark.parametrize("role", ["ae", "revops"])
def test_conversion_lists_every_unmet_criterion_and_invalid_field_at_once(role):
    lead = ConvertibleLeadFactory()
    q = lead.qualification
    q.budget_status = "unknown"
    q.decision_status = "in_progress"
    q.save()
    body = wizard_input(lead, amount="NaN", next_step_due="next week", stage="abc", currency="??")

    response = client_for(converter(lead, role)).post(
        f"/api/v1/leads/{lead.pk}/convert/", body, format="json"
    )

    assert response.status_code == 422
    errors = assert_problems(
        response, "budget_status", "decision_status", "amount", DUE, "stage", "currency"
    )
    fields = [e["field"] for e in errors]
    assert len(fields) == len(set(fields)), errors  # each once


def test_an_unknown_key_is_refused_with_every_other_problem():
    lead = ConvertibleLeadFactory()
    body = wizard_input(lead, amount="NaN", colour="red")

    response = client_for(lead.ae).post(f"/api/v1/leads/{lead.pk}/convert/", body, format="json")

    assert response.status_code == 400
    errors = assert_problems(response, "colour", "amount")
    assert {e["code"] for e in errors if e["field"] == "colour"} == {"unknown_field"}
    assert not Opportunity.objects.exists()


def test_an_override_request_refuses_unknown_keys_and_a_bad_rationale():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    url = f"/api/v1/leads/{lead.pk}/override-request/"

    unknown = client.post(url, {**wizard_input(lead), "colour": "red"}, format="json")
    rationale = client.post(
        url, {**wizard_input(lead), "override_rationale": ["why"]}, format="json"
    )

    assert_problems(unknown, "colour")
    assert_problems(rationale, "override_rationale")
    assert not ConversionRequest.objects.exists()


@pytest.mark.parametrize(
    ("decision", "body", "status", "field"),
    [("approve", "[1]", 400, None), ("decline", '"no"', 400, None),
     ("approve", '{"note": {"a": 1}}', 400, "note"), ("approve", '{"colour": 1}', 400, "colour"),
     ("frobnicate", "{}", 404, None)],
)  # fmt: skip
def test_an_override_decision_refuses_a_malformed_body(decision, body, status, field):
    lead = ConvertibleLeadFactory()
    q = lead.qualification
    q.budget_status = "unknown"
    q.save()
    boss = UserFactory(manager=True)
    lead.ae.manager = boss
    lead.ae.save()
    asked = services.conversion_request_create(
        lead_id=lead.pk, by=lead.ae, raw=wizard_input(lead), rationale="Signed LOI, budget next Q"
    )

    response = client_for(boss).post(
        f"/api/v1/override-requests/{asked.pk}/{decision}/", body, content_type="application/json"
    )

    assert response.status_code == status, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    asked.refresh_from_db()
    assert asked.state == ConversionRequest.State.PENDING


# --- editing a deal and moving it ------------------------------------------------------------

BAD_EDIT = [
    ({"amount": "NaN"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": "1e20"}, "amount"),
    ({"amount": None}, "amount"),
    ({DATE: "0001-01-01"}, DATE),
    ({DATE: "99999-01-01"}, DATE),
    ({DATE: "2026-02-30"}, DATE),
    ({DUE: "next week"}, DUE),
    ({"name": "x" * 100_000}, "name"),
    ({"name": None}, "name"),
    ({"name": {"a": 1}}, "name"),
    ({"probability": HUGE}, "probability"),
    ({"next_step_owner": "abc"}, "next_step_owner"),
    ({"next_step_owner": HUGE}, "next_step_owner"),
    ({"version": "three"}, "version"),
    ({"stage": 1}, "stage"),
    ({"lead": 1}, "lead"),
    ({"owner": 1}, "owner"),
    ({"id": 1}, "id"),
    ({"colour": "red"}, "colour"),
]  # fmt: skip


@pytest.mark.parametrize("role", ["owner", "manager", "revops"])
@pytest.mark.parametrize(
    ("body", "field"), BAD_EDIT, ids=[json.dumps(b)[:40] for b, _f in BAD_EDIT]
)
def test_a_malformed_edit_is_a_client_error_naming_the_field(role, body, field):
    opp = OpportunityFactory()
    user = {
        "owner": opp.owner,
        "manager": _manager_of(opp.owner),
        "revops": UserFactory(revops=True),
    }[role]
    before = (opp.version, opp.amount, opp.name)

    response = client_for(user).patch(f"/api/v1/opportunities/{opp.pk}/", body, format="json")

    assert_problems(response, field)
    opp.refresh_from_db()
    assert (opp.version, opp.amount, opp.name) == before


def _manager_of(user: User) -> User:
    boss = UserFactory(manager=True)
    user.manager = boss
    user.save()
    return boss


def test_an_edit_reports_the_serializer_and_the_service_problems_together():
    opp = OpportunityFactory()

    response = client_for(opp.owner).patch(
        f"/api/v1/opportunities/{opp.pk}/",
        {"amount": "NaN", "currency": "XXXX", "next_step": "TBD"},
        format="json",
    )

    assert response.status_code == 400
    assert_problems(response, "amount", "currency", "next_step")


@pytest.mark.parametrize("body", ["[1]", '"Qualification"', "null"])
def test_a_deal_edit_that_is_not_an_object_is_a_400(body):
    opp = OpportunityFactory()

    response = client_for(opp.owner).patch(
        f"/api/v1/opportunities/{opp.pk}/", body, content_type="application/json"
    )

    assert_problems(response, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"stage": "abc"}, "stage"), ({"stage": HUGE}, "stage"), ({"stage": 999_999}, "stage"),
     ({"stage": None}, "stage"), ({"stage": [1]}, "stage"), ({}, "stage"),
     ({"stage": "{qualification}", "version": "x"}, "version"),
     ({"stage": "{qualification}", "colour": 1}, "colour"),
     ({"stage": "{qualification}", "reason": {"a": 1}}, "reason")],
)  # fmt: skip
@pytest.mark.parametrize("role", ["owner", "revops"])
def test_a_malformed_stage_move_is_a_400_naming_the_field(role, body, field):
    opp = OpportunityFactory()
    user = opp.owner if role == "owner" else UserFactory(revops=True)
    qualification = Stage.objects.get(name="Qualification")
    if body.get("stage") == "{qualification}":
        body = {**body, "stage": qualification.pk}

    response = client_for(user).post(f"/api/v1/opportunities/{opp.pk}/stage/", body, format="json")

    assert response.status_code == 400
    assert_problems(response, field)
    opp.refresh_from_db()
    assert opp.stage.name == "Discovery"


# --- query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [("stage=abc", "stage"), ("stage=" + "9" * 30, "stage"), ("stage=999999", "stage"),
     ("owner=abc", "owner"), ("owner=" + "9" * 30, "owner"), ("is_open=maybe", "is_open"),
     ("is_override=perhaps", "is_override"), ("approval=zz", "approval"),
     ("source=fax", "source")],
)  # fmt: skip
@pytest.mark.parametrize("role", ["ae", "manager", "revops"])
def test_a_bad_deal_filter_is_a_400_naming_it(role, query, field):
    OpportunityFactory()
    user = UserFactory(**{role: True})

    response = client_for(user).get(f"/api/v1/opportunities/?{query}")

    assert response.status_code == 400
    assert_problems(response, field)


@pytest.mark.parametrize("query", ["is_open=true", "is_open=false", "is_override=0", "stage=1"])
def test_good_deal_filters_still_filter(query):
    OpportunityFactory()

    response = client_for(UserFactory(revops=True)).get(f"/api/v1/opportunities/?{query}")

    assert response.status_code == 200
