"""The outbox in the admin: read-only rows, filtered by state, and one action — try the
selected undelivered rows again now (dead letters included), logged per row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.outbox.models import OutboxMessage
from crm.outbox.services import outbox_retry


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("pending", _("Waiting")),
            ("dead", _("Given up (dead letters)")),
            ("delivered", _("Delivered")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "pending":
            return queryset.filter(delivered_at__isnull=True, dead_at__isnull=True)
        if value == "dead":
            return queryset.filter(delivered_at__isnull=True, dead_at__isnull=False)
        if value == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Rows are written by `outbox_put` in the transaction of their change and delivered
    by the relay; here they are only read, retried or (housekeeping) deleted."""

    list_display = (
        "id",
        "kind",
        "delivery_key",
        "state_label",
        "attempts",
        "created_at",
        "available_at",
        "delivered_at",
        "short_error",
    )
    list_filter = (StateFilter, "kind")
    search_fields = ("delivery_key", "kind")
    readonly_fields = (
        "kind",
        "delivery_key",
        "payload",
        "created_at",
        "available_at",
        "attempts",
        "delivered_at",
        "dead_at",
        "last_error",
    )
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.display(description=_("state"))
    def state_label(self, obj: OutboxMessage) -> str:
        return {
            "delivered": str(_("Delivered")),
            "dead": str(_("Given up")),
            "pending": str(_("Waiting")),
        }[obj.state]

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        """Never through the form: a row saved from a page opened before the relay
        delivered it would be delivered again. The retry action is the one change."""
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("crm.change_outboxmessage")

    @admin.action(
        description=_("Try the selected undelivered messages again now"),
        permissions=["retry"],
    )
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        undelivered = list(queryset.filter(delivered_at__isnull=True))
        count = outbox_retry(ids=[m.pk for m in undelivered])
        for message in undelivered:
            self.log_change(request, message, "Retried: attempts reset, due now")
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be tried again now.",
                "%(count)d messages will be tried again now.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
