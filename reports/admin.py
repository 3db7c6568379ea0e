"""The reports' admin: benchmark edits go through `reports.services.benchmarks_update`, as
on the benchmarks page, so they get the same checks and the same audit row; the MQL
targets (edited on their page), the audits and the rollup state are read-only."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from crm.models import User
from reports.models import (
    BenchmarkChange,
    BenchmarkRange,
    MqlTarget,
    MqlTargetChange,
    ReportPolicy,
    RollupState,
)
from reports.services import RangeEdit, ThresholdsEdit, benchmarks_update


def _staff_user(request: HttpRequest) -> User:
    """The admin's signed-in user (the admin site lets no anonymous request through)."""
    return cast(User, request.user)


class _RevOpsEditsAdmin(admin.ModelAdmin):
    """Editable by whoever may edit the benchmarks (RevOps), readable by who may read them."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.view_benchmarks")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reports.edit_benchmarks")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.edit_benchmarks")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.edit_benchmarks")


@admin.register(BenchmarkRange)
class BenchmarkRangeAdmin(_RevOpsEditsAdmin):
    list_display = ("source", "low_percent", "high_percent")
    list_editable = ("low_percent", "high_percent")

    def save_model(
        self, request: HttpRequest, obj: BenchmarkRange, form: ModelForm, change: bool
    ) -> None:
        """Saved by the service (the list's inline edits come here too)."""
        changes = benchmarks_update(by=_staff_user(request), ranges=[_range_edit(obj)])
        if not change and changes:
            obj.pk = changes[0].benchmark_id  # the admin links to the row it added

    def delete_model(self, request: HttpRequest, obj: BenchmarkRange) -> None:
        benchmarks_update(by=_staff_user(request), ranges=[_range_edit(obj, delete=True)])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BenchmarkRange]) -> None:
        benchmarks_update(
            by=_staff_user(request), ranges=[_range_edit(obj, delete=True) for obj in queryset]
        )


def _range_edit(obj: BenchmarkRange, *, delete: bool = False) -> RangeEdit:
    """The range as the admin form left it (not saved yet), as an edit for the service."""
    return RangeEdit(
        benchmark_id=obj.pk,
        source=obj.source,
        low_percent=obj.low_percent,
        high_percent=obj.high_percent,
        delete=delete,
    )


@admin.register(ReportPolicy)
class ReportPolicyAdmin(_RevOpsEditsAdmin):
    list_display = ("__str__", "pipeline_to_won_low", "pipeline_to_won_high", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row, made on first use.
        return super().has_add_permission(request) and not ReportPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ReportPolicy, form: ModelForm, change: bool
    ) -> None:
        """Saved by the service, which keeps the one row (pk=1) and audits the change."""
        benchmarks_update(
            by=_staff_user(request),
            thresholds=ThresholdsEdit(
                pipeline_to_won_low=obj.pipeline_to_won_low,
                pipeline_to_won_high=obj.pipeline_to_won_high,
            ),
        )
        obj.pk = 1


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BenchmarkChange)
class BenchmarkChangeAdmin(_ReadOnlyAdmin):
    """The audit of benchmark edits (written by `reports.services` only)."""

    list_display = ("__str__", "source", "actor", "changed_at")
    list_filter = ("source",)
    list_select_related = ("actor",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.view_benchmarks")


@admin.register(MqlTarget)
class MqlTargetAdmin(_ReadOnlyAdmin):
    """Read-only here: RevOps sets the targets on their page (Settings -> MQL targets), where
    every change goes through `reports.services.mql_targets_update` and is audited."""

    list_display = ("month", "source", "target", "updated_at")
    list_filter = ("source",)
    date_hierarchy = "month"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.view_mql_targets")


@admin.register(MqlTargetChange)
class MqlTargetChangeAdmin(_ReadOnlyAdmin):
    """The audit of MQL target edits (written by `reports.services` only)."""

    list_display = ("__str__", "month", "source", "actor", "changed_at")
    list_filter = ("source",)
    list_select_related = ("actor",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.view_mql_targets")


@admin.register(RollupState)
class RollupStateAdmin(_ReadOnlyAdmin):
    """How fresh the dashboard's rollups are (read-only: the beat task maintains them)."""

    list_display = ("refreshed_at", "rebuilt_at", "last_seconds", "lead_count")
    readonly_fields = [f.name for f in RollupState._meta.fields]
