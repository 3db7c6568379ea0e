"""The manager's drill-down from a team figure on My work to the rows behind it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.web.requests import AuthedHttpRequest
from workspace.team import team_drill as drill_rows


@login_required
@require_GET
def team_drill(request: AuthedHttpRequest, metric: str, rep_id: int) -> HttpResponse:
    """One rep's open leads, overdue clocks, waiting hand-offs or stale deals."""
    now = timezone.now()
    drill = drill_rows(request.user, metric=metric, rep_id=rep_id, now=now)
    return render(request, "workspace/team_drill.html", {"drill": drill, "now": now})
