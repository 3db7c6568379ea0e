"""Bulk actions on the lead queue: the bar above the list, the run, its results page.

The queue's side of `crm.web.bulk`: its bar (the SDRs to assign to, the rejection
reasons), its form's parameters, which leads its filter matches, and its CSV export.
The run is `crm.web.bulk.BulkPage.run`, handing the ids to the lead's action table
(`leads.services.bulk.LEADS`): one service call per lead, each in its own transaction.
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
from leads import exports, selectors, services
from leads.forms import LeadFilterForm
from leads.models import Lead, RejectionReason
from leads.services import bulk


def _may_assign(user: User) -> bool:
    return bool(user.is_manager or user.sees_everything)


def _matching(user: User, query: QueryDict) -> QuerySet[Lead]:
    """The leads the queue shows for `query` (its filters; invalid ones ignored, as there)."""
    owners = services.owner_choices() if _may_assign(user) else None
    form = LeadFilterForm(query, owners=owners)
    form.is_valid()
    return selectors.lead_queue(user, form.queue_filter(), now=timezone.now())


class LeadBulkForm(BulkForm):
    """The lead actions' parameters. Their rules (an active reason, a real rationale) are
    the services'."""

    select_one = gettext_lazy("Select at least one lead.")
    select_max = gettext_lazy("Select at most %(cap)s leads.")

    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    reason = forms.CharField(required=False, max_length=2000)
    note = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, kind=bulk.LEADS, **kwargs)
        self.owners = {u.pk: u for u in owners}
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.TypedChoiceField)
        owner_field.choices = [("", ""), *((u.pk, str(u)) for u in owners)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == bulk.ASSIGN and data.get("owner") is None:
            self.add_error("owner", _("Choose the SDR who gets the leads."))
        return data

    def params(self) -> dict[str, Any]:
        owner = self.cleaned_data["owner"]
        return {**super().params(), "owner": self.owners.get(owner) if owner else None}


def _form(data: QueryDict, user: User) -> LeadBulkForm:
    return LeadBulkForm(data, owners=services.owner_choices() if _may_assign(user) else [])


def _export(user: User, ids: list[int]) -> StreamingHttpResponse:
    """The selected leads the user may see, as the queue's CSV export writes them."""
    leads = Lead.objects.visible_to(user).filter(pk__in=ids).order_by("-created_at", "-pk")
    zone = reader_zone(user)
    return streaming_csv_response(
        f"threshold-leads-selected-{timezone.now().astimezone(zone).date().isoformat()}",
        exports.lead_export_header(),
        exports.lead_export_rows(leads, zone=zone),
    )


PAGE = BulkPage(
    kind=bulk.LEADS,
    form=_form,
    matching=_matching,
    export=_export,
    list_url="leads:list",
    detail_url="leads:detail",
    crumb=gettext_lazy("Leads"),
    column=gettext_lazy("Lead"),
    all_done=gettext_lazy("Every lead was done."),
    too_many=gettext_lazy("More than %(cap)s leads match: narrow the filter."),
)


@login_required
@require_GET
def lead_bulk_bar(request: AuthedHttpRequest) -> HttpResponse:
    """The bulk bar for the queue filtered by this query string (an htmx fragment)."""
    user = request.user
    context = PAGE.bar_context(user, request.GET)
    context["owners"] = services.owner_choices() if _may_assign(user) else None
    context["rejection_reasons"] = RejectionReason.objects.filter(is_active=True).order_by(
        "position", "label"
    )
    return render(request, "leads/_bulk_bar.html", context)


@login_required
@require_POST
def lead_bulk_run(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Run the bar's action on the selected leads, or on every lead the filter matches."""
    return PAGE.run(request)
