"""Plumbing pages of the shell: the health endpoint. (My work lives in `workspace`.)"""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers; when the worker last beat."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        database = "unavailable"
    return JsonResponse(
        {
            "status": "ok" if database == "ok" else "degraded",
            "database": database,
            "worker_heartbeat": cache.get("threshold:worker-heartbeat"),
            "time": timezone.now().isoformat(),
        },
        status=200 if database == "ok" else 503,
    )
