"""The pipeline settings API: /api/v1/stages/ and /api/v1/conversion-policy/.

Everyone signed in reads (a client needs stage ids to convert and move deals, and the
policy's rules); only RevOps writes, through the same service and audit as the pages.
Every malformed body gets one 400 naming each field, never a 500, and nothing is
half-written.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from opportunities.models import ConversionPolicy, PolicyChange, Stage
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

STAGES = "/api/v1/stages/"
POLICY = "/api/v1/conversion-policy/"
ROLES = ["sdr", "ae", "manager", "revops"]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _as(role: str) -> APIClient:
    return client_for(UserFactory(**{role: True}))


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _fields(response) -> set[tuple[str, str | None]]:
    return {(e["code"], e["field"]) for e in response.json()["errors"]}


def _raw(client: APIClient, method: str, url: str, body: str):
    return getattr(client, method)(url, body, content_type="application/json")


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_everyone_signed_in_reads_the_stages_in_order(role):
    client = _as(role)

    listing = client.get(STAGES)
    entry = client.get(STAGES, {"is_entry": "true", "is_active": "true"})
    one = client.get(f"{STAGES}{_stage('Discovery').pk}/")

    assert listing.status_code == 200
    names = [s["name"] for s in listing.json()]
    assert names == list(Stage.objects.order_by("position").values_list("name", flat=True))
    assert [s["name"] for s in entry.json()] == ["Discovery", "Qualification"]
    assert one.status_code == 200
    assert one.json()["exit_required_fields"] == ["next_step", "decision_criteria"]
    assert set(one.json()) == {
        "id",
        "name",
        "position",
        "default_probability",
        "is_entry",
        "counts_as_early",
        "rot_days",
        "exit_required_fields",
        "is_won",
        "is_lost",
        "is_active",
        "deal_count",
    }


@pytest.mark.parametrize("role", ROLES)
def test_everyone_signed_in_reads_the_conversion_policy(role):
    body = _as(role).get(POLICY).json()

    assert body["close_window_min_days"] == 90 and body["close_window_max_days"] == 180
    assert body["approval_thresholds"]["USD"] == 100_000
    assert "product_line" in body["required_fields"]


def test_anonymous_clients_read_nothing():
    client = APIClient()

    assert client.get(STAGES).status_code in (401, 403)
    assert client.get(POLICY).status_code in (401, 403)


def test_an_unknown_stage_is_a_404_with_errors():
    client = _as("ae")

    for url in (f"{STAGES}999999/", f"{STAGES}abc/"):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["errors"]


@pytest.mark.parametrize("role", ["manager", "revops"])
def test_managers_and_revops_read_the_change_history(role):
    revops = UserFactory(revops=True)
    stage = _stage("Proposal")
    client_for(revops).patch(f"{STAGES}{stage.pk}/", {"rot_days": 25}, format="json")
    client_for(revops).patch(POLICY, {"stall_age_days": 40}, format="json")
    client = _as(role)

    stage_changes = client.get(f"{STAGES}{stage.pk}/changes/")
    policy_changes = client.get(f"{POLICY}changes/")

    assert stage_changes.status_code == 200
    assert stage_changes.json()[0]["old"] == {"rot_days": 21}
    assert stage_changes.json()[0]["new"] == {"rot_days": 25}
    assert stage_changes.json()[0]["actor"]["id"] == revops.pk
    assert policy_changes.json()[0]["new"] == {"stall_age_days": 40}


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_do_not_read_the_change_history(role):
    client = _as(role)

    assert client.get(f"{STAGES}{_stage('Proposal').pk}/changes/").status_code == 403
    assert client.get(f"{POLICY}changes/").status_code == 403


# --- writing: who -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_only_revops_writes(role):
    client = _as(role)
    stage = _stage("Proposal")

    created = client.post(
        STAGES, {"name": "Legal", "default_probability": 70, "position": 50}, format="json"
    )
    patched = client.patch(f"{STAGES}{stage.pk}/", {"default_probability": 5}, format="json")
    policy = client.patch(POLICY, {"stall_age_days": 10}, format="json")

    for response in (created, patched, policy):
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not Stage.objects.filter(name="Legal").exists()
    assert _stage("Proposal").default_probability == 60
    assert ConversionPolicy.current().stall_age_days == 45
    assert not PolicyChange.objects.exists()


def test_put_and_delete_are_not_offered():
    client = _as("revops")
    url = f"{STAGES}{_stage('Proposal').pk}/"

    assert client.put(url, {"name": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert client.put(POLICY, {}, format="json").status_code == 405


# --- writing: RevOps ----------------------------------------------------------------------


def test_revops_creates_a_stage_with_an_audit_row():
    revops = UserFactory(revops=True)

    response = client_for(revops).post(
        STAGES,
        {
            "name": "Legal review",
            "default_probability": 70,
            "position": 45,
            "rot_days": 10,
            "exit_required_fields": ["risks"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Legal review" and body["position"] == 45 and body["is_active"]
    assert body["deal_count"] == 0
    change = PolicyChange.objects.get()
    assert (change.model, change.object_id, change.actor) == ("stage", body["id"], revops)
    assert change.old == {} and change.new["exit_required_fields"] == ["risks"]


def test_a_stage_created_without_a_position_goes_last():
    last = Stage.objects.order_by("-position").first()

    body = (
        _as("revops")
        .post(
            STAGES, {"name": "Renewal", "default_probability": 100, "is_won": True}, format="json"
        )
        .json()
    )

    assert body["position"] == last.position + 1 and body["is_won"] is True


def test_a_stage_created_on_a_used_position_pushes_the_rest_down():
    won = _stage("Closed Won")

    body = (
        _as("revops")
        .post(
            STAGES,
            {"name": "Legal", "default_probability": 90, "position": won.position},
            format="json",
        )
        .json()
    )

    assert body["position"] == won.position
    assert _stage("Closed Won").position == won.position + 1
    names = [s["name"] for s in _as("sdr").get(STAGES).json()]
    assert names.index("Legal") == names.index("Closed Won") - 1


def test_revops_patches_a_stage_old_to_new():
    revops = UserFactory(revops=True)
    stage = _stage("Negotiation")

    response = client_for(revops).patch(
        f"{STAGES}{stage.pk}/",
        {"id": stage.pk, "default_probability": 85, "exit_required_fields": ["risks"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["default_probability"] == 85
    change = PolicyChange.objects.get()
    assert change.old == {"default_probability": 80, "exit_required_fields": []}
    assert change.new == {"default_probability": 85, "exit_required_fields": ["risks"]}


def test_revops_patches_the_policy_old_to_new():
    revops = UserFactory(revops=True)

    response = client_for(revops).patch(
        POLICY,
        {
            "close_window_max_days": 200,
            "approval_thresholds": {"USD": 150000, "JPY": 15000000},
            "approval_required": True,
            "required_fields": ["risks", "product_line"],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["approval_thresholds"] == {"JPY": 15000000, "USD": 150000}
    assert body["required_fields"] == ["product_line", "risks"]
    assert body["updated_by"]["id"] == revops.pk
    change = PolicyChange.objects.get()
    assert change.old["close_window_max_days"] == 180 and change.new["close_window_max_days"] == 200
    assert change.old["approval_required"] is False and change.new["approval_required"] is True
    assert change.new["approval_thresholds"] == {"JPY": 15000000, "USD": 150000}


def test_values_read_back_from_a_get_are_ignored_not_refused():
    stage = _stage("Proposal")
    client = _as("revops")
    body = client.get(f"{STAGES}{stage.pk}/").json()

    response = client.patch(f"{STAGES}{stage.pk}/", {**body, "deal_count": 7}, format="json")
    policy = client.get(POLICY).json()
    again = client.patch(POLICY, policy, format="json")

    assert response.status_code == 200 and again.status_code == 200
    assert not PolicyChange.objects.exists()


def test_an_unchanged_patch_writes_no_audit_row():
    response = _as("revops").patch(POLICY, {"stall_age_days": 45}, format="json")

    assert response.status_code == 200 and not PolicyChange.objects.exists()


# --- writing: every problem at once, never a 500 -----------------------------------------


def test_a_stage_body_gets_every_problem_at_once():
    response = _as("revops").post(
        STAGES,
        {
            "name": "Negotiation",
            "default_probability": 150,
            "position": "abc",
            "exit_required_fields": ["amount"],
            "is_won": True,
            "is_lost": True,
            "colour": "red",
        },
        format="json",
    )

    assert response.status_code == 400
    fields = {field for _code, field in _fields(response)}
    assert {
        "name",
        "default_probability",
        "position",
        "exit_required_fields.0",
        "is_lost",
        "colour",
    } <= fields
    assert ("unknown_field", "colour") in _fields(response)
    assert not PolicyChange.objects.exists()
    assert Stage.objects.filter(name="Negotiation").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default_probability": "NaN"}, "default_probability"),
        ({"default_probability": 1.5}, "default_probability"),
        ({"default_probability": None}, "default_probability"),
        ({"position": 99999999999}, "position"),
        ({"rot_days": "soon"}, "rot_days"),
        ({"rot_days": 0}, "rot_days"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"exit_required_fields": "risks"}, "exit_required_fields"),
        ({"name": ["a", "b"]}, "name"),
        ({"name": "TBD"}, "name"),
        ({"version": 3}, "version"),
    ],
)
def test_malformed_stage_values_are_400s_naming_the_field(body, field):
    stage = _stage("Proposal")

    response = _as("revops").patch(f"{STAGES}{stage.pk}/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in {f.split(".")[0] for _code, f in _fields(response) if f}
    assert not PolicyChange.objects.exists()


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "{bad json", '{"rot_days": NaN}'])
def test_a_body_that_is_not_an_object_is_a_400(body):
    client = _as("revops")

    for method, url in (("post", STAGES), ("patch", f"{STAGES}{_stage('Proposal').pk}/")):
        response = _raw(client, method, url, body)
        assert response.status_code == 400 and response.json()["errors"], (method, body)
    response = _raw(client, "patch", POLICY, body)
    assert response.status_code == 400 and response.json()["errors"]
    assert not PolicyChange.objects.exists()


def test_retiring_a_stage_with_deals_is_refused_with_a_reason():
    deal = OpportunityFactory()

    response = _as("revops").patch(f"{STAGES}{deal.stage_id}/", {"is_active": False}, format="json")

    assert response.status_code == 400
    assert ("stage_has_deals", "is_active") in _fields(response)
    assert Stage.objects.get(pk=deal.stage_id).is_active


def test_the_last_lost_stage_stays():
    response = _as("revops").patch(
        f"{STAGES}{_stage('Closed Lost').pk}/", {"is_lost": False}, format="json"
    )

    assert response.status_code == 400
    assert ("last_of_its_kind", "is_lost") in _fields(response)


def test_a_policy_body_gets_every_problem_at_once():
    response = _as("revops").patch(
        POLICY,
        {
            "close_window_min_days": 200,
            "close_window_max_days": 100,
            "approval_thresholds": {"ZZZ": 5, "USD": -1, "EUR": "1e20", "GBP": 1.5},
            "required_fields": ["amount"],
            "stall_age_days": 0,
            "bogus": 1,
        },
        format="json",
    )

    assert response.status_code == 400
    assert {
        ("out_of_order", "close_window_max_days"),
        ("invalid_currency", "approval_thresholds.ZZZ"),
        ("out_of_range", "approval_thresholds.USD"),
        ("out_of_range", "stall_age_days"),
        ("unknown_field", "bogus"),
    } <= _fields(response)
    assert {
        ("out_of_range", "approval_thresholds.EUR"),
        ("out_of_range", "approval_thresholds.GBP"),
    } <= _fields(response)
    assert "required_fields.0" in {field for _code, field in _fields(response)}
    assert ConversionPolicy.current().close_window_max_days == 180
    assert not PolicyChange.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"approval_thresholds": ["USD", 100]},
        {"approval_thresholds": {"USD": 10**13}},
        {"approval_thresholds": {"USD": None}},
        {"approval_required": "maybe"},
        {"close_window_max_days": 100000},
        {"required_fields": "risks"},
        {"updated_at": "2020-01-01T00:00:00Z", "stall_age_days": "x"},
    ],
)
def test_malformed_policy_values_are_400s(body):
    response = _as("revops").patch(POLICY, body, format="json")

    assert response.status_code == 400, response.content
    assert all(e["field"] for e in response.json()["errors"])
    assert not PolicyChange.objects.exists()


# --- the schema ---------------------------------------------------------------------------


def test_the_endpoints_are_documented(client):
    client.force_login(UserFactory(revops=True))

    schema = client.get("/api/schema/", {"format": "json"})

    paths = json.loads(schema.content)["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/stages/"])
    assert {"get", "patch"} <= set(paths["/api/v1/stages/{id}/"])
    assert {"get", "patch"} <= set(paths["/api/v1/conversion-policy/"])
    assert "get" in paths["/api/v1/conversion-policy/changes/"]
