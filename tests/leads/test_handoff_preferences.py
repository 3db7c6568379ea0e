"""The hand-off reaches the AE on the channels they chose for hand-offs: the bell row
(`crm.services.notify`) if they take hand-offs in the app, the invitation e-mail
(`leads.tasks.handoff_email_task`) if they take them by e-mail, checked when it is sent."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.utils import timezone

from crm.models import Notification, User
from crm.preferences import user_update_preferences
from leads.models import Handoff
from leads.tasks import handoff_email_task
from tests.leads.test_handoff_email import hand_off

pytestmark = pytest.mark.django_db

HANDOFF = Notification.Kind.HANDOFF


def choose(ae: User, **channels: bool) -> None:
    user_update_preferences(user=ae, by=ae, changes={"notifications": {HANDOFF: channels}})


def handed_off(sdr: User, ae: User, capture) -> Handoff:
    return hand_off(sdr, ae, timezone.now() + datetime.timedelta(days=2), capture)


def bells(ae: User) -> int:
    return Notification.objects.filter(recipient=ae, kind=HANDOFF).count()


@pytest.mark.parametrize(
    ("channels", "bell_rows", "emails"),
    [
        ({}, 1, 1),
        ({"in_app": False}, 0, 1),
        ({"email": False}, 1, 0),
        ({"in_app": False, "email": False}, 0, 0),
    ],
    ids=["both", "email-only", "in-app-only", "neither"],
)
def test_each_channel_follows_the_aes_choice(
    sdr, ae, mailoutbox, django_capture_on_commit_callbacks, channels, bell_rows, emails
):
    if channels:
        choose(ae, **channels)

    handed_off(sdr, ae, django_capture_on_commit_callbacks)

    assert bells(ae) == bell_rows
    assert len(mailoutbox) == emails
    if emails:  # the invitation e-mail, never also the bell's plain copy
        assert [part.get_content_type() for part in mailoutbox[0].attachments] == ["text/calendar"]


def test_e_mail_turned_off_before_it_is_sent_is_not_sent(sdr, ae, mailoutbox):
    # The outbox row is written with the hand-off; the relay sends it later.
    handoff = handed_off(sdr, ae, lambda execute: contextlib.nullcontext())
    choose(ae, email=False)

    assert handoff_email_task(handoff_id=handoff.pk) is False
    assert mailoutbox == []
    choose(ae, email=True)
    assert handoff_email_task(handoff_id=handoff.pk) is True
    assert len(mailoutbox) == 1


def test_the_sdrs_own_choices_do_not_decide_the_aes(
    sdr, ae, mailoutbox, django_capture_on_commit_callbacks
):
    user_update_preferences(
        user=sdr, by=sdr, changes={"notifications": {HANDOFF: {"in_app": False, "email": False}}}
    )

    handed_off(sdr, ae, django_capture_on_commit_callbacks)

    assert bells(ae) == 1
    assert [m.to for m in mailoutbox] == [[ae.email]]
