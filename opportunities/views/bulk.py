"""Bulk actions on the deal list: the bar above the list, the run, its results page.

The deal list's side of `crm.web.bulk`: its bar (the active stages; the AEs to hand
deals to, for the team's manager and RevOps), its form's parameters, which deals its
filter matches, and its CSV export. The run is `crm.web.bulk.BulkPage.run`, handing the
ids to the deal's action table (`opportunities.services.bulk.OPPORTUNITIES`): one
service call per deal, each in its own transaction.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.csv_safe import reader_zone, streaming_csv_response
from crm.models import User
from crm.web.bulk import BulkForm, BulkPage
from crm.web.requests import AuthedHttpRequest
from opportunities import exports, selectors
from opportunities.forms import OpportunityFilterForm, currency_choices
from opportunities.models import ConversionPolicy, Opportunity, Stage
from opportunities.services import bulk, new_owner_choices


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


class OpportunityBulkForm(BulkForm):
    """The deal actions' parameters. The rules (exit fields, why it was lost, who may
    hand a deal on) are the services'."""

    select_one = gettext_lazy("Select at least one deal.")
    select_max = gettext_lazy("Select at most %(cap)s deals.")

    stage = forms.ModelChoiceField(queryset=Stage.objects.filter(is_active=True), required=False)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    reason = forms.CharField(required=False, max_length=2000)
    lost_reason = forms.CharField(required=False, max_length=2000)
    lost_to_competitor = forms.CharField(required=False, max_length=150)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, kind=bulk.OPPORTUNITIES, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owner_field.queryset = new_owner_choices(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == bulk.MOVE_STAGE and data.get("stage") is None:
            self.add_error("stage", _("Choose the stage."))
        if data.get("action") == bulk.CHANGE_OWNER and data.get("owner") is None:
            self.add_error("owner", _("Choose the AE who takes the deals."))
        return data


def _form(data: QueryDict, user: User) -> OpportunityBulkForm:
    return OpportunityBulkForm(data, user=user)


def _export(user: User, ids: list[int]) -> StreamingHttpResponse:
    """The selected deals the user may see, as the list's CSV export writes them."""
    deals = Opportunity.objects.visible_to(user).filter(pk__in=ids).order_by("-created_at", "-pk")
    zone = reader_zone(user)
    return streaming_csv_response(
        f"threshold-opportunities-selected-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.opportunity_export_header(),
        exports.opportunity_export_rows(deals, zone=zone),
    )


PAGE = BulkPage(
    kind=bulk.OPPORTUNITIES,
    form=_form,
    matching=_matching,
    export=_export,
    list_url="opportunities:list",
    detail_url="opportunities:detail",
    crumb=gettext_lazy("Opportunities"),
    column=gettext_lazy("Opportunity"),
    all_done=gettext_lazy("Every deal was done."),
    too_many=gettext_lazy("More than %(cap)s deals match: narrow the filter."),
)


@login_required
@require_GET
def opportunity_bulk_bar(request: AuthedHttpRequest) -> HttpResponse:
    """The bulk bar for the list filtered by this query string (an htmx fragment)."""
    context = PAGE.bar_context(request.user, request.GET)
    context["stages"] = Stage.objects.filter(is_active=True).order_by("position")
    user = request.user
    # Handing deals on is the team's manager's or RevOps' call: only they see the action.
    may_hand_on = user.is_manager or user.sees_everything
    context["owners"] = list(new_owner_choices(user)) if may_hand_on else None
    return render(request, "opportunities/_bulk_bar.html", context)


@login_required
@require_POST
def opportunity_bulk_run(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Run the bar's action on the selected deals, or on every deal the filter matches."""
    return PAGE.run(request)
