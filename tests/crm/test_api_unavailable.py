"""The database gone under an API request is a JSON 503 to retry, not a 500.

Found by the fault suite (`make faults`, PostgreSQL restarted under a burst of writes):
requests caught by the restart answered 500 "server_error", which tells a client the
request itself is at fault. Nothing of such a request was committed, so the answer is
503 with Retry-After, and a conversion retried with its Idempotency-Key runs again.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from rest_framework.test import APIClient

from opportunities.models import Opportunity
from tests.factories import ConvertibleLeadFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = pytest.mark.django_db

CUT_OFF = OperationalError("consuming input failed: server closed the connection unexpectedly")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("error", [CUT_OFF, InterfaceError("connection already closed")])
def test_a_database_gone_mid_request_is_a_json_503_with_retry_after(sdr, error):
    with mock.patch("leads.api.views.LeadViewSet.lean_queryset", side_effect=error):
        response = client_for(sdr).get("/api/v1/leads/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "5"
    assert response.json()["errors"][0]["code"] == "unavailable"


def test_a_conversion_cut_off_by_the_database_runs_again_when_retried_with_its_key():
    lead = ConvertibleLeadFactory()
    client = client_for(lead.ae)
    body = wizard_input(lead)
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-after-outage"}
    with mock.patch("opportunities.services.lead_convert", side_effect=CUT_OFF):
        cut = client.post(f"/api/v1/leads/{lead.pk}/convert/", body, format="json", **key)
    assert cut.status_code == 503 and cut.json()["errors"][0]["code"] == "unavailable"
    assert not Opportunity.objects.filter(lead=lead).exists()

    retried = client.post(f"/api/v1/leads/{lead.pk}/convert/", body, format="json", **key)
    assert retried.status_code == 201, retried.json()
    assert Opportunity.objects.filter(lead=lead).count() == 1
