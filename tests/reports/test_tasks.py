"""The weekly lead-quality e-mail to marketing, and what beat runs to send it."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.cache import cache

from crm.celery import app
from leads.models import Lead, RejectionReason
from reports.tasks import send_weekly_lead_feedback
from tests.reports.conftest import lead

pytestmark = pytest.mark.django_db

# Monday 13 April 2026, 07:00 UTC: the e-mail covers Monday 6 to Sunday 12 April.
MONDAY = datetime.datetime(2026, 4, 13, 7, 0, tzinfo=datetime.UTC)


def in_week(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 4, day, hour, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def test_beat_sends_last_weeks_feedback_on_monday_morning(settings, time_machine):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-lead-feedback"]
    lead(in_week(8), source="referral")
    lead(datetime.datetime(2026, 4, 13, 6, tzinfo=datetime.UTC), source="referral")  # this week

    # given beat last ran in the middle of the week, it next fires on Monday 07:00 UTC
    last_run, until_next, _now = entry["schedule"].remaining_delta(in_week(8))
    assert last_run + until_next == MONDAY

    # when it fires, the worker runs whatever is registered under the name beat sends
    time_machine.move_to(MONDAY, tick=False)
    app.tasks[entry["task"]].delay().get()

    # then marketing gets the week that just ended (Monday to Sunday), and only it
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marketing@example.com"]
    assert "6 Apr" in message.subject and "12 Apr 2026" in message.subject
    assert "New leads: 1" in message.body


def test_summary_by_source_sent_once_to_marketing(settings):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    reason = RejectionReason.objects.create(code="no-budget", label="No budget")
    lead(in_week(6), source="inbound", accepted_at=in_week(7), score=80)
    lead(in_week(6), source="inbound", score=40)
    rejected = lead(in_week(6), source="event")
    Lead.objects.filter(pk=rejected.pk).update(
        status="rejected", rejected_at=in_week(8), rejection_reason=reason
    )
    lead(in_week(13), source="inbound")  # this week: next e-mail
    lead(datetime.datetime(2026, 4, 5, 23, tzinfo=datetime.UTC), source="inbound")  # last week

    assert send_weekly_lead_feedback(now=MONDAY) is True
    assert send_weekly_lead_feedback(now=MONDAY) is False  # a redelivered task
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marketing@example.com"]
    assert "6 Apr" in message.subject and "12 Apr 2026" in message.subject
    assert "Inbound" in message.body and "Event / webinar" in message.body
    assert "New leads: 2" in message.body
    assert "Event / webinar — No budget: 1" in message.body
    html = message.alternatives[0][0]
    assert "/reports/drill/leads/?" in html and "Acceptance rate" in html


def test_feedback_page_defaults_to_last_week(client, revops):
    client.force_login(revops)
    response = client.get("/reports/feedback/")
    assert response.status_code == 200
    assert b"Why sales rejected leads" in response.content


def test_nothing_sent_without_an_address(settings):
    settings.THRESHOLD_MARKETING_EMAIL = ""
    assert send_weekly_lead_feedback(now=MONDAY) is False
    assert mail.outbox == []
