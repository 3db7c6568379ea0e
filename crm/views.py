"""The app shell: My work (home), notifications, health."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.selectors import my_work


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/home.html", my_work(request.user))


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
