from django.contrib import admin

from reports.models import BenchmarkRange, ReportPolicy, RollupState


@admin.register(BenchmarkRange)
class BenchmarkRangeAdmin(admin.ModelAdmin):
    list_display = ("source", "low_percent", "high_percent")
    list_editable = ("low_percent", "high_percent")


@admin.register(ReportPolicy)
class ReportPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "pipeline_to_won_low", "pipeline_to_won_high", "updated_at")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001 - one row, made on first use
        return not ReportPolicy.objects.exists()


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    """How fresh the dashboard's rollups are (read-only: the beat task maintains them)."""

    list_display = ("refreshed_at", "rebuilt_at", "last_seconds", "lead_count")
    readonly_fields = [f.name for f in RollupState._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
