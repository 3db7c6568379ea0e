"""SLA pages: the managers' and RevOps' overview (/sla/), and RevOps' editors for policies
and business calendars. Views are thin: authorize through `sla.access`, parse a form,
call `sla.configuration`, render. Field problems land on the form; any other domain error
(a refusal, a missing object) rises to `crm.web.errors.DomainErrorMiddleware`."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest
from sla import configuration, selectors
from sla.access import (
    calendar_for,
    holiday_for,
    may,
    policy_for,
    require_settings_permission,
)
from sla.forms import CalendarForm, HolidayForm, PolicyForm
from sla.models import BusinessCalendar, CalendarChange, SlaPolicy, SlaPolicyChange

LIST_LIMIT = 50
HISTORY_LIMIT = 20
RECENT_DAYS = 7
COMPLIANCE_DAYS = 30


# --- the overview ------------------------------------------------------------------------------


@login_required
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    """At risk, overdue and recently-late clocks of the manager's team (RevOps: all)."""
    user = request.user
    require_settings_permission(user, "view")
    now = timezone.now()
    since = now - datetime.timedelta(days=COMPLIANCE_DAYS)
    clocks = selectors.clock_lists(
        user, now=now, since=now - datetime.timedelta(days=RECENT_DAYS), limit=LIST_LIMIT
    )
    context = {
        "now": now,
        "scope_all": user.sees_everything,
        "summary": selectors.sla_summary(user, now=now, since=since),
        "overdue": clocks.overdue,
        "at_risk": clocks.at_risk,
        "late": clocks.late,
        "compliance": selectors.compliance_by(
            "policy", start=since, end=now, scope_user=user, now=now
        ),
        "limit": LIST_LIMIT,
        "recent_days": RECENT_DAYS,
        "compliance_days": COMPLIANCE_DAYS,
        "tab": "overview",
    }
    return render(request, "sla/dashboard.html", context)


# --- policies ------------------------------------------------------------------------------------


@login_required
def policy_list(request: AuthedHttpRequest) -> HttpResponse:
    require_settings_permission(request.user, "view")
    return render(
        request,
        "sla/policy_list.html",
        {
            "policies": selectors.policy_list(),
            "tab": "policies",
            "can_edit": may(request.user, "edit"),
        },
    )


@login_required
def policy_new(request: AuthedHttpRequest) -> HttpResponse:
    require_settings_permission(request.user, "edit")
    form = PolicyForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and (
            policy := submit(
                form,
                lambda: configuration.policy_create(by=request.user, data=form.policy_data()),
            )
        )
    ):
        messages.success(request, _("Policy “%s” created: new leads get this clock.") % policy.name)
        return redirect("sla:policy", pk=policy.pk)
    return render(
        request, "sla/policy_form.html", {"form": form, "policy": None, "tab": "policies"}
    )


@login_required
def policy_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """RevOps edit; managers read the same page without the Save button."""
    policy = policy_for(
        request.user,
        pk,
        to="edit" if request.method == "POST" else "view",
        queryset=SlaPolicy.objects.select_related("calendar").prefetch_related("applies_to_teams"),
    )
    set_back_url(request, reverse("sla:policy", args=[policy.pk]))
    if request.method == "POST":
        form = PolicyForm(request.POST, policy=policy)
        if form.is_valid() and (
            edit := submit(
                form,
                lambda: configuration.policy_update(
                    policy_id=policy.pk,
                    by=request.user,
                    data=form.policy_data(),
                    replan_running=form.cleaned_data.get("replan_running", False),
                ),
            )
        ):
            messages.success(request, _saved_message(edit))
            return redirect("sla:policy", pk=policy.pk)
    else:
        form = PolicyForm(policy=policy)
    can_edit = may(request.user, "edit")
    if not can_edit:
        form.make_read_only()
    return render(
        request,
        "sla/policy_form.html",
        {
            "form": form,
            "policy": policy,
            "can_edit": can_edit,
            "changes": [
                _change_rows(c) for c in selectors.policy_history(policy, limit=HISTORY_LIMIT)
            ],
            "running_count": selectors.running_timer_count(policy),
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


def _change_rows(change: SlaPolicyChange | CalendarChange) -> dict[str, Any]:
    """An audit row as (field, old, new) triples for the history list."""
    fields = sorted(set(change.old) | set(change.new))
    return {
        "change": change,
        "rows": [(name, change.old.get(name), change.new.get(name)) for name in fields],
    }


# --- calendars -----------------------------------------------------------------------------------


@login_required
def calendar_list(request: AuthedHttpRequest) -> HttpResponse:
    require_settings_permission(request.user, "view")
    return render(
        request,
        "sla/calendar_list.html",
        {
            "calendars": selectors.calendar_list(),
            "tab": "calendars",
            "can_edit": may(request.user, "edit"),
        },
    )


@login_required
def calendar_new(request: AuthedHttpRequest) -> HttpResponse:
    require_settings_permission(request.user, "edit")
    form = CalendarForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and (
            calendar := submit(
                form,
                lambda: configuration.calendar_create(by=request.user, data=form.calendar_data()),
            )
        )
    ):
        messages.success(request, _("Calendar “%s” created.") % calendar.name)
        return redirect("sla:calendar", pk=calendar.pk)
    return render(
        request, "sla/calendar_form.html", {"form": form, "calendar": None, "tab": "calendars"}
    )


@login_required
def calendar_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    calendar = calendar_for(request.user, pk, to="edit" if request.method == "POST" else "view")
    set_back_url(request, reverse("sla:calendar", args=[calendar.pk]))
    if request.method == "POST":
        form = CalendarForm(request.POST, calendar=calendar)
        if form.is_valid() and (
            edit := submit(
                form,
                lambda: configuration.calendar_update(
                    calendar_id=calendar.pk, by=request.user, data=form.calendar_data()
                ),
            )
        ):
            messages.success(
                request,
                _("Saved. Timers started from now on count on the new calendar.")
                if edit.changed
                else _("Nothing changed."),
            )
            return redirect("sla:calendar", pk=calendar.pk)
    else:
        form = CalendarForm(calendar=calendar)
    return _calendar_page(request, calendar, form=form, holiday_form=HolidayForm())


def _calendar_page(
    request: AuthedHttpRequest,
    calendar: BusinessCalendar,
    *,
    form: CalendarForm,
    holiday_form: HolidayForm,
    status: int = 200,
) -> HttpResponse:
    can_edit = may(request.user, "edit")
    if not can_edit:
        form.make_read_only()
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
            "public_holidays": selectors.upcoming_public_holidays(calendar, today=today),
            "policies": calendar.policies.order_by("name"),
            "changes": [
                _change_rows(c) for c in selectors.calendar_history(calendar, limit=HISTORY_LIMIT)
            ],
            "today": today,
            "tab": "calendars",
        },
        status=status,
    )


@login_required
@require_POST
def calendar_holiday_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    calendar = calendar_for(request.user, pk, to="edit")
    set_back_url(request, reverse("sla:calendar", args=[calendar.pk]))
    holiday_form = HolidayForm(request.POST)
    if holiday_form.is_valid() and (
        holiday := submit(
            holiday_form,
            lambda: configuration.calendar_holiday_add(
                calendar_id=calendar.pk,
                by=request.user,
                date=holiday_form.cleaned_data["date"],
                name=holiday_form.cleaned_data["name"],
            ),
        )
    ):
        messages.success(request, _("Holiday “%s” added.") % holiday.name)
        return redirect("sla:calendar", pk=calendar.pk)
    return _calendar_page(
        request,
        calendar,
        form=CalendarForm(calendar=calendar),
        holiday_form=holiday_form,
        status=400,
    )


@login_required
@require_POST
def calendar_holiday_delete(request: AuthedHttpRequest, pk: int, holiday_pk: int) -> HttpResponse:
    holiday = holiday_for(request.user, holiday_pk, calendar_id=pk)
    configuration.calendar_holiday_remove(holiday_id=holiday.pk, by=request.user)
    messages.success(request, _("Holiday “%s” removed.") % holiday.name)
    return redirect("sla:calendar", pk=pk)
