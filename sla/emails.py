"""E-mail for the sweep's bell notifications, sent by a Celery task after the commit.

It lives apart from `sla.tasks` (the thin wrapper that runs the sweep) because the sweep
itself queues it: the sweep imports this module, `sla.tasks` imports the sweep, and no
module imports one that imports it back. The task keeps its registered name, so messages
already queued under it are still delivered.

A redelivered task may send a message twice; the bell rows are exactly-once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from crm.models import Notification

logger = logging.getLogger(__name__)


@shared_task(
    name="sla.tasks.sla_notification_emails_task",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def sla_notification_emails_task(*, notification_ids: list[int]) -> int:
    """E-mail SLA notifications to their recipients over one mail connection."""
    base = settings.THRESHOLD_BASE_URL.rstrip("/")
    messages = []
    for notification in (
        Notification.objects.filter(pk__in=notification_ids)
        .select_related("recipient")
        .order_by("pk")
    ):
        person = notification.recipient
        if not (person.is_active and person.email):
            continue
        link = f"\n\n{base}{notification.url}" if notification.url else ""
        messages.append(
            EmailMessage(
                subject=notification.message[:120],
                body=notification.message + link,
                to=[person.email],
            )
        )
    if not messages:
        return 0
    with get_connection() as mail:
        sent = mail.send_messages(messages) or 0
    logger.info("SLA e-mails sent: %s of %s", sent, len(messages))
    return sent
