"""The admin for deals and RevOps' pipeline configuration.

Fields the services own (a deal's stage, amount, currency, owner, approval, version,
lead; an override request's decision) are read-only here: they change in the product,
where every change is checked and audited. The deal fields the edit page offers go
through `opportunity_update` (and its audit); stages and the conversion policy go
through `opportunities.services.configuration`, so an admin edit is judged by the same
rules as the settings pages and leaves the same `PolicyChange` row. RevOps edits them on
the settings pages (/settings/stages/, /settings/conversion-policy/); here only a
superuser, or a user RevOps' rules allow, changes them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.exceptions import Problem
from crm.models import User
from opportunities import services
from opportunities.models import (
    ConversionPolicy,
    ConversionRequest,
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    OpportunityEvent,
    PolicyChange,
    Stage,
    StageChange,
)
from opportunities.services import configuration

# The edit page's fields, less those the admin must not touch (money moves in the product).
ADMIN_EDITABLE = tuple(f for f in services.EDITABLE_FIELDS if f not in ("amount", "currency"))


def _actor(request: HttpRequest) -> User:
    """The signed-in admin user (the admin site requires a staff login)."""
    assert isinstance(request.user, User)
    return request.user


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

    def has_add_permission(self, request: HttpRequest, obj: Opportunity | None = None) -> bool:
        return False


class OpportunityEventInline(admin.TabularInline):
    model = OpportunityEvent
    fields = ("at", "kind", "actor", "changes", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Opportunity | None = None) -> bool:
        return False


class OpportunityAdminForm(forms.ModelForm):
    """Judges an edit as the product does (`edit_problems`), so an admin save either
    goes through `opportunity_update` or shows the problems on the fields."""

    class Meta:
        model = Opportunity
        fields = ADMIN_EDITABLE

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        changes = {name: cleaned[name] for name in self.changed_data if name in cleaned}
        policy = ConversionPolicy.current()
        for problem in services.edit_problems(changes, policy=policy, opportunity=self.instance):
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, str(problem.message))
        return cleaned


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    form = OpportunityAdminForm
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
    raw_id_fields = ("next_step_owner",)
    # Everything but the edit page's fields: set at conversion or by a lifecycle step.
    readonly_fields = tuple(
        field.name
        for field in Opportunity._meta.concrete_fields
        if field.name not in ADMIN_EDITABLE and not field.primary_key
    )
    inlines = [ContactRoleInline, StageChangeInline, OpportunityEventInline]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every opportunity is born from a lead, in the conversion wizard

    def has_change_permission(self, request: HttpRequest, obj: Opportunity | None = None) -> bool:
        """Staff edit the deals they may work in the product (the service checks again)."""
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return request.user.has_perm("opportunities.work_opportunity", obj)

    def save_model(
        self,
        request: HttpRequest,
        obj: Opportunity,
        form: forms.ModelForm[Opportunity],
        change: bool,
    ) -> None:
        """Through `opportunity_update`: checked, versioned and audited as in the product."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if changes:
            services.opportunity_update(opportunity_id=obj.pk, by=_actor(request), data=changes)


def _may_configure(request: HttpRequest) -> bool:
    return request.user.has_perm("opportunities.change_settings")


def _problems_on_form(form: forms.BaseForm, problems: list[Problem]) -> None:
    for problem in problems:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, str(problem.message))


class StageAdminForm(forms.ModelForm):
    """Judged by the same rules as the settings page (`configuration.stage_problems`)."""

    class Meta:
        model = Stage
        fields = configuration.STAGE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stage = self.instance if self.instance.pk else None
        values = configuration.stage_values(stage) if stage else {}
        values.update(
            {name: cleaned[name] for name in configuration.STAGE_FIELDS if name in cleaned}
        )
        if set(configuration.STAGE_FIELDS) <= set(values):
            _problems_on_form(self, configuration.stage_problems(values, stage=stage))
        return cleaned


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    """Superusers' view of the stages RevOps edits on the settings page; saves and deletes
    go through `configuration`, with its rules and its audit row."""

    form = StageAdminForm
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_configure(request)

    def has_change_permission(self, request: HttpRequest, obj: Stage | None = None) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)

    def has_delete_permission(self, request: HttpRequest, obj: Stage | None = None) -> bool:
        return super().has_delete_permission(request, obj) and _may_configure(request)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[Any, Any], set[Any], list[Any]]:
        """A stage with deals, or the last entry, won or lost stage, is not deleted: the
        admin lists why, as it does for protected rows."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        stages = list(objs)
        for stage in stages:
            for problem in configuration.stage_delete_problems(stage, with_them=stages):
                protected.append(f"{stage}: {problem.message}")
        return deleted, counts, perms_needed, protected

    def save_model(
        self, request: HttpRequest, obj: Stage, form: forms.ModelForm[Stage], change: bool
    ) -> None:
        services.stage_save(stage=obj, by=_actor(request))

    def delete_model(self, request: HttpRequest, obj: Stage) -> None:
        services.stage_delete(stage=obj, by=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Stage]) -> None:
        with transaction.atomic():
            for stage in queryset:
                services.stage_delete(stage=stage, by=_actor(request))


@admin.register(ConversionSnapshot)
class ConversionSnapshotAdmin(admin.ModelAdmin):
    list_display = ("lead", "opportunity", "converted_by", "created_at")
    raw_id_fields = ("lead", "opportunity", "converted_by")

    def has_change_permission(
        self, request: HttpRequest, obj: ConversionSnapshot | None = None
    ) -> bool:
        return False  # immutable audit record


class ConversionPolicyAdminForm(forms.ModelForm):
    """Judged by the same rules as the settings page (`conversion_policy_problems`)."""

    class Meta:
        model = ConversionPolicy
        fields = configuration.POLICY_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = configuration.policy_values(ConversionPolicy.current())
        values.update(
            {name: cleaned[name] for name in configuration.POLICY_FIELDS if name in cleaned}
        )
        if set(configuration.POLICY_FIELDS) <= set(cleaned):
            _problems_on_form(self, configuration.conversion_policy_problems(values))
        return cleaned


@admin.register(ConversionPolicy)
class ConversionPolicyAdmin(admin.ModelAdmin):
    form = ConversionPolicyAdminForm
    list_display = (
        "__str__",
        "close_window_min_days",
        "close_window_max_days",
        "approval_thresholds",
        "approval_required",
    )
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the one row exists from the migrations on (`ConversionPolicy.current`)

    def has_change_permission(
        self, request: HttpRequest, obj: ConversionPolicy | None = None
    ) -> bool:
        return super().has_change_permission(request, obj) and _may_configure(request)

    def has_delete_permission(
        self, request: HttpRequest, obj: ConversionPolicy | None = None
    ) -> bool:
        return False

    def save_model(
        self,
        request: HttpRequest,
        obj: ConversionPolicy,
        form: forms.ModelForm[ConversionPolicy],
        change: bool,
    ) -> None:
        services.conversion_policy_save(policy=obj, by=_actor(request))


@admin.register(ConversionRequest)
class ConversionRequestAdmin(admin.ModelAdmin):
    """Read-only: requests are made in the wizard and decided on the approvals page."""

    list_display = ("lead", "requested_by", "requested_at", "state", "decided_by", "decided_at")
    list_filter = ("state",)
    list_select_related = ("lead", "requested_by", "decided_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ConversionRequest | None = None
    ) -> bool:
        return False


class AuditAdmin(admin.ModelAdmin):
    """Audit rows are written by services only, and never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OpportunityEvent)
class OpportunityEventAdmin(AuditAdmin):
    list_display = ("opportunity", "kind", "actor", "at")
    list_filter = ("kind",)
    list_select_related = ("opportunity", "actor")
    raw_id_fields = ("opportunity",)


@admin.register(PolicyChange)
class PolicyChangeAdmin(AuditAdmin):
    list_display = ("model", "object_id", "actor", "at")
    list_filter = ("model",)
    list_select_related = ("actor",)
