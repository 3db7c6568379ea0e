"""A company web domain is stored as a domain whichever way a lead comes in: the API, a
form, the webhook and an import all keep "acme.example" for "https://www.Acme.example/…"
(an import already did; the others stored what was typed)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Lead

pytestmark = pytest.mark.django_db

ROW = {
    "company_name": "Dom Walk",
    "first_name": "Ayu",
    "last_name": "Lestari",
    "email": "ayu@domwalk.example",
    "source": "inbound",
}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://www.Dom-Walk.example/about?x=1", "dom-walk.example"),
        ("dom-walk.example", "dom-walk.example"),
        ("n/a", "n/a"),  # names no host: kept as written, not emptied
    ],
)
def test_the_api_stores_the_web_domain_as_a_domain(revops, typed, stored):
    client = APIClient()
    client.force_authenticate(revops)
    response = client.post("/api/v1/leads/", {**ROW, "company_domain": typed}, format="json")
    assert response.status_code == 201, response.content
    assert Lead.objects.get(pk=response.json()["id"]).company_domain == stored
