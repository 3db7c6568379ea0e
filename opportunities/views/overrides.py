"""The approvals page: conversion override requests a manager decides."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.web.errors import set_back_url
from crm.web.requests import AuthedHttpRequest
from opportunities import selectors, services
from opportunities.access import override_request_for
from opportunities.forms import DecisionForm


@login_required
@permission_required("opportunities.decide_overrides", raise_exception=True)
@require_http_methods(["GET"])
def override_list(request: AuthedHttpRequest) -> HttpResponse:
    pending, decided = selectors.override_requests(request.user)
    return render(request, "opportunities/overrides.html", {"pending": pending, "decided": decided})


@login_required
@permission_required("opportunities.decide_overrides", raise_exception=True)
@require_POST
def override_decide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    item = override_request_for(request.user, pk)
    set_back_url(request, reverse("opportunities:overrides"))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or to decline."))
        return redirect("opportunities:overrides")
    company = item.lead.company_name
    note = form.cleaned_data["note"]
    if not form.approves:
        services.conversion_request_decline(request_id=item.pk, by=request.user, note=note)
        messages.success(request, _("Declined: %(company)s stays a lead.") % {"company": company})
        return redirect("opportunities:overrides")
    decided = services.conversion_request_approve(request_id=item.pk, by=request.user, note=note)
    messages.success(
        request,
        _("Approved: %(company)s converted with the override flagged.") % {"company": company},
    )
    if decided.opportunity_id:
        return redirect("opportunities:detail", decided.opportunity_id)
    return redirect("opportunities:overrides")
