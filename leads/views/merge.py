"""Merging a duplicate into a lead, in the browser: pick the duplicate (the likely ones
are suggested, or find one by number or name), choose each differing field's value side
by side, confirm. `leads.services.lead_merge` does the work and checks who may; these
views only parse, fetch through `lead_for` (to="merge": the rule that also shows the
lead page's "Merge…" button) and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import selectors, services
from leads.access import lead_for, user_may
from leads.duplicates import find_duplicates
from leads.forms import MergeForm, MergePickForm
from leads.models import Activity, Handoff, Lead, LeadEvent, LeadTransition
from leads.services.merge import MERGE_FIELDS
from leads.views.detail import lead_url

SUGGESTIONS = 8


def _candidates(user: Any, lead: Lead, form: MergePickForm) -> list[Lead]:
    """Leads `user` may merge into `lead`: those a search names, else its likely duplicates."""
    rows = Lead.objects.visible_to(user).filter(merged_into__isnull=True).exclude(pk=lead.pk)
    rows = rows.exclude(status=Lead.Status.CONVERTED).select_related("owner", "team")
    term = form.cleaned_data.get("q", "").strip().lstrip("#") if form.is_valid() else ""
    if term.isdigit():
        found = list(rows.filter(pk=int(term)))
    elif term:
        found = list(rows.filter(selectors.matching_text(term)).order_by("-created_at")[:20])
    else:
        values = {name: getattr(lead, name) for name in MERGE_FIELDS}
        found = find_duplicates(values, limit=SUGGESTIONS, rows=rows)
    return [c for c in found if user_may(user, "merge", c)]


@login_required
@require_http_methods(["GET"])
def lead_merge_pick(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Step 1: which lead is the duplicate of this one?"""
    lead = lead_for(request.user, pk, to="merge")
    form = MergePickForm(request.GET or None)
    context = {
        "lead": lead,
        "form": form,
        "searched": bool(request.GET.get("q", "").strip()),
        "candidates": _candidates(request.user, lead, form),
    }
    return render(request, "leads/merge_pick.html", context)


def _moving(duplicate: Lead) -> dict[str, int]:
    """What the merge will carry over, counted for the confirmation."""
    events = LeadEvent.objects.filter(lead=duplicate)
    return {
        "activities": Activity.objects.filter(lead=duplicate).count(),
        "events": events.count(),
        "touches": events.filter(kind=LeadEvent.Kind.TOUCH).count(),
        "transitions": LeadTransition.objects.filter(lead=duplicate).count(),
        "handoffs": Handoff.objects.filter(lead=duplicate).count(),
    }


def _differing(survivor: Lead, duplicate: Lead) -> tuple[list[str], list[str]]:
    """The fields whose values differ (chosen field by field) and those alike."""
    differ = [n for n in MERGE_FIELDS if getattr(survivor, n) != getattr(duplicate, n)]
    return differ, [n for n in MERGE_FIELDS if n not in differ]


@login_required
@require_http_methods(["GET", "POST"])
def lead_merge(request: AuthedHttpRequest, pk: int, duplicate_pk: int) -> HttpResponse:
    """Step 2: the side-by-side chooser; posting it merges `duplicate_pk` into `pk`."""
    survivor = lead_for(request.user, pk, to="merge")
    duplicate = lead_for(request.user, duplicate_pk, to="merge")
    set_back_url(request, reverse("leads:merge_pick", args=[survivor.pk]), subject="lead")
    differ, alike = _differing(survivor, duplicate)
    versions = {"survivor_version": survivor.version, "duplicate_version": duplicate.version}
    form = MergeForm(
        request.POST if request.method == "POST" else None,
        survivor=survivor,
        duplicate=duplicate,
        fields=differ,
        initial=versions,
    )
    if request.method == "POST" and form.is_valid():
        result = submit(
            form,
            lambda: services.lead_merge(
                by=request.user,
                survivor=survivor.pk,
                duplicate=duplicate.pk,
                values=form.service_values(),
                reason=form.cleaned_data["reason"],
                survivor_version=form.cleaned_data["survivor_version"],
                duplicate_version=form.cleaned_data["duplicate_version"],
            ),
        )
        if result is not None:
            messages.success(
                request,
                _(
                    "Lead #%(duplicate)s merged into this lead: %(activities)s activities and "
                    "%(events)s history entries moved over. It is kept, closed, for the record."
                )
                % {
                    "duplicate": duplicate.pk,
                    "activities": result.moved.get("activities", 0),
                    "events": result.moved.get("events", 0) + result.moved.get("transitions", 0),
                },
            )
            return redirect(lead_url(survivor))
    context = {
        "lead": survivor,
        "duplicate": duplicate,
        "form": form,
        "alike": [
            {"label": selectors.field_label(n), "value": getattr(survivor, n)}
            for n in alike
            if getattr(survivor, n) not in (None, "")
        ],
        "moving": _moving(duplicate),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/merge.html", context, status=status)
