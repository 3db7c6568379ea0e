"""Intake keys (/api/v1/intake-keys/) and the webhook (/api/v1/intake/): RevOps makes a key
and sees its secret once (only a hash is kept), revokes it for good; marketing automation
posts one lead or a batch with the key and gets one result per row, in order; a key
creates leads and authenticates nothing else."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from capture.models import CaptureChange, IntakeKey
from capture.services.keys import intake_key_create
from leads.models import Lead, LeadEvent
from tests.capture.conftest import LEAD, client_for
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/intake-keys/"
INTAKE = "/api/v1/intake/"
ROW = LEAD | {"source": "inbound", "campaign": "HubSpot nurture"}


@pytest.fixture
def secret(revops) -> str:
    return intake_key_create(by=revops, name="HubSpot workflow").secret


def webhook(secret: str | None) -> APIClient:
    client = APIClient()
    if secret is not None:
        client.credentials(HTTP_X_INTAKE_KEY=secret)
    return client


# --- keys -------------------------------------------------------------------------------------


def test_revops_makes_a_key_and_sees_the_secret_once(revops):
    client = client_for(revops)

    made = client.post(KEYS, {"name": "HubSpot workflow"}, format="json")

    assert made.status_code == 201
    body = made.json()
    secret = body["secret"]
    assert secret.startswith(body["prefix"] + "_") and len(secret) > 40
    key = IntakeKey.objects.get()
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(IntakeKey.objects.values().get())  # only the hash is stored
    listed = client.get(KEYS).json()
    shown = client.get(f"{KEYS}{key.pk}/").json()
    assert "secret" not in listed[0] and "secret" not in shown
    assert listed[0]["prefix"] == body["prefix"] and listed[0]["is_active"] is True
    assert CaptureChange.objects.get().new == {"name": "HubSpot workflow", "prefix": key.prefix}


@pytest.mark.parametrize("role", ["sdr", "ae", "manager"])
def test_only_revops_handles_keys(as_role, role, secret):
    client = as_role(role)
    key = IntakeKey.objects.get()

    assert client.get(KEYS).status_code == 403
    assert client.post(KEYS, {"name": "Mine"}, format="json").status_code == 403
    assert client.post(f"{KEYS}{key.pk}/revoke/").status_code == 403
    assert IntakeKey.objects.get().revoked_at is None


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "TBD"}, {"name": "x" * 101}, []])
def test_a_key_needs_a_real_name(revops, body):
    response = client_for(revops).post(KEYS, body, format="json")

    assert response.status_code == 400
    assert not IntakeKey.objects.exists()


def test_a_revoked_key_stops_working_at_once(revops, secret):
    key = IntakeKey.objects.get()
    assert webhook(secret).post(INTAKE, ROW, format="json").status_code == 200

    revoked = client_for(revops).post(f"{KEYS}{key.pk}/revoke/")
    again = client_for(revops).post(f"{KEYS}{key.pk}/revoke/")

    assert revoked.status_code == 200 and revoked.json()["is_active"] is False
    assert revoked.json()["revoked_by"]["id"] == revops.pk
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    refused = webhook(secret).post(INTAKE, ROW | {"email": "new@acme.example"}, format="json")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "invalid_intake_key"
    assert Lead.objects.count() == 1
    assert CaptureChange.objects.filter(old__has_key="revoked_at").count() == 1


# --- the webhook ------------------------------------------------------------------------------


def test_one_lead_is_created_and_routed(secret):
    sdr = UserFactory(sdr=True, username="dewi")

    response = webhook(secret).post(INTAKE, ROW, format="json")

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert response.json() == {
        "results": [{"index": 0, "outcome": "created", "lead": lead.pk}],
        "created": 1,
        "deduplicated": 0,
        "failed": 0,
    }
    assert (lead.owner, lead.status, lead.campaign) == (sdr, "mql", "HubSpot nurture")
    assert LeadEvent.objects.get(lead=lead, kind="created").note == "webhook"
    assert IntakeKey.objects.get().last_used_at is not None


def test_the_same_email_twice_is_deduplicated_with_the_lead_id(secret):
    first = webhook(secret).post(INTAKE, ROW, format="json").json()
    second = webhook(secret).post(INTAKE, ROW | {"campaign": "Retarget"}, format="json").json()

    lead = Lead.objects.get()
    assert first["results"][0] == {"index": 0, "outcome": "created", "lead": lead.pk}
    assert second["results"][0] == {"index": 0, "outcome": "deduplicated", "lead": lead.pk}
    touch = LeadEvent.objects.get(lead=lead, kind="touch")
    assert touch.changes["channel"] == [None, "webhook"]
    assert touch.changes["form"] == [None, "HubSpot workflow"]
    assert touch.changes["campaign"] == ["HubSpot nurture", "Retarget"]


def test_a_batch_of_mixed_rows_is_answered_row_by_row_in_order(secret):
    existing = LeadFactory(email="known@acme.example")
    rows = [
        ROW,
        {"first_name": "No", "source": "inbound"},  # no company, last name, contact
        ROW | {"email": "known@acme.example"},
        "not an object",
        ROW | {"email": "b@acme.example", "score": 101, "colour": "red"},
        ROW | {"email": "c@acme.example", "country": "id"},
        ROW,  # the first row's person again, in the same batch
    ]

    response = webhook(secret).post(INTAKE, {"leads": rows}, format="json")

    assert response.status_code == 207
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    created = Lead.objects.get(email="ana@acme.example")
    assert results[0] == {"index": 0, "outcome": "created", "lead": created.pk}
    assert {(e["code"], e["field"]) for e in results[1]["errors"]} == {
        ("required", "company_name"),
        ("required", "last_name"),
        ("contact_unreachable", "email"),
    }
    assert results[2] == {"index": 2, "outcome": "deduplicated", "lead": existing.pk}
    assert results[3]["errors"][0]["code"] == "invalid"
    assert {(e["code"], e["field"]) for e in results[4]["errors"]} >= {
        ("unknown_field", "colour"),
    }
    assert results[5]["outcome"] == "created"
    assert Lead.objects.get(pk=results[5]["lead"]).country == "ID"
    assert results[6] == {"index": 6, "outcome": "deduplicated", "lead": created.pk}
    assert (body["created"], body["deduplicated"], body["failed"]) == (2, 2, 3)
    assert Lead.objects.count() == 3


def test_a_batch_over_500_rows_is_refused_naming_the_field(secret):
    rows = [ROW | {"email": f"p{i}@acme.example"} for i in range(501)]

    response = webhook(secret).post(INTAKE, {"leads": rows}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "leads"
    assert response.json()["errors"][0]["code"] == "too_many"
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"leads": []}, "leads"),
        ({"leads": "many"}, "leads"),
        ({"leads": [ROW], "source": "inbound"}, "source"),
        ([ROW], None),
        ("lead", None),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(secret, body, field):
    response = webhook(secret).post(INTAKE, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_form_encoded_body_is_415(secret):
    assert webhook(secret).post(INTAKE, ROW).status_code == 415


def test_no_key_or_a_wrong_key_is_401_in_json(secret):
    missing = webhook(None).post(INTAKE, ROW, format="json")
    wrong = webhook(secret[:-2] + "xx").post(INTAKE, ROW, format="json")
    garbage = webhook("nonsense").post(INTAKE, ROW, format="json")

    for response in (missing, wrong, garbage):
        assert response.status_code == 401
        assert response.json()["errors"]
        assert response["WWW-Authenticate"] == "X-Intake-Key"
    assert not Lead.objects.exists()
    # a tool sent no key at all: the answer names the header to send
    (error,) = missing.json()["errors"]
    assert error["code"] == "missing_intake_key"
    assert "X-Intake-Key" in error["message"]


def test_a_user_token_is_not_an_intake_key(revops):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=revops).key}")

    assert client.post(INTAKE, ROW, format="json").status_code == 401
    assert not Lead.objects.exists()


def test_a_key_authenticates_nothing_else(secret, web_form):
    client = webhook(secret)

    for path in ("/api/v1/leads/", KEYS, "/api/v1/forms/", "/api/v1/routing-rules/"):
        assert client.get(path).status_code == 401, path
    assert client.post("/api/v1/leads/", ROW, format="json").status_code == 401
    assert client.get(INTAKE).status_code == 405
    assert client.get("/leads/").status_code == 302  # the browser: off to sign in


def test_the_webhook_is_rate_limited_per_key(secret, revops, settings):
    settings.CAPTURE_RATE_INTAKE_KEY = "2/min"
    other = intake_key_create(by=revops, name="Marketo").secret

    codes = [
        webhook(secret).post(INTAKE, ROW | {"email": f"{i}@acme.example"}, format="json")
        for i in range(3)
    ]

    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[2]["Retry-After"].isdigit()
    assert codes[2].json()["errors"][0]["code"] == "throttled"
    assert webhook(other).post(INTAKE, ROW, format="json").status_code == 200
