"""Notifications and their e-mails speak the recipient's language and show times in the
recipient's zone, whoever acted and in whatever language their request ran
(crm.preferences.composed_for, crm.services.notify); marketing, an address with no
settings, reads the site's language."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.formats import number_format

from crm.models import Notification, User
from crm.outbox.models import OutboxMessage
from crm.preferences import composed_for
from crm.services import notify
from leads import services
from tests.factories import LeadFactory, UserFactory
from tests.leads.test_handoff_email import hand_off

pytestmark = pytest.mark.django_db

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


def person(username: str, language: str, zone: str = "UTC", **traits: bool) -> User:
    return UserFactory(username=username, language=language, time_zone=zone, **traits)


def assigned_message(*, by: User, to: User, actor_language: str) -> str:
    lead = LeadFactory(owner=None, company_name="Kopi Kita", first_name="Budi", last_name="S")
    with translation.override(actor_language):  # the actor's request
        services.lead_assign(lead_id=lead.pk, by=by, owner=to)
    return Notification.objects.get(recipient=to).message


def test_an_indonesian_recipient_of_an_english_actor_reads_indonesian(revops):
    ani = person("ani", "id", sdr=True)

    message = assigned_message(by=revops, to=ani, actor_language="en")

    assert message == "Lead baru untuk Anda: Kopi Kita (Budi S)"


def test_an_english_recipient_of_an_indonesian_actor_reads_english():
    boss = person("boss", "id", revops=True)
    sam = person("sam", "en", sdr=True)

    message = assigned_message(by=boss, to=sam, actor_language="id")

    assert message == "New lead for you: Kopi Kita (Budi S)"


def test_a_recipient_who_chose_no_language_reads_the_sites(revops):
    blank = person("blank", "", sdr=True)

    assert assigned_message(by=revops, to=blank, actor_language="id").startswith("New lead")


@pytest.mark.parametrize(
    ("sdr_settings", "ae_settings", "bell_text", "subject_start"),
    [
        (
            ("en", "America/New_York"),
            ("id", "Asia/Jakarta"),
            "menyerahkan Nusantara Logistik, PT kepada Anda; discovery pada 2031-03-04 10:30 WIB",
            "Serah terima: Nusantara Logistik, PT",
        ),
        (
            ("id", "Asia/Jakarta"),
            ("en", "Europe/London"),
            "handed off Nusantara Logistik, PT to you; discovery on 2031-03-04 03:30 GMT",
            "Hand-off: Nusantara Logistik, PT",
        ),
    ],
    ids=["english-sdr-to-indonesian-ae", "indonesian-sdr-to-english-ae"],
)
def test_the_hand_off_reaches_the_ae_in_their_language_at_their_time(
    mailoutbox,
    django_capture_on_commit_callbacks,
    sdr_settings,
    ae_settings,
    bell_text,
    subject_start,
):
    sdr = person("maya", *sdr_settings, sdr=True)
    ae = person("arif", *ae_settings, ae=True)
    meeting = datetime.datetime(2031, 3, 4, 10, 30, tzinfo=JAKARTA)

    with translation.override(sdr.language), timezone.override(sdr.time_zone):  # the SDR's
        hand_off(sdr, ae, meeting, django_capture_on_commit_callbacks)

    bell = Notification.objects.get(recipient=ae, kind=Notification.Kind.HANDOFF).message
    assert bell_text in bell
    [email] = mailoutbox
    assert email.subject.startswith(subject_start)


def approve_it() -> str:
    return translation.gettext(
        "Approve %(name)s: %(amount)s %(currency)s is above the threshold"
    ) % {
        "name": "Kopi",
        "amount": number_format(1234567, 0, force_grouping=True),
        "currency": "IDR",
    }


def test_each_recipient_reads_the_e_mail_subject_in_their_language(
    sdr, django_capture_on_commit_callbacks
):
    ani = person("ani", "id", manager=True)
    sam = person("sam", "en", manager=True)

    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        notify(
            recipients=[ani, sam],
            kind=Notification.Kind.APPROVAL,
            message=approve_it,
            url="/x/",
            email=True,
            by=sdr,
        )

    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects[ani.email] == "Setujui Kopi: 1.234.567 IDR melebihi ambang"
    assert subjects[sam.email] == "Approve Kopi: 1,234,567 IDR is above the threshold"


def test_a_message_is_composed_once_per_language_and_zone():
    people = [
        person("a", "id", "Asia/Jakarta"),
        person("b", "id", "Asia/Jakarta"),
        person("c", "en", "Asia/Jakarta"),
        person("d", "id", "Europe/Berlin"),
    ]
    calls: list[tuple[str | None, str]] = []

    def compose() -> str:
        calls.append((translation.get_language(), timezone.get_current_timezone_name()))
        return translation.gettext("Not found.")

    texts = composed_for(people, compose)

    assert sorted(calls) == [
        ("en", "Asia/Jakarta"),
        ("id", "Asia/Jakarta"),
        ("id", "Europe/Berlin"),
    ]
    assert [texts[p.pk] for p in people] == [
        "Tidak ditemukan.",
        "Tidak ditemukan.",
        "Not found.",
        "Tidak ditemukan.",
    ]


def test_marketing_reads_the_outcome_in_the_sites_language_whoever_acted(settings):
    settings.THRESHOLD_MARKETING_EMAIL = "marketing@example.com"
    putri = person("putri", "id", sdr=True)
    lead = LeadFactory(owner=putri)

    with translation.override("id"):
        services.lead_accept(lead_id=lead.pk, by=putri)

    row = OutboxMessage.objects.get(kind="leads.tasks.marketing_feedback_task")
    assert row.payload["outcome"] == "accepted by sales"
