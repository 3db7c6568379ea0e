"""My work (the home page), the Settings hub, and the favicon browsers ask for."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from crm.navigation import settings_pages_for
from crm.web.requests import AuthedHttpRequest
from workspace.selectors import my_work
from workspace.team import team_health


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    """My work: what the signed-in user should do next, across leads and opportunities;
    for a manager, their team's queue health above it."""
    context: dict[str, object] = dict(my_work(request.user))
    if request.user.is_manager:
        context["team"] = team_health(request.user, now=timezone.now())
    return render(request, "workspace/home.html", context)


@login_required
def settings_hub(request: AuthedHttpRequest) -> HttpResponse:
    """Every settings page the user may read, each app's registered at start-up."""
    pages = settings_pages_for(request.user)
    if not pages:
        raise PermissionDenied
    rows = [(page, reverse(page.url_name)) for page in pages]
    return render(request, "workspace/settings.html", {"pages": rows})


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """`/favicon.ico`, which browsers request on their own, is the static file."""
    return HttpResponseRedirect(static("favicon.ico"))
