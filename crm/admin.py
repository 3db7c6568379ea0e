from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, Notification, Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "get_full_name", "email", "role", "team", "manager", "is_active")
    list_filter = ("role", "team", "is_active", "is_staff")
    list_select_related = ("team", "manager")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Threshold"), {"fields": ("role", "team", "manager", "time_zone", "default_currency")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
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
    list_display = ("recipient", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("message", "recipient__username")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient",)
    show_full_result_count = False
