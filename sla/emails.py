"""The SLA e-mail task from before the outbox, kept only to drain messages still queued.

The sweep no longer queues it: each sweep notification's e-mail is an outbox row written
in the sweep's transaction (`crm.services.notifications_email`) and sent once per
notification by the outbox relay (`crm.tasks.notification_email_task`). This task keeps
its registered name so messages queued under it before the upgrade are still delivered;
`sla.tasks` imports it so the worker registers it. Remove it one release later.
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
