"""Plumbing pages of the shell: the health endpoint. (My work lives in `workspace`.)"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from crm.health import health_report

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and on-call: 200 when every dependency answers, else 503 naming
    what is down (database, cache, broker, worker heartbeat, outbox). Always JSON."""
    try:
        report = health_report()
    except Exception:  # noqa: BLE001 - the probe itself must never become an HTML 500
        logger.exception("The health check itself failed")
        body = {"status": "degraded", "failing": ["health"], "time": timezone.now().isoformat()}
        return JsonResponse(body, status=503)
    response = JsonResponse(report.as_json(), status=200 if report.ok else 503)
    # crm.health logs when a dependency goes down and when it is back; Django's own ERROR
    # line for every 503 would repeat that on each load balancer probe.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
