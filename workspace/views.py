"""Pages that show every app at once: My work (the home page) and the Settings hub."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from crm.navigation import settings_pages_for
from crm.web.requests import AuthedHttpRequest
from workspace.selectors import my_work


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    """My work: what the signed-in user should do next, across leads and opportunities."""
    return render(request, "workspace/home.html", my_work(request.user))


@login_required
def settings_hub(request: AuthedHttpRequest) -> HttpResponse:
    """Every settings page the user may read, each app's registered at start-up."""
    pages = settings_pages_for(request.user)
    if not pages:
        raise PermissionDenied
    rows = [(page, reverse(page.url_name)) for page in pages]
    return render(request, "workspace/settings.html", {"pages": rows})
