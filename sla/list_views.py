"""The SLA clocks list (/sla/clocks/): every clock the manager or RevOps may see, by
state and policy, sorted by any column and paged by keyset. Thin: parse, select, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm.saved_view_pages import list_views, open_default_view
from crm.web.requests import AuthedHttpRequest
from crm.web.sorting import ORDERING_PARAM, headers
from sla import lists
from sla.access import require_settings_permission
from sla.forms import style_widgets
from sla.models import SlaPolicy

PAGE_SIZE = 25
LIST_KEY = "sla_timers"  # its saved views (crm.saved_views.ListKey)


class TimerFilterForm(forms.Form):
    """The list's filters; a value that does not parse is ignored (the page says so)."""

    state = forms.ChoiceField(label=_("Clocks"), required=False, choices=lists.STATE_CHOICES)
    policy = forms.ModelChoiceField(
        label=_("Policy"),
        required=False,
        queryset=SlaPolicy.objects.order_by("name"),
        empty_label=_("Every policy"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)

    def timer_filter(self) -> lists.TimerFilter:
        data = getattr(self, "cleaned_data", {}) or {}
        policy = data.get("policy")
        return lists.TimerFilter(
            state=data.get("state") or lists.RUNNING, policy=policy and policy.pk
        )


@login_required
@require_GET
def timer_list(request: AuthedHttpRequest) -> HttpResponse:
    require_settings_permission(request.user, "view")
    if (default_view := open_default_view(request, LIST_KEY)) is not None:
        return default_view
    form = TimerFilterForm(request.GET)
    form.is_valid()
    sort = lists.TIMER_SORTS.parse_or_default(request.GET.get(ORDERING_PARAM))
    cursor = request.GET.get("cursor") or None
    now = timezone.now()
    page = lists.timer_page(
        request.user, form.timer_filter(), now=now, sort=sort, cursor=cursor, size=PAGE_SIZE
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
    return render(
        request,
        "sla/timer_list.html",
        {
            "form": form,
            "timers": page.rows,
            "now": now,
            "tab": "clocks",
            "sort": sort,
            "sort_headers": headers(request.GET, sort, lists.TIMER_SORTS),
            "next_url": f"?{next_query.urlencode()}" if page.next_cursor else "",
            "first_url": f"?{query.urlencode()}" if sort.decode(cursor) is not None else "",
            "filtered": any(request.GET.get(name) for name in ("state", "policy")),
            "invalid": bool(form.errors),
            **list_views(request, LIST_KEY),
        },
    )
