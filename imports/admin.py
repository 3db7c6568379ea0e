"""Imports in the admin: read-only. Uploads, runs and cancels go through the import pages
and the API (`imports.services`); the setting through its Settings page, audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from imports.models import ImportJob, ImportSettings, ImportSettingsChange


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(_ReadOnly):
    list_display = ("file_name", "status", "created_by", "created_at", "total", "processed",
                    "created", "updated", "skipped", "failed")  # fmt: skip
    list_filter = ("status", "dry_run")
    search_fields = ("file_name",)
    exclude = ("owner_counts",)


@admin.register(ImportSettings)
class ImportSettingsAdmin(_ReadOnly):
    list_display = ("sdrs_may_import", "updated_by", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportSettingsChange)
class ImportSettingsChangeAdmin(_ReadOnly):
    list_display = ("changed_at", "actor", "old", "new")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
