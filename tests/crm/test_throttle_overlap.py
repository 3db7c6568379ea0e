"""A lean read's throttle count overlaps its database read (`crm.rate_limits.take_later`)
while the caller is well under its limit; near it the count comes first, so a client
past its limit costs no read. The answers are DRF's either way: 429 with Retry-After,
and a refusal wins over the read's own 404."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.views import APIView

from crm import rate_limits
from crm.api.throttling import AnonWindowThrottle, UserWindowThrottle
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

NOON = 1_800_000_020.0  # 20 s into its minute


@pytest.fixture(autouse=True)
def five_a_minute(monkeypatch):
    monkeypatch.setattr("crm.rate_limits.time.time", lambda: NOON)
    monkeypatch.setattr(rate_limits, "_seen", {})
    monkeypatch.setattr(APIView, "throttle_classes", [AnonWindowThrottle, UserWindowThrottle])
    rates = {**UserWindowThrottle.THROTTLE_RATES, "user": "5/min", "anon": "2/min"}
    monkeypatch.setattr(UserWindowThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(AnonWindowThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_lean_reads_are_counted_and_refused_as_before():
    user = UserFactory(sdr=True)
    lead = LeadFactory(owner=user)
    client = _client(user)

    statuses = [client.get(f"/api/v1/leads/{lead.pk}/").status_code for _ in range(3)]
    statuses += [client.get("/api/v1/leads/").status_code for _ in range(3)]
    refused = client.get(f"/api/v1/leads/{lead.pk}/")

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused.json()["errors"][0]["code"] == "throttled"
    assert cache.get(f"rate:throttle:throttle_user_{user.pk}:{int(NOON // 60)}") == 7


def test_a_refusal_wins_over_the_reads_own_errors():
    user = UserFactory(sdr=True)
    client = _client(user)
    for _ in range(5):
        assert client.get("/api/v1/opportunities/987654/").status_code == 404

    assert client.get("/api/v1/opportunities/987654/").status_code == 429
    assert client.get("/api/v1/leads/?ordering=no-such-column").status_code == 429


def test_near_its_limit_a_caller_is_counted_before_any_read():
    user = UserFactory(sdr=True)
    lead = LeadFactory(owner=user)
    client = _client(user)
    for _ in range(5):
        client.get(f"/api/v1/leads/{lead.pk}/")

    with CaptureQueriesContext(connection) as captured:
        refused = client.get(f"/api/v1/leads/{lead.pk}/")

    assert refused.status_code == 429
    assert captured.captured_queries == []


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the overlap is Redis's round trip"
)
def test_far_from_its_limit_a_callers_count_is_read_after_the_database(monkeypatch):
    order: list[str] = []
    take_later = rate_limits.take_later

    def traced(*args, **kwargs):
        finish = take_later(*args, **kwargs)
        order.append("counted")

        def answer():
            order.append("answered")
            return finish()

        return answer

    monkeypatch.setattr("crm.api.throttling.take_later", traced)
    user = UserFactory(sdr=True)
    lead = LeadFactory(owner=user)
    client = _client(user)

    with CaptureQueriesContext(connection) as captured:
        original = connection.ops.last_executed_query

        def noted(*args, **kwargs):
            order.append("read")
            return original(*args, **kwargs)

        monkeypatch.setattr(connection.ops, "last_executed_query", noted)
        assert client.get(f"/api/v1/leads/{lead.pk}/").status_code == 200

    assert len(captured.captured_queries) == 1
    assert order == ["counted", "read", "answered"]
