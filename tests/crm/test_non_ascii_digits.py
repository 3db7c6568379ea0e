"""`str.isdigit()` says yes to "¹" and "٣", which `int()` refuses: every place that reads a
number from a client checks for ASCII first, so such input is a 400 naming the field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("tag", ['"¹"', 'W/"٣"', '"99999999999999999999999"'])
def test_if_match_with_foreign_digits_is_a_400(sdr, tag):
    lead = LeadFactory(owner=sdr)

    response = _client(sdr).patch(
        f"/api/v1/leads/{lead.pk}/", {"score": 5}, format="json", HTTP_IF_MATCH=tag
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "If-Match"


def test_score_in_superscript_digits_is_out_of_range(sdr):
    data = {"company_name": "Acme", "last_name": "Tan", "email": "t@acme.example"}

    response = _client(sdr).post(
        "/api/v1/leads/", {**data, "source": "referral", "score": "¹"}, format="json"
    )

    assert response.status_code == 400
    assert "score" in {e["field"] for e in response.json()["errors"]}
