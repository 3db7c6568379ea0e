"""The API's per-user and per-address throttles: fixed-window counters (`crm.rate_limits`)
in place of DRF's pickled sliding history, with the same rates, 429 and `Retry-After`."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.views import APIView

from crm.api.throttling import AnonWindowThrottle, UserWindowThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOON = 1_800_000_020.0  # a fixed clock, 20 s into its minute: no window boundary mid-test


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("crm.rate_limits.time.time", lambda: NOON)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def three_a_minute(monkeypatch):
    # The test settings switch throttling off; production's classes (crm/settings.py) here.
    monkeypatch.setattr(APIView, "throttle_classes", [AnonWindowThrottle, UserWindowThrottle])
    rates = {**UserWindowThrottle.THROTTLE_RATES, "user": "3/min", "anon": "2/min"}
    monkeypatch.setattr(UserWindowThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(AnonWindowThrottle, "THROTTLE_RATES", rates)


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_user_past_the_rate_gets_429_with_retry_after_until_the_window_ends(three_a_minute):
    client = _client(UserFactory(sdr=True))

    statuses = [client.get("/api/v1/leads/").status_code for _ in range(4)]
    refused = client.get("/api/v1/leads/")

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "throttled"
    assert refused["Retry-After"] == "40"  # 20 s into the minute


def test_each_user_has_a_budget_of_their_own(three_a_minute):
    first, second = _client(UserFactory(sdr=True)), _client(UserFactory(sdr=True))
    for _ in range(3):
        first.get("/api/v1/leads/")

    assert first.get("/api/v1/leads/").status_code == 429
    assert second.get("/api/v1/leads/").status_code == 200


def test_the_next_window_admits_again(three_a_minute, monkeypatch):
    client = _client(UserFactory(sdr=True))
    for _ in range(4):
        client.get("/api/v1/leads/")

    monkeypatch.setattr("crm.rate_limits.time.time", lambda: NOON + 40)

    assert client.get("/api/v1/leads/").status_code == 200


def test_the_count_is_one_small_integer_per_caller_and_window(three_a_minute):
    user = UserFactory(sdr=True)
    client = _client(user)
    client.get("/api/v1/leads/")
    client.get("/api/v1/leads/")

    window = int(NOON // 60)
    assert cache.get(f"rate:throttle:throttle_user_{user.pk}:{window}") == 2
