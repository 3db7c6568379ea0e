"""The bell's page: the signed-in user's notifications, newest first, with mark-as-read.

Routed from `crm/urls.py` with ``path("notifications/", include("crm.notification_views"))``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm.models import Notification
from crm.services import notifications_mark_read
from crm.web.requests import AuthedHttpRequest

PAGE_SIZE = 30

KIND_ICONS = {
    Notification.Kind.ASSIGNMENT: "bi-person-plus",
    Notification.Kind.HANDOFF: "bi-send",
    Notification.Kind.SLA_WARNING: "bi-hourglass-split",
    Notification.Kind.SLA_BREACH: "bi-alarm-fill",
    Notification.Kind.ESCALATION: "bi-arrow-up-right-circle-fill",
    Notification.Kind.APPROVAL: "bi-patch-question",
    Notification.Kind.CONVERSION: "bi-briefcase",
    Notification.Kind.FEEDBACK: "bi-megaphone",
}


@login_required
@require_GET
def notification_list(request: AuthedHttpRequest) -> HttpResponse:
    show = "unread" if request.GET.get("show") == "unread" else "all"
    mine = Notification.objects.for_user(request.user)
    notifications = mine.unread() if show == "unread" else mine
    page = Paginator(notifications.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for notification in page.object_list:
        notification.icon = KIND_ICONS.get(notification.kind, "bi-bell")
    return render(
        request,
        "crm/notifications.html",
        {"page": page, "show": show, "unread_count": mine.unread().count()},
    )


@login_required
@require_POST
def notification_mark_read(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    return _back(request)


@login_required
@require_POST
def notification_mark_all_read(request: AuthedHttpRequest) -> HttpResponse:
    count = notifications_mark_read(user=request.user)
    messages.success(
        request,
        ngettext("%(n)d notification marked as read.", "%(n)d notifications marked as read.", count)
        % {"n": count}
        if count
        else _("Nothing was unread."),
    )
    return _back(request)


@login_required
@require_GET
def notification_open(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.url)
    return redirect("notifications:list")


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:list")


app_name = "notifications"

urlpatterns = [
    path("", notification_list, name="list"),
    path("read-all/", notification_mark_all_read, name="read_all"),
    path("<int:pk>/read/", notification_mark_read, name="read"),
    path("<int:pk>/open/", notification_open, name="open"),
]
