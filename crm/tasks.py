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
