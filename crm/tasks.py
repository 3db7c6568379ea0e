"""Housekeeping tasks for the whole product."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.heartbeat_task")
def heartbeat_task() -> str:
    """Proves beat and a worker are alive: `/health/` reports when it last ran."""
    now = timezone.now().isoformat()
    cache.set("threshold:worker-heartbeat", now, timeout=None)
    logger.info("heartbeat %s", now)
    return now


@shared_task(
    name="crm.tasks.send_notification_email_task",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email_task(*, to: str, subject: str, body: str, url: str = "") -> None:
    """E-mail a notification; queued after commit, retried when the mail server is down."""
    from django.conf import settings
    from django.core.mail import send_mail

    link = f"\n\n{settings.THRESHOLD_BASE_URL.rstrip('/')}{url}" if url else ""
    send_mail(subject, body + link, None, [to])


@shared_task(name="crm.tasks.purge_idempotency_keys_task")
def purge_idempotency_keys_task() -> int:
    """Forget Idempotency-Keys older than 48 hours (promised: at least 24)."""
    from crm.idempotency import purge_expired

    return purge_expired()
