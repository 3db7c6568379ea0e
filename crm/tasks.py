"""Housekeeping tasks for the whole product, the outbox's relay, and its e-mail handler."""

import logging

from celery import shared_task
from django.utils import timezone

from crm.health import heartbeat_record
from crm.preferences import wants_email

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.heartbeat_task")
def heartbeat_task() -> str:
    """Proves beat and a worker are alive: `/health/` reports how long ago it last ran."""
    now = timezone.now()
    heartbeat_record(at=now)
    logger.info("heartbeat %s", now.isoformat())
    return now.isoformat()


# --- the outbox ---------------------------------------------------------------------------


@shared_task(name="crm.tasks.outbox_relay_task")
def outbox_relay_task(*, keys: list[str]) -> dict[str, int]:
    """Deliver the outbox rows a transaction just committed (queued after its commit)."""
    from crm.outbox.relay import outbox_deliver

    return outbox_deliver(keys).as_dict()


@shared_task(name="crm.tasks.outbox_sweep_task")
def outbox_sweep_task() -> dict[str, int]:
    """Beat runs this every 15 s (CELERY_BEAT_SCHEDULE["outbox-sweep"]): every outbox row
    that is due, whether its hand-off was lost or its retry's backoff has passed."""
    from crm.outbox.relay import outbox_sweep

    return outbox_sweep(now=timezone.now()).as_dict()


@shared_task(name="crm.tasks.outbox_purge_task")
def outbox_purge_task() -> int:
    """Forget outbox rows delivered more than a week ago."""
    from crm.outbox.relay import outbox_purge

    return outbox_purge()


@shared_task(name="crm.tasks.notification_email_task")
def notification_email_task(*, notification_id: int) -> bool:
    """The outbox's handler for a notification's e-mail: to its recipient, if they are
    still active and have an address (checked when it is sent, not when it was written).
    False when there was nobody to send it to."""
    from django.conf import settings

    from crm.models import Notification
    from crm.outbox.mail import send_mail  # names the delivery key: sent twice, seen once

    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None:
        return False
    person = notification.recipient
    if not (person.is_active and person.email):
        return False
    if not wants_email(person.notification_preferences, notification.kind):
        return False  # turned off since the notification was written
    url = notification.url
    link = f"\n\n{settings.THRESHOLD_BASE_URL.rstrip('/')}{url}" if url else ""
    send_mail(notification.message[:120], notification.message + link, None, [person.email])
    return True


@shared_task(name="crm.tasks.notification_message_email_task")
def notification_message_email_task(
    *, recipient_id: int, kind: str, message: str, url: str = ""
) -> bool:
    """The outbox's handler for the e-mail of a notification that has no bell row (its
    recipient takes that kind by e-mail only). Checked when sent, as above."""
    from django.conf import settings

    from crm.models import User
    from crm.outbox.mail import send_mail  # names the delivery key: sent twice, seen once

    person = User.objects.filter(pk=recipient_id).first()
    if person is None or not (person.is_active and person.email):
        return False
    if not wants_email(person.notification_preferences, kind):
        return False
    link = f"\n\n{settings.THRESHOLD_BASE_URL.rstrip('/')}{url}" if url else ""
    send_mail(message[:120], message + link, None, [person.email])
    return True


@shared_task(
    name="crm.tasks.send_notification_email_task",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email_task(*, to: str, subject: str, body: str, url: str = "") -> None:
    """Before the outbox, `notify` queued this after the commit. Kept so messages still
    in the broker under this name are delivered; nothing queues it any more."""
    from django.conf import settings
    from django.core.mail import send_mail

    link = f"\n\n{settings.THRESHOLD_BASE_URL.rstrip('/')}{url}" if url else ""
    send_mail(subject, body + link, None, [to])


@shared_task(name="crm.tasks.purge_idempotency_keys_task")
def purge_idempotency_keys_task() -> int:
    """Forget Idempotency-Keys older than 48 hours (promised: at least 24)."""
    from crm.idempotency import purge_expired

    return purge_expired()
