"""The AE's hand-off e-mail (leads.tasks.handoff_email_task) and the calendar invitation it
carries (leads.invitations): one e-mail, an RFC 5545 REQUEST in the AE's time zone, the
same invitation however often it is sent."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from crm.models import User
from leads import services
from leads.invitations import discovery_invitation, escape_text, fold, vtimezone
from leads.models import Handoff, Lead
from leads.tasks import handoff_email_task
from tests.factories import LeadFactory, QualificationFactory, UserFactory

pytestmark = pytest.mark.django_db

PACKAGE = {
    "company_background": "400-person logistics firm in Surabaya; fits ICP.",
    "contacts_org_chart": "COO (buyer) -> Head of Sales (champion).",
    "pain_points": "Inbound leads wait two days for a reply, costing deals.",
    "engagement_history": "Webinar, two calls.",
    "qualification_notes": "BANT: budget, authority, need confirmed.",
    "recommended_next_step": "Discovery with the COO; bring the routing demo.",
}
JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


@pytest.fixture
def people():
    sdr = UserFactory(sdr=True, username="maya", first_name="Maya", last_name="Putri")
    ae = UserFactory(
        ae=True, username="arif", first_name="Arif", last_name="Wijaya", time_zone="Asia/Jakarta"
    )
    return sdr, ae


def hand_off(sdr: User, ae: User, meeting: datetime.datetime, capture) -> Handoff:
    lead = LeadFactory(
        owner=sdr,
        status=Lead.Status.SQL,
        company_name="Nusantara Logistik, PT",
        qualified_at=timezone.now(),
    )
    QualificationFactory(lead=lead)
    with capture(execute=True):
        return services.lead_hand_off(
            lead_id=lead.pk, by=sdr, to_user=ae, package=PACKAGE, discovery_meeting_at=meeting
        )


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_the_ae_gets_one_email_with_the_meeting_as_an_invitation_in_their_time_zone(
    people, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    sdr, ae = people
    meeting = datetime.datetime(2031, 3, 4, 10, 30, tzinfo=JAKARTA)

    handoff = hand_off(sdr, ae, meeting, django_capture_on_commit_callbacks)

    assert len(mailoutbox) == 1  # the invitation e-mail, not also the bell's plain copy
    message = mailoutbox[0]
    assert message.to == [ae.email]
    assert "Nusantara Logistik, PT" in message.subject
    assert "4 Mar 2031, 10:30" in message.subject  # Jakarta time, the AE's
    assert PACKAGE["pain_points"] in message.body
    calendar = [part for part in message.attachments if part.get_content_type() == "text/calendar"]
    assert len(calendar) == 1
    assert calendar[0].get_param("method") == "REQUEST"
    assert calendar[0].get_filename() == "discovery.ics"
    lines = unfold(calendar[0].get_payload(decode=True).decode())
    assert "METHOD:REQUEST" in lines
    assert f"UID:handoff-{handoff.pk}@127.0.0.1" in lines
    assert "DTSTART;TZID=Asia/Jakarta:20310304T103000" in lines
    assert "DTEND;TZID=Asia/Jakarta:20310304T110000" in lines
    assert "TZID:Asia/Jakarta" in lines and "TZOFFSETTO:+0700" in lines
    assert "SUMMARY:Discovery call: Nusantara Logistik\\, PT" in lines
    assert any(
        line.startswith("ATTENDEE;") and line.endswith(f"mailto:{ae.email}") for line in lines
    )
    assert any(
        line.startswith("ORGANIZER;") and line.endswith(f"mailto:{sdr.email}") for line in lines
    )


def test_sending_it_again_sends_the_same_invitation(
    people, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    sdr, ae = people
    handoff = hand_off(
        sdr, ae, timezone.now() + datetime.timedelta(days=2), django_capture_on_commit_callbacks
    )

    assert handoff_email_task(handoff_id=handoff.pk) is True

    first, second = (m.attachments[0].get_payload(decode=True) for m in mailoutbox)
    assert first == second  # same UID, same DTSTAMP: a calendar updates, never duplicates


def test_an_ae_who_turned_hand_off_emails_off_gets_none(
    people, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    sdr, ae = people
    User.objects.filter(pk=ae.pk).update(notification_preferences={"handoff": {"email": False}})

    handoff = hand_off(
        sdr, ae, timezone.now() + datetime.timedelta(days=2), django_capture_on_commit_callbacks
    )

    assert mailoutbox == []
    assert handoff.to_user == ae


def test_the_time_zone_is_the_observance_in_force_at_the_meeting() -> None:
    summer = datetime.datetime(2026, 7, 1, 14, 0, tzinfo=datetime.UTC)

    new_york = vtimezone("America/New_York", summer)
    jakarta = vtimezone("Asia/Jakarta", summer)

    assert new_york == [
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "BEGIN:DAYLIGHT",
        "DTSTART:20260308T020000",  # 2 a.m. standard time, the second Sunday of March
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "TZNAME:EDT",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
    assert jakarta[2:7] == [
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0700",
        "TZOFFSETTO:+0700",
        "TZNAME:WIB",
    ]


def test_text_is_escaped_and_long_lines_folded_at_75_octets() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "Pertemuan penemuan — é" * 10
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def test_the_invitation_names_the_lead_page(people) -> None:
    sdr, ae = people
    lead = LeadFactory(owner=sdr, company_name="Borneo Foods")
    handoff = Handoff.objects.create(
        lead=lead,
        from_user=sdr,
        to_user=ae,
        discovery_meeting_at=timezone.now() + datetime.timedelta(days=1),
        **PACKAGE,
    )

    ics = discovery_invitation(handoff, url="https://crm.example/leads/1/")

    assert "URL:https://crm.example/leads/1/" in unfold(ics)
    assert ics.endswith("\r\n") and ics.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
