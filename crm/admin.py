"""Admin for the shared core. Users, teams, accounts and contacts have no service of their
own beyond find-or-create, so the admin edits them; notifications are written by
`crm.services.notify` and read by their recipient, so the admin only shows (and deletes)
them."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, Notification, Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "get_full_name", "email", "role", "team", "manager", "is_active")
    list_filter = ("role", "team", "is_active", "is_staff")
    list_select_related = ("team", "manager")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Threshold"), {"fields": ("role", "team", "manager", "time_zone", "default_currency")}),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (_("Threshold"), {"fields": ("role", "team", "manager", "time_zone")}),
    )
    autocomplete_fields = ("team", "manager")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "territory")
    search_fields = ("name", "territory")
    list_select_related = ("manager",)
    autocomplete_fields = ("manager",)


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("first_name", "last_name", "email", "job_title", "is_decision_maker")
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "industry", "country", "owner", "is_strategic", "created_at")
    list_filter = ("is_strategic", "industry", "country")
    search_fields = ("name", "normalized_name", "normalized_domain")
    readonly_fields = ("normalized_name", "normalized_domain", "created_at", "updated_at")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    inlines = [ContactInline]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "job_title", "account", "is_decision_maker")
    list_filter = ("is_decision_maker",)
    search_fields = ("last_name", "first_name", "normalized_email", "account__name")
    list_select_related = ("account",)
    autocomplete_fields = ("account", "reports_to")
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: a notification is sent by `notify` (which also queues its e-mail) and
    marked read by its recipient; one written or edited here would do neither."""

    list_display = ("recipient", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("message", "recipient__username")
    list_select_related = ("recipient",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


# The outbox's admin lives with its code; imported here so the admin site registers it.
from crm.outbox import admin as outbox_admin  # noqa: E402, F401
