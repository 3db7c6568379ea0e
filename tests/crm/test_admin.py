"""The admin edits nothing a service owns."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_notifications_can_be_read_and_deleted_but_not_written_in_the_admin(
    client: Client,
) -> None:
    # given a notification that `notify` sent
    admin = UserFactory(admin=True)
    notification = Notification.objects.create(
        recipient=admin, kind=Notification.Kind.ASSIGNMENT, message="New lead for you"
    )
    client.force_login(admin)
    change_url = reverse("admin:crm_notification_change", args=[notification.pk])

    # then staff see it, but can neither add one nor change it
    assert client.get(reverse("admin:crm_notification_changelist")).status_code == 200
    assert client.get(change_url).status_code == 200
    assert client.get(reverse("admin:crm_notification_add")).status_code == 403
    edit = {"recipient": admin.pk, "kind": "handoff", "message": "Edited", "read_at_0": ""}
    assert client.post(change_url, edit).status_code == 403
    notification.refresh_from_db()
    assert (notification.message, notification.read_at) == ("New lead for you", None)

    # and housekeeping may still delete it
    delete_url = reverse("admin:crm_notification_delete", args=[notification.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Notification.objects.filter(pk=notification.pk).exists()
