"""Capture in the Django admin: read-only. Forms and keys change on RevOps' settings pages
(or the API), through the services that audit them; a key's secret exists nowhere to show."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from capture.models import CaptureChange, FormSubmission, IntakeKey, WebForm


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebForm)
class WebFormAdmin(ReadOnlyAdmin):
    list_display = ["name", "source", "campaign", "is_active", "created_by", "updated_at"]
    list_filter = ["is_active", "source"]
    search_fields = ["name", "campaign"]


@admin.register(FormSubmission)
class FormSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["form", "at", "outcome", "lead"]
    list_filter = ["outcome", "form"]
    list_select_related = ["form", "lead"]
    raw_id_fields = ["lead"]


@admin.register(IntakeKey)
class IntakeKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "prefix", "created_by", "created_at", "revoked_at", "last_used_at"]
    exclude = ["secret_hash"]


@admin.register(CaptureChange)
class CaptureChangeAdmin(ReadOnlyAdmin):
    list_display = ["kind", "object_label", "actor", "at"]
    list_filter = ["kind"]
