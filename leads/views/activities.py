"""Calls, e-mails, meetings, notes and follow-ups on the lead page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import services
from leads.access import lead_for
from leads.models import Activity
from leads.views.detail import activity_form, lead_page_context, lead_url, render_lead_page


@login_required
@require_POST
def lead_activity_log(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Log a call, e-mail, meeting or note, or schedule a follow-up. With htmx the
    activities panel is swapped in place (and the side column and history refreshed out
    of band: the first call or e-mail stops an SLA clock)."""
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    form = activity_form(request.POST)
    logged = None
    if form.is_valid():
        logged = submit(
            form,
            lambda: services.activity_log(
                lead_id=lead.pk, by=request.user, **form.service_kwargs()
            ),
        )
    if logged is not None and not request.htmx:
        messages.success(request, _("Activity logged."))
        return redirect(f"{lead_url(lead)}#activities")
    if logged is not None:
        lead.refresh_from_db()
        context = lead_page_context(request, lead)
        context["logged"] = logged
        return render(request, "leads/_activity_swap.html", context)
    if request.htmx:
        # htmx 2 swaps only 2xx answers, so the form with its errors comes back as 200.
        context = lead_page_context(request, lead, bound={"activity": form})
        return render(request, "leads/_activities.html", context)
    return render_lead_page(request, lead, bound={"activity": form}, status=400)


@login_required
@require_POST
def lead_activity_complete(request: AuthedHttpRequest, pk: int, activity_pk: int) -> HttpResponse:
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    activity = get_object_or_404(Activity, pk=activity_pk, lead=lead)
    services.activity_complete(activity_id=activity.pk, by=request.user)
    messages.success(request, _("Marked as done: %(subject)s") % {"subject": activity.subject})
    return redirect(f"{lead_url(lead)}#activities")
