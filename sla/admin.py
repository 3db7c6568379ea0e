from django.contrib import admin

from sla.models import BusinessCalendar, CalendarHoliday, SlaEvent, SlaPolicy, SlaTimer


class HolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "work_starts", "work_ends", "holiday_country")
    inlines = [HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
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
class SlaTimerAdmin(admin.ModelAdmin):
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
class SlaEventAdmin(admin.ModelAdmin):
    list_display = ("timer", "kind", "level", "notified", "created_at")
    list_filter = ("kind", "level")
    raw_id_fields = ("timer", "notified")
    show_full_result_count = False
