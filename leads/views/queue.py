"""The queue: the leads a user works, most urgent first, filtered and paged by keyset."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm.web.pagination import decode_cursor
from crm.web.requests import AuthedHttpRequest
from leads import selectors, services
from leads.forms import LeadFilterForm

QUEUE_PAGE_SIZE = 25


@login_required
def lead_list(request: AuthedHttpRequest) -> HttpResponse:
    """The queue. Keyset pagination: no COUNT over the table, a `next` link only."""
    user = request.user
    owners = services.owner_choices() if (user.is_manager or user.sees_everything) else None
    form = LeadFilterForm(request.GET, owners=owners)
    form.is_valid()
    now = timezone.now()
    cursor = request.GET.get("after")
    page = selectors.lead_queue_page(
        user, form.queue_filter(), now=now, cursor=cursor, size=QUEUE_PAGE_SIZE
    )
    next_url = ""
    if page.next_cursor:
        params = request.GET.copy()
        params["after"] = page.next_cursor
        next_url = f"?{params.urlencode()}"
    # A cursor that is not one of ours shows the first page, with no way "back" to it.
    continues = decode_cursor(cursor, length=len(selectors.QUEUE_ORDER)) is not None
    first_params = request.GET.copy()
    first_params.pop("after", None)
    return render(
        request,
        "leads/list.html",
        {
            "leads": page.rows,
            "form": form,
            "now": now,
            "next_url": next_url,
            "first_url": f"?{first_params.urlencode()}" if continues else "",
            "is_filtered": form.is_narrowed(),
            "show_owner": owners is not None or not user.is_sdr,
        },
    )
