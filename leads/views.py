"""HTML views for leads (being completed: see leads/urls.py for the route table)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from leads.models import Lead


def _visible_lead(request: HttpRequest, pk: int) -> Lead:
    lead = get_object_or_404(Lead.objects.select_related("owner", "ae", "team"), pk=pk)
    if not request.user.has_perm("leads.view_lead", lead):
        raise Http404
    return lead


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "leads/detail.html", {"lead": _visible_lead(request, pk)})


lead_list = lead_new = lead_edit = lead_activity_log = lead_qualification = lead_detail
lead_accept = lead_reject = lead_qualify = lead_handoff = lead_discovery = lead_detail
lead_nurture = lead_disqualify = lead_reopen = lead_assign = lead_detail
