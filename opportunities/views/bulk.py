"""Bulk actions on the deal list: the bar above the list, the run, its results page.

The bar is an htmx fragment the list loads on its own (`opportunity_bulk_bar`), so the
list page keeps its query count; it reads the active stages and how many deals the
filter matches (counted up to the cap only). A run (`opportunity_bulk_run`) parses the
form, turns "all matching the filter" into ids with the list's own filter form and
selector, and hands the ids to `opportunities.services.bulk.opportunity_bulk`: one
`opportunity_move_stage` per deal, each in its own transaction. The results page names
every deal that failed, with the reason and a link to it.
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
from leads.services.bulk import unique_ids
from opportunities import exports, selectors
from opportunities.forms import OpportunityFilterForm, currency_choices
from opportunities.models import ConversionPolicy, Opportunity, Stage
from opportunities.services import bulk

EXPORT = "export"
SCOPE_IDS, SCOPE_FILTER = "ids", "filter"


def _matching(user: User, query: QueryDict) -> QuerySet[Opportunity]:
    """The deals the list shows for `query` (its filters; invalid ones ignored, as there)."""
    policy = ConversionPolicy.current()
    form = OpportunityFilterForm(
        query or None,
        initial={"state": OpportunityFilterForm.STATE_OPEN},
        owners=selectors.filter_people(user),
        teams=selectors.filter_teams(user),
        currencies=[
            c for c, _label in currency_choices(user.default_currency, *policy.approval_thresholds)
        ],
    )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.opportunities_filtered(user, filters)


class OpportunityBulkForm(forms.Form):
    """What the bar sends: the action, which deals, and the move's own parameters.
    The move's rules (exit fields, why it was lost) are the service's."""

    action = forms.ChoiceField(choices=[*bulk.ACTIONS.items(), (EXPORT, gettext_lazy("Export"))])
    scope = forms.ChoiceField(choices=[(SCOPE_IDS, SCOPE_IDS), (SCOPE_FILTER, SCOPE_FILTER)])
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    query = forms.CharField(required=False, max_length=4000)
    stage = forms.ModelChoiceField(queryset=Stage.objects.filter(is_active=True), required=False)
    reason = forms.CharField(required=False, max_length=500)
    lost_reason = forms.CharField(required=False, max_length=2000)
    lost_to_competitor = forms.CharField(required=False, max_length=150)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids_field = self.fields["ids"]
        assert isinstance(ids_field, forms.TypedMultipleChoiceField)
        # Any whole number parses; whether the user may touch it is the service's question.
        ids_field.valid_value = lambda value: str(value).isdigit()  # type: ignore[method-assign]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == SCOPE_IDS and not data.get("ids"):
            self.add_error("ids", _("Select at least one deal."))
        if len(data.get("ids") or []) > bulk.BULK_CAP:
            self.add_error("ids", _("Select at most %(cap)s deals.") % {"cap": bulk.BULK_CAP})
        if data.get("action") == bulk.MOVE_STAGE and data.get("stage") is None:
            self.add_error("stage", _("Choose the stage."))
        return data


@login_required
@require_GET
def opportunity_bulk_bar(request: AuthedHttpRequest) -> HttpResponse:
    """The bulk bar for the list filtered by this query string (an htmx fragment)."""
    matching = (
        _matching(request.user, request.GET).order_by().values("pk")[: bulk.BULK_CAP + 1].count()
    )
    return render(
        request,
        "opportunities/_bulk_bar.html",
        {
            "query": request.GET.urlencode(),
            "matching": min(matching, bulk.BULK_CAP),
            "matching_over_cap": matching > bulk.BULK_CAP,
            "cap": bulk.BULK_CAP,
            "stages": Stage.objects.filter(is_active=True).order_by("position"),
        },
    )


@login_required
@require_POST
def opportunity_bulk_run(
    request: AuthedHttpRequest,
) -> HttpResponse | StreamingHttpResponse:
    """Run the bar's action on the selected deals, or on every deal the filter matches;
    then the results page (or, for an export, the CSV of those deals)."""
    user = request.user
    form = OpportunityBulkForm(request.POST)
    query = QueryDict(request.POST.get("query", ""))
    base = reverse("opportunities:list")
    back = f"{base}?{query.urlencode()}" if query else base
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
                _("More than %(cap)s deals match: narrow the filter.") % {"cap": bulk.BULK_CAP},
            )
            return redirect(back)
    else:
        ids = unique_ids(data["ids"])
    if data["action"] == EXPORT:
        return _export(user, ids)
    result = bulk.opportunity_bulk(
        by=user,
        action=data["action"],
        ids=ids,
        stage=data["stage"],
        reason=data["reason"],
        lost_reason=data["lost_reason"],
        lost_to_competitor=data["lost_to_competitor"],
    )
    return render(
        request,
        "opportunities/_bulk_results.html",
        {"result": result, "action_label": bulk.ACTIONS[result.action], "back_url": back},
    )


def _export(user: User, ids: list[int]) -> StreamingHttpResponse:
    """The selected deals the user may see, as the list's CSV export writes them."""
    deals = Opportunity.objects.visible_to(user).filter(pk__in=ids).order_by("-created_at", "-pk")
    zone = reader_zone(user)
    return streaming_csv_response(
        f"threshold-opportunities-selected-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.opportunity_export_header(),
        exports.opportunity_export_rows(deals, zone=zone),
    )
