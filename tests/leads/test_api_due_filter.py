"""GET /api/v1/leads/?due= and its export: the queue's SLA filter in the API, with "today"
in the token user's time zone (no middleware activates it for a token request)."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import LeadFactory, UserFactory, running_timer

pytestmark = pytest.mark.django_db

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


@pytest.fixture
def world(db):
    sdr = UserFactory(sdr=True, time_zone="Asia/Jakarta")
    now = timezone.now()
    local = now.astimezone(JAKARTA)
    end_of_day = local.replace(hour=23, minute=59, second=0, microsecond=0)
    running_timer(
        LeadFactory(owner=sdr, company_name="Overdue Co"), now - datetime.timedelta(minutes=5)
    )
    running_timer(
        LeadFactory(owner=sdr, company_name="Next Week Co"), now + datetime.timedelta(days=7)
    )
    later_today = end_of_day - now > datetime.timedelta(minutes=2)
    if later_today:
        running_timer(LeadFactory(owner=sdr, company_name="Today Co"), end_of_day)
    LeadFactory(owner=sdr, company_name="No Clock Co")
    client = APIClient()
    client.force_authenticate(sdr)
    return client, later_today


def _companies(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["company_name"] for row in response.json()["results"])


def test_the_api_lists_overdue_leads_and_those_due_today_in_the_users_zone(world):
    client, later_today = world
    assert _companies(client.get("/api/v1/leads/", {"due": "overdue"})) == ["Overdue Co"]
    today = _companies(client.get("/api/v1/leads/", {"due": "today"}))
    assert "Next Week Co" not in today and "No Clock Co" not in today
    assert ("Today Co" in today) == later_today


def test_the_export_takes_the_same_filter(world):
    client, _later_today = world
    response = client.get("/api/v1/leads/export/", {"due": "overdue"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    assert [row["Company"] for row in csv.DictReader(io.StringIO(text))] == ["Overdue Co"]


def test_a_bad_due_value_is_a_400_naming_it(world):
    client, _later_today = world
    response = client.get("/api/v1/leads/", {"due": "soon"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "due"
