"""Scheduled report work: the weekly lead-quality e-mail to marketing, and keeping the
dashboard's rollups fresh."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from reports.cohorts import system_reader
from reports.feedback import feedback_by_source, last_week_request
from reports.rollups.refresh import refresh


def send_weekly_lead_feedback(*, now: datetime.datetime) -> bool:
    """Send last week's (Monday-Sunday, UTC) feedback by source to marketing, once per
    week: a redelivered task finds the week marked and does nothing. True if sent."""
    to = settings.THRESHOLD_MARKETING_EMAIL
    if not to:
        return False
    r = last_week_request(system_reader(), datetime.UTC, now=now)
    key = f"reports:weekly-feedback:{r.filters.start.isoformat()}"
    if not cache.add(key, "sending", timeout=60 * 60 * 24 * 8):
        return False
    try:
        with translation.override(settings.LANGUAGE_CODE), timezone.override(datetime.UTC):
            summary = feedback_by_source(r)
            context = {
                "summary": summary,
                "rows": summary.table.display_rows(),
                "columns": summary.table.columns,
                "base_url": settings.THRESHOLD_BASE_URL.rstrip("/"),
            }
            subject = render_to_string("reports/email/feedback_subject.txt", context).strip()
            text = render_to_string("reports/email/feedback.txt", context)
            html = render_to_string("reports/email/feedback.html", context)
        message = EmailMultiAlternatives(subject, text, None, [to])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        cache.delete(key)  # let the retry send it
        raise
    return True


@shared_task(
    name="reports.tasks.weekly_lead_feedback_task", autoretry_for=(OSError,), retry_backoff=True
)
def weekly_lead_feedback_task() -> None:
    send_weekly_lead_feedback(now=timezone.now())


@shared_task(name="reports.tasks.refresh_rollups_task", ignore_result=True)
def refresh_rollups_task(*, full: bool = False) -> None:
    """Bring the dashboard's daily rollups up to date (incremental; `full` rebuilds)."""
    refresh(full=full)
