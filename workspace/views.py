"""Pages that show every app at once: My work, the home page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from crm.web.requests import AuthedHttpRequest
from workspace.selectors import my_work


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    """My work: what the signed-in user should do next, across leads and opportunities."""
    return render(request, "workspace/home.html", my_work(request.user))
