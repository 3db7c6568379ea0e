"""Shared write paths: in-app notifications and account/contact find-or-create."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from crm.models import Notification, User


def notify(
    *,
    recipients: Iterable[User | None],
    kind: str,
    message: str,
    url: str = "",
    email: bool = False,
) -> list[Notification]:
    """Bell notifications for `recipients`, written in the caller's transaction. E-mail,
    when asked for, is queued only after the commit."""
    people = {r.pk: r for r in recipients if r is not None and r.is_active}
    rows = Notification.objects.bulk_create(
        Notification(recipient=r, kind=kind, message=message[:300], url=url)
        for r in people.values()
    )
    if email:
        from crm.tasks import send_notification_email_task

        for person in people.values():
            if person.email:
                transaction.on_commit(
                    partial(
                        send_notification_email_task.delay,
                        to=person.email,
                        subject=message[:120],
                        body=message,
                        url=url,
                    )
                )
    return rows


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread when `ids` is None)."""
    queryset = Notification.objects.for_user(user).unread()
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())
