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

from crm.exceptions import NotAllowed, NotFound, Problem
from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from leads import selectors, services
from leads.access import lead_for, user_may
from leads.duplicates import find_duplicates
from leads.forms import MergeForm, MergePickForm, merge_value_shown
from leads.models import Activity, Handoff, Lead, LeadEvent, LeadTransition
from leads.services.merge import (
    MERGE_FIELDS,
    lead_to_merge,
    merge_pair_problems,
    moved_summary,
)
from leads.views.detail import lead_url

SUGGESTIONS = 8


def _candidates(user: Any, lead: Lead, form: MergePickForm) -> list[Lead]:
    """Leads `user` may merge into `lead`: those a search names, else its likely duplicates
    (a merged-away match shown as the lead it was merged into, `find_duplicates`)."""
    visible = Lead.objects.visible_to(user).select_related("owner", "team")
    rows = visible.filter(merged_into__isnull=True).exclude(pk=lead.pk)
    term = form.cleaned_data.get("q", "").strip().lstrip("#") if form.is_valid() else ""
    if term.isdigit():
        found = list(rows.filter(pk=int(term)))
    elif term:
        found = list(rows.filter(selectors.matching_text(term)).order_by("-created_at")[:20])
    else:
        values = {name: getattr(lead, name) for name in MERGE_FIELDS}
        found = find_duplicates(values, limit=SUGGESTIONS, rows=visible, exclude=lead.pk)
    return [c for c in found if not merge_pair_problems(lead, c) and user_may(user, "merge", c)]


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


def _refused(
    request: AuthedHttpRequest,
    survivor: Lead,
    duplicate_id: int,
    *,
    duplicate: Lead | None,
    problems: list[Problem],
    status: int,
) -> HttpResponse:
    """The merge page saying why this pair cannot be merged, with no form to fill in."""
    swappable = duplicate is not None and not merge_pair_problems(duplicate, survivor)
    context = {
        "lead": survivor,
        "duplicate": duplicate,
        "duplicate_id": duplicate_id,
        "refusals": [str(p.message) for p in problems],
        "swappable": swappable and user_may(request.user, "merge", survivor),
    }
    return render(request, "leads/merge.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def lead_merge(request: AuthedHttpRequest, pk: int, duplicate_pk: int) -> HttpResponse:
    """Step 2: the side-by-side chooser; posting it merges `duplicate_pk` into `pk`.

    A pair that cannot be merged is said so up front (`merge_pair_problems`, the rule the
    service applies), and a duplicate the user may not merge is named as the problem on
    this page: the page is about that pair, so its refusal is the page's content."""
    survivor = lead_for(request.user, pk, to="merge")
    set_back_url(request, reverse("leads:merge_pick", args=[survivor.pk]), subject="lead")
    try:
        duplicate = lead_to_merge(request.user, duplicate_pk, side="duplicate")
    except (NotFound, NotAllowed) as error:
        return _refused(
            request,
            survivor,
            duplicate_pk,
            duplicate=None,
            problems=error.problems,
            status=error.http_status,
        )
    refusals = merge_pair_problems(survivor, duplicate)
    if refusals:
        status = 400 if request.method == "POST" else 200
        return _refused(
            request, survivor, duplicate.pk, duplicate=duplicate, problems=refusals, status=status
        )
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
            messages.success(request, _merged_message(duplicate.pk, result.moved))
            return redirect(lead_url(survivor))
    context = {
        "lead": survivor,
        "duplicate": duplicate,
        "duplicate_id": duplicate.pk,
        "form": form,
        "alike": [
            {"label": selectors.field_label(n), "value": merge_value_shown(survivor, n)}
            for n in alike
            if getattr(survivor, n) not in (None, "")
        ],
        "moving": moved_summary(_moving(duplicate)),
        "swappable": not merge_pair_problems(duplicate, survivor),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/merge.html", context, status=status)


def _merged_message(duplicate_id: int, moved: dict[str, int]) -> str:
    """The message after a merge, telling what moved in the words its history entry uses."""
    summary = moved_summary(moved)
    if summary:
        return _(
            "Lead #%(duplicate)s merged into this lead: %(moved)s moved over. It is kept, "
            "closed, for the record."
        ) % {"duplicate": duplicate_id, "moved": summary}
    return _("Lead #%(duplicate)s merged into this lead. It is kept, closed, for the record.") % {
        "duplicate": duplicate_id
    }
