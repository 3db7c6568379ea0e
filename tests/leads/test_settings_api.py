"""The leads settings API: /api/v1/routing-rules/, /api/v1/rejection-reasons/ and
/api/v1/disqualification-reasons/.

Managers and RevOps read; only RevOps writes, through the same service and audit as the
pages. Every malformed body gets one 400 naming each field, never a 500; unknown fields
are refused by name; nothing is half-written.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import DisqualificationReason, RejectionReason, RoutingRule, SettingChange
from leads.services import settings as service
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/routing-rules/"
REJECTION = "/api/v1/rejection-reasons/"
DISQUALIFICATION = "/api/v1/disqualification-reasons/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _as(role: str) -> APIClient:
    return client_for(UserFactory(**{role: True}))


def _fields(response) -> set[tuple[str, str | None]]:
    return {(e["code"], e["field"]) for e in response.json()["errors"]}


@pytest.fixture
def team():
    return TeamFactory(name="Jakarta Inbound")


@pytest.fixture
def rule(revops, team):
    return service.routing_rule_create(
        by=revops, data={"name": "Inbound", "team": team, "match_source": "inbound"}
    )


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "revops"])
def test_managers_and_revops_read_every_list(role, rule):
    client = _as(role)
    rules = client.get(RULES)
    assert rules.status_code == 200
    assert rules.json()[0]["name"] == "Inbound" and rules.json()[0]["match_source"] == "inbound"
    assert client.get(f"{RULES}{rule.pk}/").status_code == 200
    assert client.get(f"{RULES}{rule.pk}/changes/").status_code == 200
    assert len(client.get(REJECTION).json()) == RejectionReason.objects.count()
    assert len(client.get(DISQUALIFICATION).json()) == DisqualificationReason.objects.count()


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_get_403_on_every_endpoint(role, rule, team):
    client = _as(role)
    reason = RejectionReason.objects.first()
    for url in (RULES, f"{RULES}{rule.pk}/", f"{RULES}preview/", REJECTION, DISQUALIFICATION):
        assert client.get(url).status_code == 403, url
    assert client.post(RULES, {"name": "X", "team": team.pk}, format="json").status_code == 403
    assert (
        client.patch(f"{REJECTION}{reason.pk}/", {"label": "X"}, format="json").status_code == 403
    )


def test_managers_may_not_write(manager, rule, team):
    client = client_for(manager)
    reason = RejectionReason.objects.get(code="other")
    responses = [
        client.post(RULES, {"name": "Mine", "team": team.pk}, format="json"),
        client.patch(f"{RULES}{rule.pk}/", {"name": "Mine"}, format="json"),
        client.post(f"{RULES}reorder/", {"order": [rule.pk]}, format="json"),
        client.post(REJECTION, {"label": "Mine"}, format="json"),
        client.patch(f"{REJECTION}{reason.pk}/", {"is_active": False}, format="json"),
        client.post(DISQUALIFICATION, {"label": "Mine"}, format="json"),
    ]
    assert [r.status_code for r in responses] == [403] * 6
    assert responses[0].json()["errors"][0]["code"] == "permission_denied"
    assert not SettingChange.objects.filter(actor=manager).exists()


def test_anonymous_is_401():
    assert APIClient().get(RULES).status_code == 401


# --- routing rules ----------------------------------------------------------------------------


def test_revops_creates_a_rule_and_it_is_audited(revops, team):
    response = client_for(revops).post(
        RULES,
        {
            "name": "Events in Singapore",
            "team": team.pk,
            "strategy": "territory",
            "match_source": "event",
            "match_country": "sg",
            "match_campaign": "Expo",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["match_country"] == "SG" and body["position"] == 0 and body["is_active"]
    assert body["last_assigned"] is None
    change = SettingChange.objects.get(kind="routing_rule", object_id=body["id"])
    assert change.actor == revops and change.new["name"] == "Events in Singapore"


def test_revops_patches_a_rule_and_reads_its_history(revops, rule):
    client = client_for(revops)
    response = client.patch(
        f"{RULES}{rule.pk}/", {"is_active": False, "match_territory": "Java"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] is False
    history = client.get(f"{RULES}{rule.pk}/changes/").json()
    assert history[0]["old"] == {"is_active": True, "match_territory": ""}
    assert history[0]["new"] == {"is_active": False, "match_territory": "Java"}
    assert history[0]["actor"]["id"] == revops.pk


def test_a_bad_rule_gets_every_problem_at_once(revops, rule):
    response = client_for(revops).post(
        RULES,
        {
            "name": "Inbound",
            "team": 999999,
            "strategy": "nearest",
            "match_source": "fax",
            "position": "first",
            "owner": 3,
        },
        format="json",
    )

    assert response.status_code == 400
    assert _fields(response) >= {
        ("duplicate", "name"),
        ("does_not_exist", "team"),
        ("invalid_choice", "strategy"),
        ("invalid_choice", "match_source"),
        ("invalid", "position"),
        ("unknown_field", "owner"),
    }
    assert RoutingRule.objects.count() == 1


def test_a_rule_body_that_is_not_an_object_is_a_400(revops):
    for body in ("[1, 2]", '"text"', "null"):
        response = client_for(revops).generic("POST", RULES, body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["errors"]


def test_unknown_fields_in_a_patch_are_named_and_echoed_ones_ignored(revops, rule):
    client = client_for(revops)
    body = client.get(f"{RULES}{rule.pk}/").json()

    response = client.patch(f"{RULES}{rule.pk}/", {**body, "colour": "red"}, format="json")
    assert response.status_code == 400
    assert _fields(response) == {("unknown_field", "colour")}

    # the rule as read, sent back with one change, saves
    response = client.patch(f"{RULES}{rule.pk}/", {**body, "name": "Inbound leads"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Inbound leads"


def test_reorder_puts_the_rules_in_the_order_given(revops, rule, team):
    other = service.routing_rule_create(by=revops, data={"name": "Other", "team": team})
    client = client_for(revops)

    response = client.post(f"{RULES}reorder/", {"order": [other.pk, rule.pk]}, format="json")

    assert response.status_code == 200
    assert [r["name"] for r in response.json()] == ["Other", "Inbound"]
    bad = client.post(f"{RULES}reorder/", {"order": [other.pk]}, format="json")
    assert bad.status_code == 400 and _fields(bad) == {("invalid", "order")}


def test_the_preview_names_the_rule_and_the_next_sdr_and_moves_nothing(manager, rule, team):
    first = UserFactory(sdr=True, team=team)
    UserFactory(sdr=True, team=team)
    client = client_for(manager)

    for _ in range(2):
        body = client.get(f"{RULES}preview/", {"source": "inbound"}).json()
        assert body["rule"] == {"id": rule.pk, "name": "Inbound"}
        assert body["owner"]["id"] == first.pk and body["fallback"] is False

    rule.refresh_from_db()
    assert rule.last_assigned is None
    fallback = client.get(f"{RULES}preview/", {"source": "event"}).json()
    assert fallback["rule"] is None and fallback["fallback"] is True
    assert client.get(f"{RULES}preview/", {"source": "fax"}).status_code == 400


# --- reasons ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "model", "kind"),
    [
        (REJECTION, RejectionReason, "rejection_reason"),
        (DISQUALIFICATION, DisqualificationReason, "disqualification_reason"),
    ],
)
def test_revops_adds_relabels_and_retires_a_reason(revops, url, model, kind):
    client = client_for(revops)

    created = client.post(url, {"label": "Budget frozen"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["code"] == "budget-frozen" and body["is_active"] is True

    patched = client.patch(
        f"{url}{body['id']}/",
        {"label": "Budget frozen this year", "is_active": False},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    reason = model.objects.get(pk=body["id"])
    assert (reason.label, reason.is_active) == ("Budget frozen this year", False)
    history = client.get(f"{url}{body['id']}/changes/").json()
    assert [h["new"] for h in history] == [
        {"label": "Budget frozen this year", "is_active": False},
        {
            "code": "budget-frozen",
            "label": "Budget frozen",
            "position": body["position"],
            "is_active": True,
        },
    ]
    assert SettingChange.objects.filter(kind=kind, object_id=reason.pk).count() == 2


def test_a_reasons_code_cannot_change(revops):
    reason = RejectionReason.objects.get(code="other")
    response = client_for(revops).patch(f"{REJECTION}{reason.pk}/", {"code": "else"}, format="json")
    assert response.status_code == 400 and _fields(response) == {("read_only", "code")}


def test_a_bad_reason_gets_every_problem_at_once(revops):
    response = client_for(revops).post(
        REJECTION,
        {
            "label": "No buying intent",
            "code": "not-icp",
            "position": -3,
            "is_active": "maybe",
            "kind": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert _fields(response) >= {
        ("duplicate", "label"),
        ("duplicate", "code"),
        ("out_of_range", "position"),
        ("invalid", "is_active"),
        ("unknown_field", "kind"),
    }


def test_a_placeholder_is_no_reason(revops):
    response = client_for(revops).post(DISQUALIFICATION, {"label": "N/A"}, format="json")
    assert response.status_code == 400 and ("required", "label") in _fields(response)


def test_the_schema_documents_the_settings_endpoints(revops):
    schema = client_for(revops).get("/api/schema/", {"format": "json"}).json()
    for path in (RULES, f"{RULES}{{id}}/", f"{RULES}preview/", REJECTION, DISQUALIFICATION):
        assert f"/api/v1/{path.removeprefix('/api/v1/')}" in schema["paths"], path
