"""SLA pages: the managers' and RevOps' overview (/sla/), and RevOps' editors for policies
and business calendars. Views are thin: parse a form, call `sla.configuration`, render."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ValidationFailed
from crm.models import User
from sla import configuration
from sla.forms import CalendarForm, HolidayForm, PolicyForm
from sla.models import (
    BusinessCalendar,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyChange,
    SlaTimer,
)
from sla.selectors import compliance_by, sla_summary

LIST_LIMIT = 50
RECENT_DAYS = 7
COMPLIANCE_DAYS = 30


def _require_viewer(user: User) -> None:
    """The SLA area is for managers and RevOps (reps see their clocks on their leads)."""
    if not (user.is_manager or user.is_revops):
        raise PermissionDenied


def _require_revops(user: User) -> None:
    if not user.is_revops:
        raise PermissionDenied


# --- the overview ------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """At risk, overdue and recently-late clocks of the manager's team (RevOps: all)."""
    user = request.user
    _require_viewer(user)
    now = timezone.now()
    visible = SlaTimer.objects.visible_to(user).select_related(
        "policy", "lead", "responsible", "lead__team"
    )
    recent = now - datetime.timedelta(days=RECENT_DAYS)
    context = {
        "now": now,
        "scope_all": user.sees_everything,
        "summary": sla_summary(user, now=now, since=now - datetime.timedelta(days=COMPLIANCE_DAYS)),
        "overdue": list(visible.overdue(now).order_by("due_at", "pk")[:LIST_LIMIT]),
        "at_risk": list(visible.at_risk(now).order_by("due_at", "pk")[:LIST_LIMIT]),
        "late": list(
            visible.missed()
            .stopped_between(recent, now + datetime.timedelta(seconds=1))
            .order_by("-stopped_at", "-pk")[:LIST_LIMIT]
        ),
        "compliance": compliance_by(
            "policy",
            start=now - datetime.timedelta(days=COMPLIANCE_DAYS),
            end=now,
            scope_user=user,
            now=now,
        ),
        "limit": LIST_LIMIT,
        "recent_days": RECENT_DAYS,
        "compliance_days": COMPLIANCE_DAYS,
        "tab": "overview",
    }
    return render(request, "sla/dashboard.html", context)


# --- policies ------------------------------------------------------------------------------------


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    policies = (
        SlaPolicy.objects.select_related("calendar", "updated_by")
        .prefetch_related("applies_to_teams")
        .annotate(running_count=Count("timers", filter=Q(timers__stopped_at__isnull=True)))
        .order_by("-is_active", "start_event", "key")
    )
    return render(
        request,
        "sla/policy_list.html",
        {"policies": policies, "tab": "policies", "can_edit": request.user.is_revops},
    )


@login_required
def policy_new(request: HttpRequest) -> HttpResponse:
    _require_revops(request.user)
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = configuration.policy_create(by=request.user, data=form.policy_data())
        except ValidationFailed as error:
            form.add_problems(error.problems)
        else:
            messages.success(
                request, _("Policy “%s” created: new leads get this clock.") % policy.name
            )
            return redirect("sla:policy", pk=policy.pk)
    return render(
        request, "sla/policy_form.html", {"form": form, "policy": None, "tab": "policies"}
    )


@login_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """RevOps edit; managers read the same page without the Save button."""
    _require_viewer(request.user)
    policy = get_object_or_404(
        SlaPolicy.objects.select_related("calendar").prefetch_related("applies_to_teams"), pk=pk
    )
    can_edit = request.user.is_revops
    if request.method == "POST":
        _require_revops(request.user)
        form = PolicyForm(request.POST, policy=policy)
        if form.is_valid():
            try:
                edit = configuration.policy_update(
                    policy_id=policy.pk,
                    by=request.user,
                    data=form.policy_data(),
                    replan_running=form.cleaned_data.get("replan_running", False),
                )
            except ValidationFailed as error:
                form.add_problems(error.problems)
            else:
                messages.success(request, _saved_message(edit))
                return redirect("sla:policy", pk=policy.pk)
    else:
        form = PolicyForm(policy=policy)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    changes = SlaPolicyChange.objects.filter(policy=policy).select_related("actor")[:20]
    return render(
        request,
        "sla/policy_form.html",
        {
            "form": form,
            "policy": policy,
            "can_edit": can_edit,
            "changes": [_change_rows(c) for c in changes],
            "running_count": SlaTimer.objects.running().filter(policy=policy).count(),
            "tab": "policies",
        },
    )


def _saved_message(edit: configuration.PolicyEdit) -> str:
    if not edit.changed:
        return _("Nothing changed.")
    text = _("Saved. New timers use the new settings.")
    if edit.replanned is not None:
        text += " " + _("%(n)d running timers were re-planned.") % {"n": edit.replanned}
    return text


def _change_rows(change: Any) -> dict[str, Any]:
    """An audit row as (field, old, new) triples for the history list."""
    fields = sorted(set(change.old) | set(change.new))
    return {
        "change": change,
        "rows": [(name, change.old.get(name), change.new.get(name)) for name in fields],
    }


# --- calendars -----------------------------------------------------------------------------------


@login_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    calendars = BusinessCalendar.objects.annotate(
        holiday_count=Count("holidays", distinct=True),
        policy_count=Count("policies", distinct=True),
    ).order_by("name")
    return render(
        request,
        "sla/calendar_list.html",
        {"calendars": calendars, "tab": "calendars", "can_edit": request.user.is_revops},
    )


@login_required
def calendar_new(request: HttpRequest) -> HttpResponse:
    _require_revops(request.user)
    form = CalendarForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            calendar = configuration.calendar_create(by=request.user, data=form.calendar_data())
        except ValidationFailed as error:
            form.add_problems(error.problems)
        else:
            messages.success(request, _("Calendar “%s” created.") % calendar.name)
            return redirect("sla:calendar", pk=calendar.pk)
    return render(
        request, "sla/calendar_form.html", {"form": form, "calendar": None, "tab": "calendars"}
    )


@login_required
def calendar_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_viewer(request.user)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    if request.method == "POST":
        _require_revops(request.user)
        form = CalendarForm(request.POST, calendar=calendar)
        if form.is_valid():
            try:
                change = configuration.calendar_update(
                    calendar_id=calendar.pk, by=request.user, data=form.calendar_data()
                )
            except ValidationFailed as error:
                form.add_problems(error.problems)
            else:
                messages.success(
                    request,
                    _("Saved. Timers started from now on count on the new calendar.")
                    if change
                    else _("Nothing changed."),
                )
                return redirect("sla:calendar", pk=calendar.pk)
    else:
        form = CalendarForm(calendar=calendar)
    return _calendar_page(request, calendar, form=form, holiday_form=HolidayForm())


def _calendar_page(
    request: HttpRequest,
    calendar: BusinessCalendar,
    *,
    form: CalendarForm,
    holiday_form: HolidayForm,
) -> HttpResponse:
    can_edit = request.user.is_revops
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    today = timezone.localdate()
    return render(
        request,
        "sla/calendar_form.html",
        {
            "form": form,
            "holiday_form": holiday_form,
            "calendar": calendar,
            "can_edit": can_edit,
            "holidays": calendar.holidays.order_by("date"),
            "public_holidays": configuration.upcoming_public_holidays(calendar, today=today),
            "policies": calendar.policies.order_by("name"),
            "changes": [_change_rows(c) for c in calendar.changes.select_related("actor")[:20]],
            "today": today,
            "tab": "calendars",
        },
    )


@login_required
@require_POST
def calendar_holiday_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_revops(request.user)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    holiday_form = HolidayForm(request.POST)
    if holiday_form.is_valid():
        try:
            holiday = configuration.calendar_holiday_add(
                calendar_id=calendar.pk,
                by=request.user,
                date=holiday_form.cleaned_data["date"],
                name=holiday_form.cleaned_data["name"],
            )
        except ValidationFailed as error:
            for problem in error.problems:
                field = problem.field if problem.field in holiday_form.fields else None
                holiday_form.add_error(field, str(problem.message))
        else:
            messages.success(request, _("Holiday “%s” added.") % holiday.name)
            return redirect("sla:calendar", pk=calendar.pk)
    response = _calendar_page(
        request, calendar, form=CalendarForm(calendar=calendar), holiday_form=holiday_form
    )
    response.status_code = 400
    return response


@login_required
@require_POST
def calendar_holiday_delete(request: HttpRequest, pk: int, holiday_pk: int) -> HttpResponse:
    _require_revops(request.user)
    holiday = get_object_or_404(CalendarHoliday, pk=holiday_pk, calendar_id=pk)
    configuration.calendar_holiday_remove(holiday_id=holiday.pk, by=request.user)
    messages.success(request, _("Holiday “%s” removed.") % holiday.name)
    return redirect("sla:calendar", pk=pk)
