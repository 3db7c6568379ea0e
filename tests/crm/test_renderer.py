"""The orjson renderer writes what DRF's JSONRenderer writes, byte for byte: the API's
contract does not change with its speed."""

from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from crm.api.renderers import OrjsonRenderer
from tests.factories import LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(revops) -> APIClient:
    api = APIClient()
    api.force_authenticate(revops)
    return api


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leads/",
        "/api/v1/leads/{lead}/",
        "/api/v1/opportunities/",
        "/api/v1/opportunities/{deal}/",
        "/api/v1/stages/",
        "/api/v1/leads/999999/",  # an error body
    ],
)
def test_the_bytes_match_drfs_renderer(client, path):
    lead = LeadFactory(company_name="Kopi Kenangan \u2028 Ltd", last_name="Siti Nurhaliza ✓")
    deal = OpportunityFactory(name="Ünïcode deal \u2029", amount="1234567.89", currency="IDR")

    response = client.get(path.format(lead=lead.pk, deal=deal.pk))

    assert response.content == JSONRenderer().render(
        response.data, "application/json", response.renderer_context
    )
    assert isinstance(response.accepted_renderer, OrjsonRenderer)


def test_indentation_asked_for_is_drfs(client):
    LeadFactory()

    response = client.get("/api/v1/leads/", HTTP_ACCEPT="application/json; indent=2")

    assert response.content.startswith(b"{\n  ")
