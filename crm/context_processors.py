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
    ]
    # Only sections that exist: the Django admin is the one other page, and for staff only.
    if user.is_staff:
        items.append((_("Administration"), reverse("admin:index"), "bi-gear"))
    return {
        "nav_items": items,
        "unread_notifications": Notification.objects.for_user(user).unread().count(),
    }
