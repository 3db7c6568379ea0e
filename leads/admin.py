"""Admin for leads: a window onto the data, never a way around the services.

What a service owns (status, owner, team, AE, version, milestones, the five criteria,
the hand-off, transitions and events) is read-only here. A lead's own fields may be
corrected, but the save goes through `leads.services.lead_update`, so it bumps the
version and leaves the same old → new event row as the lead's edit page. Leads are
created by intake only (routing, the MQL move and the SLA clocks come with it), and
nothing here reassigns a lead: that is `lead_assign`, on the lead page. Routing rules
and reasons save through `leads.services.settings`, audited like the settings pages.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.exceptions import Problem
from crm.models import User
from leads import gate, services
from leads.models import (
    Activity,
    DisqualificationReason,
    Handoff,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
    RejectionReason,
    RoutingRule,
    SettingChange,
)
from leads.services import settings as settings_service


def _all_fields(model: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if not f.primary_key)


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


class TransitionInline(admin.TabularInline):
    model = LeadTransition
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LeadAdminForm(forms.ModelForm):
    """Refuses what `lead_update` would refuse, as field errors (the gate's own words)."""

    class Meta:
        model = Lead
        fields = list(services.EDITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        merged = {f: cleaned.get(f, getattr(self.instance, f)) for f in services.EDITABLE_FIELDS}
        for problem in gate.intake_problems(merged):
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, str(problem.message))
        return cleaned


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
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
    # Everything but the lead's own editable fields belongs to a service.
    readonly_fields = tuple(
        name for name in _all_fields(Lead) if name not in services.EDITABLE_FIELDS
    )
    inlines = [TransitionInline]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # intake only: it validates, routes and starts the clocks

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The same rule as the lead's edit page; others get a read-only view.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or request.user.has_perm("leads.work_lead", obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A converted lead keeps its links and timestamps for ever (reports need its source).
        if obj is not None and obj.status == Lead.Status.CONVERTED:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        """Save through `lead_update`: a version bump and an event row with old → new."""
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.EDITABLE_FIELDS
        }
        if data:
            # The admin is behind a staff login: the user is a real User.
            services.lead_update(lead_id=obj.pk, by=cast(User, request.user), data=data)
        obj.refresh_from_db()


@admin.register(LeadTransition)
class LeadTransitionAdmin(ReadOnlyAdmin):
    list_display = ("lead", "from_status", "to_status", "actor", "created_at")
    list_filter = ("to_status", "from_status")
    list_select_related = ("lead", "actor")
    show_full_result_count = False


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdmin):
    list_display = ("lead", "kind", "actor", "created_at")
    list_filter = ("kind",)
    list_select_related = ("lead", "actor")
    show_full_result_count = False


@admin.register(Qualification)
class QualificationAdmin(ReadOnlyAdmin):
    """The five criteria move through `qualification_update` (the lead page's panel)."""

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
    list_select_related = ("lead",)
    search_fields = ("lead__company_name",)
    show_full_result_count = False


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    """Written by `lead_hand_off` and `lead_record_discovery`."""

    list_display = ("lead", "from_user", "to_user", "discovery_meeting_at", "ae_rating")
    list_filter = ("ae_rating", "ae_repeated_discovery")
    list_select_related = ("lead", "from_user", "to_user")
    search_fields = ("lead__company_name",)
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "lead", "opportunity", "owner", "occurred_at", "due_at")
    list_filter = ("kind",)
    search_fields = ("subject", "lead__company_name")
    list_select_related = ("lead", "opportunity", "owner")
    # Logged by `activity_log`: the first call or e-mail stops an SLA clock, so what it
    # belongs to and whether it was the first contact are not edited here.
    readonly_fields = (
        "lead",
        "opportunity",
        "owner",
        "is_first_contact",
        "completed_at",
        "created_at",
    )
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # logged on the lead or opportunity page


class _SettingsAdmin(admin.ModelAdmin):
    """RevOps' settings: saved through `leads.services.settings` (validated, audited as
    on the settings pages); retired, never deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and request.user.has_perm(
            "leads.change_settings"
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and request.user.has_perm(
            "leads.change_settings"
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # leads and the audit point at them: retire instead


def _problems_on_form(form: forms.ModelForm, problems: list[Problem]) -> None:
    """The service's problems as the admin form's errors, each field named once."""
    for problem in problems:
        field = problem.field if problem.field in form.fields else None
        if field is not None and field in form.errors:
            continue
        form.add_error(field, str(problem.message))


class RoutingRuleAdminForm(forms.ModelForm):
    """Refuses what `routing_rule_create` / `routing_rule_update` would refuse."""

    class Meta:
        model = RoutingRule
        fields = list(settings_service.RULE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        rule = self.instance if self.instance.pk else None
        data = {name: cleaned[name] for name in settings_service.RULE_FIELDS if name in cleaned}
        values = settings_service.routing_rule_values(data, rule=rule)
        _problems_on_form(self, settings_service.routing_rule_problems(values, rule=rule))
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(_SettingsAdmin):
    form = RoutingRuleAdminForm
    list_display = (
        "name",
        "position",
        "strategy",
        "team",
        "match_source",
        "match_segment",
        "match_territory",
        "match_country",
        "match_campaign",
        "is_active",
    )
    list_filter = ("strategy", "is_active", "team")
    list_select_related = ("team",)

    def save_model(self, request: HttpRequest, obj: RoutingRule, form: Any, change: bool) -> None:
        """Save through the settings service: validated and audited like the app's page."""
        by = cast(User, request.user)  # the admin is behind a staff login
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            if data:
                settings_service.routing_rule_update(rule_id=obj.pk, by=by, data=data)
        else:
            data = {name: form.cleaned_data[name] for name in settings_service.RULE_FIELDS}
            obj.pk = settings_service.routing_rule_create(by=by, data=data).pk
        obj.refresh_from_db()


class ReasonAdminForm(forms.ModelForm):
    """Refuses what `reason_create` / `reason_update` would refuse."""

    kind = "rejection"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            self.fields["code"].help_text = _("Made from the label when blank; never changes.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        reason = self.instance if self.instance.pk else None
        data = {name: cleaned[name] for name in settings_service.REASON_FIELDS if name in cleaned}
        values = settings_service.reason_values(self.kind, data, reason=reason)
        _problems_on_form(self, settings_service.reason_problems(self.kind, values, reason=reason))
        return cleaned

    def validate_unique(self) -> None:
        """The service words a duplicate code (in `clean`)."""


class RejectionReasonAdminForm(ReasonAdminForm):
    kind = "rejection"

    class Meta:
        model = RejectionReason
        fields = list(settings_service.REASON_FIELDS)


class DisqualificationReasonAdminForm(ReasonAdminForm):
    kind = "disqualification"

    class Meta:
        model = DisqualificationReason
        fields = list(settings_service.REASON_FIELDS)


class _ReasonAdmin(_SettingsAdmin):
    kind = "rejection"
    list_display = ("label", "code", "is_active", "position")
    list_filter = ("is_active",)
    search_fields = ("label", "code")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save through the settings service: validated and audited like the app's page."""
        by = cast(User, request.user)  # the admin is behind a staff login
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            if data:
                settings_service.reason_update(kind=self.kind, reason_id=obj.pk, by=by, data=data)
        else:
            data = {name: form.cleaned_data[name] for name in settings_service.REASON_FIELDS}
            obj.pk = settings_service.reason_create(kind=self.kind, by=by, data=data).pk
        obj.refresh_from_db()


@admin.register(RejectionReason)
class RejectionReasonAdmin(_ReasonAdmin):
    kind = "rejection"
    form = RejectionReasonAdminForm


@admin.register(DisqualificationReason)
class DisqualificationReasonAdmin(_ReasonAdmin):
    kind = "disqualification"
    form = DisqualificationReasonAdminForm


@admin.register(SettingChange)
class SettingChangeAdmin(ReadOnlyAdmin):
    """Written by `leads.services.settings`; the app shows it under Settings → history."""

    list_display = ("at", "kind", "object_label", "actor")
    list_filter = ("kind",)
    list_select_related = ("actor",)
    search_fields = ("object_label",)
    show_full_result_count = False
