from django.contrib import admin

from sla.models import (
    BusinessCalendar,
    CalendarChange,
    CalendarHoliday,
    SlaEvent,
    SlaPolicy,
    SlaPolicyChange,
    SlaTimer,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """SLA settings change through /sla/ (or the API), where every edit is validated and
    audited; timers and events change only through the lifecycle and the sweep. The admin
    shows them, read-only."""

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


class HolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ReadOnlyAdmin):
    list_display = ("name", "time_zone", "work_starts", "work_ends", "holiday_country")
    inlines = [HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReadOnlyAdmin):
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
