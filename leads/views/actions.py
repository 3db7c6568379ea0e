"""The lifecycle steps posted from the lead page: accept, reject, nurture, disqualify,
reopen and assign.

Each parses its form, calls one service and goes back to the lead page. A problem with
the input comes back on the form (the page again, that step unfolded); a refused step
(not allowed, not possible in this status, changed meanwhile) rises to
`crm.web.errors.DomainErrorMiddleware`, which answers with a page or a message and,
because the view named it with `set_back_url`, the lead page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import services
from leads.access import LeadAction, lead_for
from leads.models import Lead
from leads.views.detail import assign_form, detail_form, lead_url, render_lead_page


def post_lead_step(
    request: AuthedHttpRequest,
    pk: int,
    name: str,
    *,
    to: LeadAction,
    call: Callable[[Lead, dict[str, Any]], object],
    success: Callable[[Lead], str],
) -> HttpResponse:
    """POST a lifecycle step from the lead page: the form `name`, then `call` (a service).

    `to` is what the user must be allowed to do with the lead (checked before anything);
    `success` words the message once the step is done, from the lead as it is now.
    """
    lead = lead_for(request.user, pk, to=to)
    set_back_url(request, lead_url(lead), subject="lead")
    form = assign_form(request.POST) if name == "assign" else detail_form(name, request.POST)
    if form.is_valid() and submit(form, lambda: call(lead, form.cleaned_data)) is not None:
        lead.refresh_from_db()
        messages.success(request, success(lead))
        return redirect(lead_url(lead))
    return render_lead_page(request, lead, bound={name: form}, open_action=name, status=400)


@login_required
@require_POST
def lead_accept(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return post_lead_step(
        request,
        pk,
        "accept",
        to="work",
        call=lambda lead, data: services.lead_accept(
            lead_id=lead.pk,
            by=request.user,
            reason=data["reason"],
            expected_version=data["version"],
        ),
        success=lambda lead: (
            _("Accepted: %(company)s is now a sales-accepted lead.")
            % {"company": lead.company_name}
        ),
    )


@login_required
@require_POST
def lead_reject(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return post_lead_step(
        request,
        pk,
        "reject",
        to="work",
        call=lambda lead, data: services.lead_reject(
            lead_id=lead.pk,
            by=request.user,
            reason_code=data["reason"],
            note=data["note"],
            expected_version=data["version"],
        ),
        success=lambda lead: _("Rejected. Marketing hears why."),
    )


def _post_with_reason(
    request: AuthedHttpRequest,
    pk: int,
    name: str,
    *,
    to: LeadAction,
    service: Callable[..., Lead],
    success: Callable[[Lead], str],
) -> HttpResponse:
    """Nurture and reopen: one service taking a written reason and the version seen."""
    return post_lead_step(
        request,
        pk,
        name,
        to=to,
        call=lambda lead, data: service(
            lead_id=lead.pk,
            by=request.user,
            reason=data["reason"],
            expected_version=data["version"],
        ),
        success=success,
    )


@login_required
@require_POST
def lead_nurture(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _post_with_reason(
        request,
        pk,
        "nurture",
        to="work",
        service=services.lead_nurture,
        success=lambda lead: _("Back to marketing for nurturing."),
    )


@login_required
@require_POST
def lead_disqualify(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return post_lead_step(
        request,
        pk,
        "disqualify",
        to="work",
        call=lambda lead, data: services.lead_disqualify(
            lead_id=lead.pk,
            by=request.user,
            reason_code=data["reason"],
            note=data["note"],
            expected_version=data["version"],
        ),
        success=lambda lead: _("Disqualified. Marketing hears why."),
    )


@login_required
@require_POST
def lead_reopen(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _post_with_reason(
        request,
        pk,
        "reopen",
        to="reopen",
        service=services.lead_reopen,
        success=lambda lead: (
            _("Reopened as MQL and assigned to %(owner)s.")
            % {"owner": lead.owner or _("nobody yet")}
        ),
    )


@login_required
@require_POST
def lead_assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return post_lead_step(
        request,
        pk,
        "assign",
        to="assign",
        call=lambda lead, data: services.lead_assign(
            lead_id=lead.pk,
            by=request.user,
            owner=data["owner"],
            reason=data["reason"],
        ),
        success=lambda lead: _("Assigned to %(owner)s.") % {"owner": lead.owner},
    )
