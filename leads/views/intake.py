"""A new lead from the browser form (warned of likely duplicates), and editing a
lead's own fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.models import User
from crm.web.errors import set_back_url
from crm.web.forms import put_on_form, submit
from crm.web.requests import AuthedHttpRequest
from leads import gate, services
from leads.access import lead_for, user_may
from leads.duplicates import find_duplicates
from leads.forms import LeadForm
from leads.models import Lead
from leads.views.detail import lead_url
from leads.views.stale import StaleInputMerge


def _reloaded(lead: Lead) -> Lead:
    lead.refresh_from_db()
    return lead


# What identifies a person (`leads.identity`): the fields the duplicate check reads.
IDENTITY_FIELDS = ("email", "first_name", "last_name", "company_name", "company_domain")


def _likely_duplicates(user: User, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The leads `data` may duplicate, each with whether `user` may open it: a rep must
    learn that the person is someone else's lead, without reading that lead."""
    matches = find_duplicates(data)
    visible = set(
        Lead.objects.visible_to(user)
        .filter(pk__in=[m.pk for m in matches])
        .values_list("pk", flat=True)
    )
    return [{"lead": m, "visible": m.pk in visible} for m in matches]


def _form_page(
    request: AuthedHttpRequest,
    form: LeadForm,
    *,
    status: int = 200,
    duplicates: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "lead": None,
        "stale_changes": None,
        "duplicates": duplicates or [],
        "confirm_duplicates": bool(duplicates),
    }
    return render(request, "leads/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def lead_new(request: AuthedHttpRequest) -> HttpResponse:
    """The intake form. A likely duplicate is shown before saving (as the fields are
    filled in, and again on submit, which then asks to confirm); a person who already has
    a live lead gets no second one: the entry becomes a touch on that lead."""
    if request.method != "POST":
        return _form_page(request, LeadForm(intake=True))
    form = LeadForm(request.POST, intake=True)
    user = request.user
    if not form.is_valid():
        _rules_too(form)
        return _form_page(request, form, status=400)
    data = form.service_data()
    problems = gate.intake_problems(data)
    if problems:
        put_on_form(form, problems)
        return _form_page(request, form, status=400)
    if not form.cleaned_data.get("confirm_duplicate"):
        duplicates = _likely_duplicates(user, data)
        if duplicates:
            return _form_page(request, form, duplicates=duplicates)
    # An SDR's own lead is theirs; anyone else's goes through routing.
    owner = user if user.is_sdr else None
    result = submit(form, lambda: services.lead_intake(by=user, data=data, owner=owner, via="form"))
    if result is None:
        return _form_page(request, form, status=400)
    lead = result.lead
    visible = user_may(user, "view", lead)
    if result.outcome == "deduplicated":
        _tell_deduplicated(request, lead, visible=visible)
    elif lead.owner is None:
        messages.warning(
            request, _("Lead created. No SDR is available, so it waits in the Unassigned queue.")
        )
    elif lead.owner == user:
        messages.success(request, _("Lead created."))
    else:
        messages.success(
            request, _("Lead created and routed to %(owner)s.") % {"owner": lead.owner}
        )
    if visible:
        return redirect(lead_url(lead))
    return redirect("leads:list")


def _rules_too(form: LeadForm) -> None:
    """A form refused for its values' types (a bad e-mail, a score of 500) also names what
    the intake rules would refuse in the rest (no source, no last name): every problem at
    once, not one round of errors after another. A field already in error is not named
    twice."""
    put_on_form(
        form, [p for p in gate.intake_problems(form.service_data()) if p.field not in form.errors]
    )


def _tell_deduplicated(request: AuthedHttpRequest, lead: Lead, *, visible: bool) -> None:
    if visible:
        messages.info(
            request,
            _(
                "This person already has a lead, so no second one was created: your entry "
                "is recorded on its history as a touch."
            ),
        )
        return
    messages.info(
        request,
        _(
            "This person already has a lead (#%(id)s, owned by %(owner)s), so no second one "
            "was created: your entry is recorded on it as a touch."
        )
        % {"id": lead.pk, "owner": lead.owner or _("nobody yet")},
    )


@login_required
@require_GET
def lead_duplicates(request: AuthedHttpRequest) -> HttpResponse:
    """The intake form's live warning (htmx, as identity fields change): likely
    duplicates of what is typed so far, with links to the ones the user may open."""
    data = {name: request.GET.get(name, "")[:200] for name in IDENTITY_FIELDS}
    duplicates = _likely_duplicates(request.user, data) if any(data.values()) else []
    return render(
        request,
        "leads/_duplicates.html",
        {"duplicates": duplicates, "confirm_duplicates": False},
    )


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
    if not form.is_valid():
        _rules_too(form)
    else:
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
