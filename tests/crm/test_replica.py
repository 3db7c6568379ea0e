"""Reports read from the replica; sessions, writes and just-written users stay on the primary.

The replica here is a second PostgreSQL database with the same schema and no rows, so a
report answered from it counts nothing while the primary holds leads: the difference
shows which database answered.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.db import router as db_router
from django.test import override_settings
from rest_framework.test import APIClient

from crm import replica
from crm.replica import REPLICA, ReplicaRouter, replica_reads
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.django_db(databases=["default", "replica"]),
    pytest.mark.skipif(
        "replica" not in connections.databases, reason="the replica needs PostgreSQL"
    ),
]


@pytest.fixture(autouse=True)
def _fresh_lag_check():
    replica._lag_seen.clear()
    yield
    replica._lag_seen.clear()


def _leads_counted(client: APIClient) -> int:
    response = client.get("/api/v1/reports/conversion-by-source/")
    assert response.status_code == 200, response.content
    return response.json()["overall"]["leads"]


@pytest.fixture
def revops_client(revops) -> APIClient:
    client = APIClient()
    client.force_authenticate(revops)
    return client


@override_settings(REPLICA_READS=True)
def test_only_report_models_read_from_the_replica_inside_the_block():
    router = ReplicaRouter()
    from crm.models import User

    assert router.db_for_read(Lead) is None
    with replica_reads():
        assert router.db_for_read(Lead) == REPLICA
        assert router.db_for_read(User) is None
    assert db_router.db_for_write(Lead) == "default"


def test_without_a_replica_reports_read_the_primary(revops_client):
    LeadFactory.create_batch(3)

    assert _leads_counted(revops_client) == 3


@override_settings(REPLICA_READS=True)
def test_reports_read_the_replica(revops_client):
    LeadFactory.create_batch(3)

    assert _leads_counted(revops_client) == 0  # the replica has not seen them
    assert Lead.objects.using(REPLICA).count() == 0
    assert revops_client.get("/api/v1/leads/").json()["results"]  # lists: the primary


@override_settings(REPLICA_READS=True, REPLICA_LAG_TOLERANCE=30)
def test_a_user_who_just_wrote_reads_the_primary(revops_client):
    LeadFactory.create_batch(2)
    new = {"company_name": "Acme", "last_name": "Tan", "email": "t@acme.example"}

    response = revops_client.post("/api/v1/leads/", {**new, "source": "referral"}, format="json")

    assert response.status_code == 201, response.content
    assert _leads_counted(revops_client) == 3


@override_settings(REPLICA_READS=True, REPLICA_LAG_TOLERANCE=5)
def test_a_lagging_replica_is_skipped(revops_client, monkeypatch):
    LeadFactory.create_batch(3)
    monkeypatch.setattr(replica, "replica_lag", lambda: 60.0)

    assert _leads_counted(revops_client) == 3


@override_settings(REPLICA_READS=True)
def test_an_unreachable_replica_is_skipped(revops_client, monkeypatch):
    LeadFactory.create_batch(3)
    monkeypatch.setattr(replica, "replica_lag", lambda: None)

    assert _leads_counted(revops_client) == 3


def test_lag_of_a_database_not_in_recovery_is_zero():
    assert replica.replica_lag() == 0.0
