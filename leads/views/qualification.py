"""The five criteria on the lead page: saving progress on them, and moving to SQL once
the gate says they are enough."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import selectors, services
from leads.access import lead_for
from leads.gate import sql_problems
from leads.models import LeadEvent, Qualification
from leads.views.detail import detail_form, lead_url, qualification_form, render_lead_page
from leads.views.stale import StaleInputMerge


@login_required
@require_POST
def lead_qualification(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Save the qualification panel. Saved on a stale version, the panel comes back
    (409) with the user's input on top of what others saved meanwhile. A lead seeded
    without a qualification record gets one on its first save (the service creates it)."""
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    form = qualification_form(request.POST)
    merge = StaleInputMerge(
        request,
        form,
        lead=lead,
        load_current=lambda: Qualification.objects.get(lead=lead),
        fields=services.QUALIFICATION_FIELDS,
        build=qualification_form,
        kind=LeadEvent.Kind.QUALIFICATION,
    )
    saved = None
    if form.is_valid():
        saved = submit(
            form,
            lambda: services.qualification_update(
                lead_id=lead.pk,
                by=request.user,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
            on_stale=merge,
        )
    if saved is not None:
        _tell_saved(request, saved)
        return redirect(f"{lead_url(lead)}#qualification")
    if merge.form is not None:
        return render_lead_page(
            request,
            lead,
            bound={"qualification": merge.form},
            stale_changes=merge.changes,
            status=409,
        )
    return render_lead_page(request, lead, bound={"qualification": form}, status=400)


def _tell_saved(request: AuthedHttpRequest, saved: Qualification) -> None:
    """Saved: green, unless a criterion marked confirmed rests on a placeholder ("TBD"):
    then a warning, as the panel's own hint says, for it does not count toward the gate."""
    faked = [c for c in Qualification.CRITERIA if saved.has_placeholder_evidence(c)]
    if not faked:
        messages.success(request, _("Qualification saved."))
        return
    messages.warning(
        request,
        ngettext(
            "Qualification saved, but %(count)d criterion marked confirmed has placeholder "
            "evidence (such as “TBD”): it does not count until real evidence is written.",
            "Qualification saved, but %(count)d criteria marked confirmed have placeholder "
            "evidence (such as “TBD”): they do not count until real evidence is written.",
            len(faked),
        )
        % {"count": len(faked)},
    )


@login_required
@require_POST
def lead_qualify(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """SAL -> SQL. When the gate says no, the lead page shows every unmet criterion."""
    lead = lead_for(request.user, pk, to="work")
    set_back_url(request, lead_url(lead), subject="lead")
    form = detail_form("qualify", request.POST)
    if not form.is_valid():
        return render_lead_page(request, lead, bound={"qualify": form}, status=400)
    qualified = submit(
        form,
        lambda: services.lead_qualify(
            lead_id=lead.pk,
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        ),
    )
    if qualified is not None:
        messages.success(request, _("Moved to SQL. Next: hand it off to an account executive."))
        return redirect(lead_url(lead))
    # The service refused on the gate's word; the panel names each unmet criterion, as
    # the gate (the one definition of "ready for SQL") lists them.
    qualification = selectors.lead_qualification(lead) or Qualification(lead=lead)
    return render_lead_page(
        request, lead, qualify_problems=sql_problems(lead, qualification), status=400
    )
