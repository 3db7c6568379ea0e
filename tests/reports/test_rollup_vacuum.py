"""An incremental refresh that rewrote duration rows VACUUMs them (PostgreSQL).

The medians read `LeadDuration` and `StageStay` by index-only scans; every page a refresh
rewrote needs a heap fetch per row until VACUUM sets the visibility map again (at a
million leads, a 90-day median went from 110 ms to 260 ms after a rebuild of its days).
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from reports.rollups.refresh import refresh
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _vacuums(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("VACUUM")]


def test_incremental_refresh_vacuums_the_duration_rows_it_rewrote():
    if connection.vendor != "postgresql":
        pytest.skip("VACUUM and index-only scans are PostgreSQL's")
    now = timezone.now()
    refresh(now=now, full=True)
    # given a lead assigned and first contacted after the last refresh (a median's row)
    sdr = UserFactory(sdr=True)
    lead = LeadFactory(owner=sdr)
    Lead.objects.filter(pk=lead.pk).update(
        assigned_at=now, first_contacted_at=now + datetime.timedelta(minutes=5)
    )

    # when the beat's incremental refresh runs
    with CaptureQueriesContext(connection) as captured:
        report = refresh(now=now + datetime.timedelta(minutes=10))

    # then it rebuilt that day's durations and vacuumed both duration tables
    assert not report.full
    assert report.rows["durations"] >= 1
    assert _vacuums(captured) == ['VACUUM "reports_leadduration"', 'VACUUM "reports_stagestay"']


def test_a_refresh_with_nothing_rewritten_does_not_vacuum():
    if connection.vendor != "postgresql":
        pytest.skip("VACUUM and index-only scans are PostgreSQL's")
    now = timezone.now()
    refresh(now=now, full=True)
    with CaptureQueriesContext(connection) as captured:
        report = refresh(now=now + datetime.timedelta(minutes=1))
    assert not report.full
    assert report.rows["durations"] == 0
    assert _vacuums(captured) == []
