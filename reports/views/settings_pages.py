"""The report settings RevOps edits and managers read: the benchmark ranges and thresholds,
the MQL targets per month and source, and the change history of each. Thin: check the
page's permission, hand the form's edits to `reports.services`, render."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm.exceptions import NotAllowed
from crm.web.forms import submit
from crm.web.pagination import keyset_page
from crm.web.requests import AuthedHttpRequest
from leads.models import Source
from reports import formatting
from reports.filters import user_zone
from reports.forms import BenchmarkRangeFormSet, MqlTargetGridForm, ReportPolicyForm
from reports.models import BenchmarkChange, BenchmarkRange, MqlTarget, MqlTargetChange, ReportPolicy
from reports.services import benchmarks_update, mql_targets_update
from reports.views.pages import report_nav

HISTORY_PAGE = 50
RECENT_CHANGES = 10

# --- RevOps: benchmark ranges and thresholds --------------------------------------------------

AUDIT_LABELS = {
    "source": gettext_lazy("Source"),
    "low_percent": gettext_lazy("From %"),
    "high_percent": gettext_lazy("To %"),
    "pipeline_to_won_low": gettext_lazy("Healthy ratio from"),
    "pipeline_to_won_high": gettext_lazy("Healthy ratio up to"),
}


def _can_view_benchmarks(request: AuthedHttpRequest) -> None:
    if not request.user.has_perm("reports.view_benchmarks"):
        raise NotAllowed(_("Only RevOps and managers see the benchmarks."))


@login_required
@require_http_methods(["GET", "POST"])
def benchmarks(request: AuthedHttpRequest) -> HttpResponse:
    """RevOps edits the ranges and thresholds; managers read them and their history."""
    _can_view_benchmarks(request)
    user = request.user
    can_edit = user.has_perm("reports.edit_benchmarks")
    ranges = BenchmarkRange.objects.order_by("source")
    policy = ReportPolicy.current()
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise NotAllowed(_("Only RevOps edits the benchmarks."))
        formset = BenchmarkRangeFormSet(request.POST, queryset=ranges)
        policy_form = ReportPolicyForm(request.POST, instance=policy)
        if formset.is_valid() and policy_form.is_valid():
            saved = submit(
                policy_form,
                lambda: benchmarks_update(
                    by=user, ranges=formset.edits(), thresholds=policy_form.thresholds()
                ),
            )
            if saved is not None:
                messages.success(request, _("Benchmarks saved."))
                return redirect("reports:benchmarks")
        status = 400
    else:
        formset = BenchmarkRangeFormSet(queryset=ranges)
        policy_form = ReportPolicyForm(instance=policy)
    if not can_edit:
        for form in [*formset.forms, policy_form]:
            for field in form.fields.values():
                field.disabled = True
    changes = BenchmarkChange.objects.select_related("actor")[:20]
    return render(
        request,
        "reports/benchmarks.html",
        {
            "formset": formset,
            "policy_form": policy_form,
            "can_edit": can_edit,
            "changes": [_benchmark_change_rows(change) for change in changes],
            "report_nav": report_nav(user),
            "current_report": "benchmarks",
        },
        status=status,
    )


def _benchmark_change_rows(change: BenchmarkChange) -> dict[str, Any]:
    """An audit row for the history list: what changed, and (label, old, new) per field."""
    fields = [name for name in AUDIT_LABELS if name in change.old or name in change.new]
    sources = {"overall": _("Overall (all sources)"), **dict(Source.choices)}
    return {
        "change": change,
        "at": change.changed_at,
        "actor": change.actor,
        "subject": sources.get(change.source, change.source)
        if change.source
        else _("Pipeline-to-won ratio"),
        "added": not change.old,
        "removed": not change.new,
        "rows": [(AUDIT_LABELS[n], change.old.get(n), change.new.get(n)) for n in fields],
    }


@login_required
@require_GET
def benchmarks_history(request: AuthedHttpRequest) -> HttpResponse:
    """Every benchmark and threshold edit, newest first, a page at a time."""
    _can_view_benchmarks(request)
    return _history(
        request,
        BenchmarkChange.objects.select_related("actor"),
        _benchmark_change_rows,
        title=_("Benchmark changes"),
        back=("reports:benchmarks", _("Benchmarks")),
        current="benchmarks",
    )


# --- RevOps: MQL targets per month and source -------------------------------------------------


def _can_view_targets(request: AuthedHttpRequest) -> None:
    if not request.user.has_perm("reports.view_mql_targets"):
        raise NotAllowed(_("Only RevOps and managers see the MQL targets."))


def _year(request: AuthedHttpRequest) -> int:
    """The year asked for (?year=), else the reader's current one."""
    this_year = timezone.localdate(timezone.now(), user_zone(request.user)).year
    raw = request.GET.get("year", "")
    if raw.isascii() and raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return this_year


@login_required
@require_http_methods(["GET", "POST"])
def mql_targets(request: AuthedHttpRequest) -> HttpResponse:
    """A year of MQL targets per month and source: RevOps edits, managers read."""
    _can_view_targets(request)
    user = request.user
    can_edit = user.has_perm("reports.edit_mql_targets")
    year = _year(request)
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 1)
    targets = {
        (t.month, t.source): t.target
        for t in MqlTarget.objects.filter(month__gte=start, month__lte=end)
    }
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise NotAllowed(_("Only RevOps edits the MQL targets."))
        form = MqlTargetGridForm(request.POST, year=year, targets=targets)
        if form.is_valid():
            changes = submit(form, lambda: mql_targets_update(by=user, edits=form.edits()))
            if changes is not None:
                messages.success(
                    request,
                    _("MQL targets saved: %(n)s changed.") % {"n": len(changes)}
                    if changes
                    else _("Nothing changed."),
                )
                return redirect(f"{reverse('reports:mql-targets')}?year={year}")
        status = 400
    else:
        form = MqlTargetGridForm(year=year, targets=targets)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    recent = MqlTargetChange.objects.select_related("actor")[:RECENT_CHANGES]
    return render(
        request,
        "reports/mql_targets.html",
        {
            "form": form,
            "grid": form.grid(),
            "sources": Source.choices,
            "year": year,
            "can_edit": can_edit,
            "changes": [_target_change_rows(change) for change in recent],
            "report_nav": report_nav(user),
            "current_report": "mql_targets",
        },
        status=status,
    )


def _target_change_rows(change: MqlTargetChange) -> dict[str, Any]:
    labels = dict(Source.choices)
    return {
        "change": change,
        "at": change.changed_at,
        "actor": change.actor,
        "subject": f"{labels.get(change.source, change.source)}, {formatting.month(change.month)}",
        "added": not change.old,
        "removed": not change.new,
        "rows": [(_("MQL target"), change.old.get("target"), change.new.get("target"))],
    }


@login_required
@require_GET
def mql_targets_history(request: AuthedHttpRequest) -> HttpResponse:
    """Every MQL target edit, newest first, a page at a time."""
    _can_view_targets(request)
    return _history(
        request,
        MqlTargetChange.objects.select_related("actor"),
        _target_change_rows,
        title=_("MQL target changes"),
        back=("reports:mql-targets", _("MQL targets")),
        current="mql_targets",
    )


def _history(
    request: AuthedHttpRequest,
    changes: QuerySet[Any],
    rows: Any,
    *,
    title: str,
    back: tuple[str, str],
    current: str,
) -> HttpResponse:
    """A settings page's change history: who, when, old -> new, newest first (keyset)."""
    fields = ["-changed_at", "-pk"]
    page = keyset_page(
        changes.order_by(*fields),
        fields=fields,
        cursor=request.GET.get("cursor"),
        size=HISTORY_PAGE,
    )
    return render(
        request,
        "reports/settings_history.html",
        {
            "title": title,
            "back_url": reverse(back[0]),
            "back_label": back[1],
            "changes": [rows(change) for change in page.rows],
            "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else "",
            "first_url": "?" if request.GET.get("cursor") else "",
            "report_nav": report_nav(request.user),
            "current_report": current,
        },
    )
