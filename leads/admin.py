"""Admin for leads. Status is read-only here: lifecycle moves go through leads.services."""

from django.contrib import admin

from leads.models import (
    Activity,
    Handoff,
    Lead,
    LeadTransition,
    Qualification,
    RejectionReason,
    RoutingRule,
)


class TransitionInline(admin.TabularInline):
    model = LeadTransition
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "company_name",
        "full_name",
        "source",
        "status",
        "score",
        "owner",
        "ae",
        "created_at",
    )
    list_filter = ("status", "source", "segment", "team")
    search_fields = ("company_name", "last_name", "email", "company_domain")
    list_select_related = ("owner", "ae")
    readonly_fields = (
        "status",
        "created_at",
        "updated_at",
        "mql_at",
        "assigned_at",
        "first_contacted_at",
        "accepted_at",
        "qualified_at",
        "handed_off_at",
        "converted_at",
        "rejected_at",
        "nurtured_at",
        "disqualified_at",
        "rejection_reason",
        "rejection_note",
        "disqualification_reason",
        "version",
    )
    raw_id_fields = ("owner", "ae", "team", "account", "contact")
    inlines = [TransitionInline]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A converted lead keeps its links and timestamps for ever (reports need its source).
        if obj is not None and obj.status == Lead.Status.CONVERTED:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(LeadTransition)
class LeadTransitionAdmin(admin.ModelAdmin):
    list_display = ("lead", "from_status", "to_status", "actor", "created_at")
    list_filter = ("to_status", "from_status")
    raw_id_fields = ("lead", "actor")
    readonly_fields = ("lead", "from_status", "to_status", "actor", "reason", "created_at")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = (
        "lead",
        "framework",
        "budget_status",
        "authority_status",
        "need_status",
        "timeline_status",
        "decision_status",
    )
    list_filter = ("framework", "budget_status", "authority_status", "need_status")
    raw_id_fields = ("lead", "updated_by")
    search_fields = ("lead__company_name",)
    show_full_result_count = False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ("lead", "from_user", "to_user", "discovery_meeting_at", "ae_rating")
    list_filter = ("ae_rating", "ae_repeated_discovery")
    raw_id_fields = ("lead", "from_user", "to_user")
    search_fields = ("lead__company_name",)
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "lead", "opportunity", "owner", "occurred_at", "due_at")
    list_filter = ("kind",)
    raw_id_fields = ("lead", "opportunity", "owner")
    search_fields = ("subject", "lead__company_name")
    list_select_related = ("lead", "opportunity", "owner")
    show_full_result_count = False


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "is_active", "position")
    list_editable = ("is_active", "position")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "position",
        "strategy",
        "team",
        "match_source",
        "match_segment",
        "match_territory",
        "is_active",
    )
    list_filter = ("strategy", "is_active", "team")
    list_editable = ("position", "is_active")
