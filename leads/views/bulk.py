"""Bulk actions on the lead queue: the bar above the list, the run, its results page.

The bar is an htmx fragment the queue loads on its own (`lead_bulk_bar`), so the queue
page keeps its query count and the bar reads what it needs: the SDRs to assign to, the
rejection reasons, and how many leads the filter matches (counted up to the cap only).
A run (`lead_bulk_run`) parses the form, turns "all matching the filter" into ids with
the queue's own filter form and selector, and hands the ids to
`leads.services.bulk.lead_bulk`: one service call per lead, each in its own transaction.
The results page names every lead that failed, with the reason and a link to it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.csv_safe import reader_zone, streaming_csv_response
from crm.models import User
from crm.web.requests import AuthedHttpRequest
from leads import exports, selectors, services
from leads.forms import LeadFilterForm
from leads.models import Lead, RejectionReason
from leads.services import bulk

EXPORT = "export"
SCOPE_IDS, SCOPE_FILTER = "ids", "filter"


def _may_assign(user: User) -> bool:
    return bool(user.is_manager or user.sees_everything)


def _matching(user: User, query: QueryDict) -> QuerySet[Lead]:
    """The leads the queue shows for `query` (its filters; invalid ones ignored, as there)."""
    owners = services.owner_choices() if _may_assign(user) else None
    form = LeadFilterForm(query, owners=owners)
    form.is_valid()
    return selectors.lead_queue(user, form.queue_filter(), now=timezone.now())


class LeadBulkForm(forms.Form):
    """What the bar sends: the action, which leads, and the action's own parameters.
    The parameters' rules (an active reason, a real rationale) are the services'."""

    action = forms.ChoiceField(choices=[*bulk.ACTIONS.items(), (EXPORT, gettext_lazy("Export"))])
    scope = forms.ChoiceField(choices=[(SCOPE_IDS, SCOPE_IDS), (SCOPE_FILTER, SCOPE_FILTER)])
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    query = forms.CharField(required=False, max_length=4000)
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    reason = forms.CharField(required=False, max_length=2000)
    note = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {u.pk: u for u in owners}
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.TypedChoiceField)
        owner_field.choices = [("", ""), *((u.pk, str(u)) for u in owners)]
        ids_field = self.fields["ids"]
        assert isinstance(ids_field, forms.TypedMultipleChoiceField)
        # Any whole number parses; whether the user may touch it is the service's question.
        ids_field.valid_value = lambda value: str(value).isdigit()  # type: ignore[method-assign]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == SCOPE_IDS and not data.get("ids"):
            self.add_error("ids", _("Select at least one lead."))
        if len(data.get("ids") or []) > bulk.BULK_CAP:
            self.add_error("ids", _("Select at most %(cap)s leads.") % {"cap": bulk.BULK_CAP})
        if data.get("action") == bulk.ASSIGN and data.get("owner") is None:
            self.add_error("owner", _("Choose the SDR who gets the leads."))
        return data


@login_required
@require_GET
def lead_bulk_bar(request: AuthedHttpRequest) -> HttpResponse:
    """The bulk bar for the queue filtered by this query string (an htmx fragment)."""
    user = request.user
    matching = _matching(user, request.GET).order_by().values("pk")[: bulk.BULK_CAP + 1].count()
    return render(
        request,
        "leads/_bulk_bar.html",
        {
            "query": request.GET.urlencode(),
            "matching": min(matching, bulk.BULK_CAP),
            "matching_over_cap": matching > bulk.BULK_CAP,
            "cap": bulk.BULK_CAP,
            "owners": services.owner_choices() if _may_assign(user) else None,
            "rejection_reasons": RejectionReason.objects.filter(is_active=True).order_by(
                "position", "label"
            ),
        },
    )


@login_required
@require_POST
def lead_bulk_run(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Run the bar's action on the selected leads, or on every lead the filter matches;
    then the results page (or, for an export, the CSV of those leads)."""
    user = request.user
    owners = services.owner_choices() if _may_assign(user) else []
    form = LeadBulkForm(request.POST, owners=owners)
    query = QueryDict(request.POST.get("query", ""))
    back = f"{reverse('leads:list')}?{query.urlencode()}" if query else reverse("leads:list")
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
        return redirect(back)
    data = form.cleaned_data
    if data["scope"] == SCOPE_FILTER:
        ids = list(_matching(user, query).values_list("pk", flat=True)[: bulk.BULK_CAP + 1])
        if len(ids) > bulk.BULK_CAP:
            messages.error(
                request,
                _("More than %(cap)s leads match: narrow the filter.") % {"cap": bulk.BULK_CAP},
            )
            return redirect(back)
    else:
        ids = bulk.unique_ids(data["ids"])
    if data["action"] == EXPORT:
        return _export(user, ids)
    result = bulk.lead_bulk(
        by=user,
        action=data["action"],
        ids=ids,
        owner=form.owners.get(data["owner"]) if data["owner"] is not None else None,
        reason=data["reason"],
        note=data["note"],
    )
    return render(
        request,
        "leads/_bulk_results.html",
        {
            "result": result,
            "action_label": bulk.ACTIONS[result.action],
            "back_url": back,
        },
    )


def _export(user: User, ids: list[int]) -> StreamingHttpResponse:
    """The selected leads the user may see, as the queue's CSV export writes them."""
    leads = Lead.objects.visible_to(user).filter(pk__in=ids).order_by("-created_at", "-pk")
    zone = reader_zone(user)
    return streaming_csv_response(
        f"threshold-leads-selected-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.lead_export_header(),
        exports.lead_export_rows(leads, zone=zone),
    )
