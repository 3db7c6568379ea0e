"""Navigation by role, and the unread-notification count for the bell."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.models import Notification


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        (_("My work"), reverse("home"), "bi-house"),
        (_("Leads"), reverse("leads:list"), "bi-inbox"),
        (_("Opportunities"), reverse("opportunities:list"), "bi-briefcase"),
        (_("Pipeline"), reverse("opportunities:board"), "bi-kanban"),
        # Everyone: managers and RevOps see their scope, reps their own figures.
        (_("Dashboard"), reverse("reports:dashboard"), "bi-speedometer2"),
    ]
    if user.is_manager or user.is_revops:
        items.append((_("Approvals"), reverse("opportunities:overrides"), "bi-check2-square"))
        items.append((_("SLA"), reverse("sla:dashboard"), "bi-stopwatch"))
    # Only sections that exist: the Django admin is the one other page, and for staff only.
    if user.is_staff:
        items.append((_("Administration"), reverse("admin:index"), "bi-gear"))
    return {
        "nav_items": items,
        "unread_notifications": Notification.objects.for_user(user).unread().count(),
    }
