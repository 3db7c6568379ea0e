"""A new lead from the browser form, and editing a lead's own fields."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import services
from leads.access import lead_for, user_may
from leads.forms import LeadForm
from leads.models import Lead
from leads.views.detail import lead_url
from leads.views.stale import StaleInputMerge


def _reloaded(lead: Lead) -> Lead:
    lead.refresh_from_db()
    return lead


@login_required
@require_http_methods(["GET", "POST"])
def lead_new(request: AuthedHttpRequest) -> HttpResponse:
    if request.method != "POST":
        context = {"form": LeadForm(intake=True), "lead": None, "stale_changes": None}
        return render(request, "leads/form.html", context)
    form = LeadForm(request.POST, intake=True)
    user = request.user
    # An SDR's own lead is theirs; anyone else's goes through routing.
    owner = user if user.is_sdr else None
    lead = None
    if form.is_valid():
        lead = submit(
            form, lambda: services.lead_create(by=user, data=form.service_data(), owner=owner)
        )
    if lead is None:
        context = {"form": form, "lead": None, "stale_changes": None}
        return render(request, "leads/form.html", context, status=400)
    if lead.owner is None:
        messages.warning(
            request, _("Lead created. No SDR is available, so it waits in the Unassigned queue.")
        )
    elif lead.owner == user:
        messages.success(request, _("Lead created."))
    else:
        messages.success(
            request, _("Lead created and routed to %(owner)s.") % {"owner": lead.owner}
        )
    if user_may(user, "view", lead):
        return redirect(lead_url(lead))
    return redirect("leads:list")


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Edit the lead's own fields. Saved on a stale version, the form comes back (409)
    with the user's input on top of what others saved meanwhile, and what they changed."""
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    if request.method != "POST":
        initial = {f: getattr(lead, f) for f in services.EDITABLE_FIELDS}
        form = LeadForm(initial=initial | {"version": lead.version, "loaded_at": timezone.now()})
        return render(
            request, "leads/form.html", {"form": form, "lead": lead, "stale_changes": None}
        )
    form = LeadForm(request.POST)
    merge = StaleInputMerge(
        request,
        form,
        lead=lead,
        load_current=lambda: _reloaded(lead),
        fields=services.EDITABLE_FIELDS,
        build=LeadForm,
    )
    saved = None
    if form.is_valid():
        saved = submit(
            form,
            lambda: services.lead_update(
                lead_id=lead.pk,
                by=request.user,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
            on_stale=merge,
        )
    if saved is not None:
        messages.success(request, _("Lead saved."))
        return redirect(lead_url(lead))
    if merge.form is not None:
        context = {"form": merge.form, "lead": lead, "stale_changes": merge.changes}
        return render(request, "leads/form.html", context, status=409)
    return render(
        request, "leads/form.html", {"form": form, "lead": lead, "stale_changes": None}, status=400
    )
