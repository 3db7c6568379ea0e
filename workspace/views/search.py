"""The global search: the full results page (also what the top bar's box submits to
without JavaScript) and the JSON the Ctrl+K palette reads as one types."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from crm.web.requests import AuthedHttpRequest
from workspace.commands import matching_commands
from workspace.search import DEFAULT_LIMIT, MAX_LIMIT, search
from workspace.search_query import QUERY_MAX_LENGTH, QUERY_MIN_LENGTH


@login_required
@require_GET
def search_page(request: AuthedHttpRequest) -> HttpResponse:
    """Every kind, up to MAX_LIMIT of each, with a link to the kind's own list."""
    results = search(request.user, request.GET.get("q"), limit=MAX_LIMIT)
    return render(
        request,
        "workspace/search.html",
        {
            "results": results,
            "limit": MAX_LIMIT,
            "min_length": QUERY_MIN_LENGTH,
            "max_length": QUERY_MAX_LENGTH,
        },
    )


@login_required
@require_GET
def search_palette(request: AuthedHttpRequest) -> JsonResponse:
    """The palette's answer: the commands matching the text and, from two characters on,
    the records (DEFAULT_LIMIT of each kind), plus the link to all results."""
    text = request.GET.get("q") or ""
    results = search(request.user, text, limit=DEFAULT_LIMIT)
    body = results.as_dict()
    body["commands"] = [c.as_dict() for c in matching_commands(request.user, results.query)]
    body["search_url"] = f"{reverse('search')}?{urlencode({'q': results.query})}"
    response = JsonResponse(body)
    response["Cache-Control"] = "private, no-store"
    return response
