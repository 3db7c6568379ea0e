"""A reservation left by a request that died is taken over by its retry; a running one is not.

Found by the fault suite (`make faults`, PostgreSQL restarted under conversions): a
conversion cut off by the restart could not give its Idempotency-Key back (the database
was gone), and its retry answered 409 "still running" for five minutes. The request holds
its reservation's row lock while it runs, so a reservation nobody holds is abandoned.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from crm.idempotency import LOCK_GRACE, _fingerprint
from crm.models import IdempotencyRecord
from opportunities.models import Opportunity
from tests.factories import ConvertibleLeadFactory
from tests.opportunities.test_conversion import wizard_input

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _reservation(lead, body, *, age: datetime.timedelta) -> IdempotencyRecord:
    scope = f"lead-convert:{lead.pk}"
    record = IdempotencyRecord.objects.create(
        user=lead.ae, key="cut-off", scope=scope, request_hash=_fingerprint(scope, body)
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def _convert(lead, body):
    client = APIClient()
    client.force_authenticate(lead.ae)
    return client.post(
        f"/api/v1/leads/{lead.pk}/convert/", body, format="json", HTTP_IDEMPOTENCY_KEY="cut-off"
    )


def test_a_reservation_nobody_holds_is_taken_over_by_the_retry():
    lead = ConvertibleLeadFactory()
    body = wizard_input(lead)
    _reservation(lead, body, age=LOCK_GRACE + datetime.timedelta(seconds=1))

    response = _convert(lead, body)

    assert response.status_code == 201, response.json()
    assert Opportunity.objects.filter(lead=lead).count() == 1


def test_a_fresh_reservation_is_still_running():
    lead = ConvertibleLeadFactory()
    body = wizard_input(lead)
    _reservation(lead, body, age=datetime.timedelta(0))

    response = _convert(lead, body)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_in_progress"


def test_a_reservation_its_request_holds_is_still_running_however_old():
    lead = ConvertibleLeadFactory()
    body = wizard_input(lead)
    record = _reservation(lead, body, age=datetime.timedelta(minutes=10))
    locked, release = threading.Event(), threading.Event()

    def first_request_still_at_work() -> None:
        with transaction.atomic():
            IdempotencyRecord.objects.select_for_update().filter(pk=record.pk).exists()
            locked.set()
            release.wait(timeout=30)
        connection.close()

    holder = threading.Thread(target=first_request_still_at_work)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        response = _convert(lead, body)
    finally:
        release.set()
        holder.join(timeout=30)

    assert response.status_code == 409
    assert not Opportunity.objects.filter(lead=lead).exists()
