from django.contrib import admin

from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    Stage,
    StageChange,
)


class ContactRoleInline(admin.TabularInline):
    model = OpportunityContactRole
    raw_id_fields = ("contact",)
    extra = 0


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fields = ("changed_at", "from_stage", "to_stage", "actor", "time_in_previous_stage")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "account",
        "owner",
        "stage",
        "amount",
        "currency",
        "probability",
        "expected_close_date",
        "approval",
    )
    list_filter = ("stage", "currency", "source", "approval", "is_override")
    search_fields = ("name", "account__name")
    list_select_related = ("account", "owner", "stage")
    raw_id_fields = ("lead", "account", "primary_contact", "owner", "next_step_owner", "created_by")
    readonly_fields = ("approval", "is_override", "stage_entered_at", "version", "created_at")
    inlines = [ContactRoleInline, StageChangeInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "position",
        "default_probability",
        "is_entry",
        "counts_as_early",
        "rot_days",
        "is_won",
        "is_lost",
        "is_active",
    )
    list_editable = ("default_probability", "rot_days", "is_active")


@admin.register(ConversionSnapshot)
class ConversionSnapshotAdmin(admin.ModelAdmin):
    list_display = ("lead", "opportunity", "converted_by", "created_at")
    raw_id_fields = ("lead", "opportunity", "converted_by")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # immutable audit record


@admin.register(ConversionPolicy)
class ConversionPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "close_window_min_days",
        "close_window_max_days",
        "approval_thresholds",
        "approval_required",
    )

    def has_add_permission(self, request) -> bool:
        return not ConversionPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConversionRequest)
class ConversionRequestAdmin(admin.ModelAdmin):
    list_display = ("lead", "requested_by", "requested_at", "state", "decided_by", "decided_at")
    list_filter = ("state",)
    raw_id_fields = ("lead", "requested_by", "decided_by", "opportunity")
    readonly_fields = ("data", "unmet")
