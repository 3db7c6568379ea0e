"""Admin for SLA: a window onto the data, never a way around the services.

Timers and their events change only through the lead lifecycle and the sweep: read-only
here. Policies and business calendars may be edited by RevOps (`sla.rules`), but every
save goes through `sla.configuration`, the service behind /sla/ and the API, so the same
checks apply and the same `SlaPolicyChange` / `CalendarChange` audit rows are written.
Nothing is deleted here: timers point at policies and calendars.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from crm.exceptions import Problem
from crm.models import User
from sla import configuration
from sla.access import may
from sla.models import (
    BusinessCalendar,
    CalendarChange,
    CalendarHoliday,
    SlaEvent,
    SlaPolicy,
    SlaPolicyChange,
    SlaTimer,
)


def _all_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if not f.primary_key)


def _actor(request: HttpRequest) -> User:
    """The signed-in user behind an admin request (the admin site requires a login)."""
    user = request.user
    assert isinstance(user, User), "the admin site serves signed-in staff only"
    return user


def _may_edit_settings(request: HttpRequest) -> bool:
    return isinstance(request.user, User) and may(request.user, "edit")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows a service writes; no one adds, changes or deletes them here."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return _all_fields(self.model)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _SettingsAdmin(admin.ModelAdmin):
    """RevOps (with the admin's model permissions) edit; others read. Never deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_edit_settings(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit_settings(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _put_problems(form: forms.BaseForm, problems: list[Problem]) -> None:
    """The service's problems on the admin form's fields ("escalation_chain.2" on the
    chain), the rest above the form."""
    for problem in problems:
        name = (problem.field or "").split(".")[0]
        form.add_error(name if name in form.fields else None, str(problem.message))


def _as_saved(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved `obj` the row the service saved, so the admin's log entry
    and redirect point at it."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db
    obj.refresh_from_db()


# --- policies ---------------------------------------------------------------------------------


class PolicyAdminForm(forms.ModelForm):
    """Refuses what `sla.configuration` would refuse, as field errors in its own words."""

    class Meta:
        model = SlaPolicy
        fields = ["key", *configuration.POLICY_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An empty chain is a valid setting (the owner alone is told), not a blank one.
        if "escalation_chain" in self.fields:
            self.fields["escalation_chain"].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        policy = self.instance if self.instance.pk else None
        values = {
            name: cleaned.get(name, getattr(self.instance, name, None))
            for name in configuration.POLICY_FIELDS
            if name != "applies_to_teams"
        }
        values["applies_to_teams"] = list(cleaned.get("applies_to_teams") or [])
        if policy is None:
            values["key"] = cleaned.get("key")
        _put_problems(self, configuration.policy_problems(values, policy=policy))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in configuration.POLICY_FIELDS}
        data["applies_to_teams"] = list(data["applies_to_teams"])
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_SettingsAdmin):
    form = PolicyAdminForm
    list_display = (
        "name",
        "key",
        "start_event",
        "stop_event",
        "target_value",
        "target_unit",
        "warn_at_percent",
        "calendar",
        "is_active",
    )
    list_filter = ("is_active", "target_unit")
    filter_horizontal = ("applies_to_teams",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("updated_at", "updated_by")
        # The key is permanent: reports and running timers name the policy by it.
        return ("key", *fixed) if obj is not None else fixed

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Through `policy_create` / `policy_update`: validated and audited."""
        data = form.service_data()
        if change:
            configuration.policy_update(policy_id=obj.pk, by=_actor(request), data=data)
            obj.refresh_from_db()
        else:
            data["key"] = form.cleaned_data["key"]
            policy = configuration.policy_create(by=_actor(request), data=data)
            _as_saved(obj, policy)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The teams were set by the service, with the rest of the edit."""


# --- calendars --------------------------------------------------------------------------------


class CalendarAdminForm(forms.ModelForm):
    """Refuses what `sla.configuration` would refuse, as field errors in its own words."""

    class Meta:
        model = BusinessCalendar
        fields = list(configuration.CALENDAR_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        calendar = self.instance if self.instance.pk else None
        values = {
            name: cleaned.get(name, getattr(self.instance, name, None))
            for name in configuration.CALENDAR_FIELDS
        }
        _put_problems(self, configuration.calendar_problems(values, calendar=calendar))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in configuration.CALENDAR_FIELDS}


class HolidayInline(admin.TabularInline):
    """Custom holidays: saved as one list through `calendar_holidays_replace` (audited)."""

    model = CalendarHoliday
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit_settings(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit_settings(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit_settings(request) and super().has_delete_permission(request, obj)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(_SettingsAdmin):
    form = CalendarAdminForm
    list_display = ("name", "time_zone", "work_starts", "work_ends", "holiday_country")
    inlines = [HolidayInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Through `calendar_create` / `calendar_update`: validated and audited."""
        data = form.service_data()
        if change:
            configuration.calendar_update(calendar_id=obj.pk, by=_actor(request), data=data)
            obj.refresh_from_db()
        else:
            calendar = configuration.calendar_create(by=_actor(request), data=data)
            _as_saved(obj, calendar)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """The inline's rows, minus those marked for deletion, become the calendar's
        custom holidays in one audited replace."""
        kept = [
            row
            for row in formset.forms
            if row.cleaned_data
            and row.cleaned_data.get("date")
            and not row.cleaned_data.get("DELETE")
        ]
        configuration.calendar_holidays_replace(
            calendar_id=form.instance.pk,
            by=_actor(request),
            holidays=[(row.cleaned_data["date"], row.cleaned_data["name"]) for row in kept],
        )
        # What the admin's history message lists (formset.save() would have set these).
        formset.new_objects = [row.instance for row in kept if row.instance.pk is None]
        formset.changed_objects = [
            (row.instance, row.changed_data)
            for row in kept
            if row.instance.pk is not None and row.has_changed()
        ]
        formset.deleted_objects = [
            row.instance for row in formset.deleted_forms if row.instance.pk is not None
        ]


# --- what the lifecycle and the sweep write ------------------------------------------------------


@admin.register(SlaTimer)
class SlaTimerAdmin(ReadOnlyAdmin):
    list_display = (
        "policy",
        "lead",
        "responsible",
        "started_at",
        "due_at",
        "stopped_at",
        "met",
        "breached_at",
        "escalation_level",
    )
    list_filter = ("policy", "met")
    raw_id_fields = ("lead", "responsible")
    list_select_related = ("policy", "responsible")
    show_full_result_count = False


@admin.register(SlaEvent)
class SlaEventAdmin(ReadOnlyAdmin):
    list_display = ("timer", "kind", "level", "responsible", "notified", "created_at")
    list_filter = ("kind", "level")
    raw_id_fields = ("timer", "notified", "responsible")
    show_full_result_count = False


class _AuditAdmin(ReadOnlyAdmin):
    """Audit rows are written by `sla.configuration` only."""

    list_display = ("__str__", "actor", "changed_at")


@admin.register(SlaPolicyChange)
class SlaPolicyChangeAdmin(_AuditAdmin):
    list_filter = ("policy",)


@admin.register(CalendarChange)
class CalendarChangeAdmin(_AuditAdmin):
    list_filter = ("calendar",)
