"""Navigation by role, and the unread-notification count for the bell."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.models import Notification
from crm.navigation import sections_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        (section.label, reverse(section.url_name), section.icon) for section in sections_for(user)
    ]
    # Only sections that exist: the Django admin is the one other page, and for staff only.
    if user.is_staff:
        items.append((_("Administration"), reverse("admin:index"), "bi-gear"))
    return {
        "nav_items": items,
        "unread_notifications": Notification.objects.for_user(user).unread().count(),
    }
