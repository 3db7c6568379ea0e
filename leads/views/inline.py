"""Inline edit on the lead queue: click a simple cell, change it in place, save.

The cell is an htmx fragment (`templates/leads/_inline_cell.html`): GET the editor, POST
it back. The value is parsed by the edit page's own form field (`LeadForm`) and saved by
the edit page's service (`leads.services.lead_update`) with the version the row was shown
at, so a lead someone changed meanwhile is never overwritten: the cell shows the conflict,
the value saved now, and an editor at the current version to try again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.exceptions import StaleVersion
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import services
from leads.access import lead_for
from leads.forms import LeadForm
from leads.models import Lead

# The queue's cells one may edit in place: short values with no rule across fields.
INLINE_FIELDS = ("score",)


def _form(field: str, *args: Any, **kwargs: Any) -> LeadForm:
    """The edit page's form, narrowed to `field` and the version."""
    form = LeadForm(*args, **kwargs)
    form.fields = {name: form.fields[name] for name in (field, "version")}
    return form


def _field(field: str) -> str:
    if field not in INLINE_FIELDS:
        raise Http404(_("This field is not edited in place."))
    return field


def _cell(
    request: AuthedHttpRequest,
    lead: Lead,
    field: str,
    *,
    form: LeadForm | None = None,
    **extra: Any,
) -> HttpResponse:
    context = {"lead": lead, "field": field, "value": getattr(lead, field), "form": form, **extra}
    return render(request, "leads/_inline_cell.html", context)


@login_required
@require_GET
def lead_cell(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """The cell as the queue shows it (the editor's Cancel)."""
    lead = lead_for(request.user, pk)
    return _cell(request, lead, _field(field))


@login_required
@require_http_methods(["GET", "POST"])
def lead_cell_edit(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """GET: the cell's editor at the lead's version. POST: save through `lead_update`;
    the saved cell, or the editor with the field's problem, or the stale-version conflict."""
    field = _field(field)
    lead = lead_for(request.user, pk, to="work")
    if request.method != "POST":
        form = _form(field, initial={field: getattr(lead, field), "version": lead.version})
        return _cell(request, lead, field, form=form)
    form = _form(field, request.POST)
    conflict: list[StaleVersion] = []
    saved = None
    if form.is_valid():
        saved = submit(
            form,
            lambda: services.lead_update(
                lead_id=lead.pk,
                by=request.user,
                data={field: form.cleaned_data[field]},
                expected_version=form.cleaned_data["version"],
            ),
            on_stale=conflict.append,
        )
    if saved is not None:
        return _cell(request, saved, field)
    if conflict:
        current = lead_for(request.user, pk, to="work")
        fresh = _form(field, initial={field: getattr(current, field), "version": current.version})
        return _cell(request, current, field, form=fresh, conflict=str(conflict[0]))
    return _cell(request, lead, field, form=form)
