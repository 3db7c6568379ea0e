"""The calendar invitation for a hand-off's discovery meeting: an iCalendar (RFC 5545)
REQUEST the AE's hand-off e-mail carries, so the meeting lands in their calendar.

Written by hand (no calendar library): one event, in the AE's time zone. The time zone is
described by the one observance in force at the meeting (its offset and since when), which
is all a calendar needs to place a single event; the TZID names the IANA zone, which
clients that know it use instead. The UID is the hand-off's and DTSTAMP its creation
time, so a repeated e-mail carries the same invitation, never a second meeting.
"""

from __future__ import annotations

import datetime
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from leads.models import Handoff

DISCOVERY_MINUTES = 30
PRODID = "-//Threshold//Lead hand-off//EN"
EPOCH = datetime.datetime(1970, 1, 1)  # noqa: DTZ001 - an iCalendar floating local time


def escape_text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _local(value: datetime.datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: datetime.timedelta | None) -> str:
    minutes = int((delta or datetime.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _last_change(zone: zoneinfo.ZoneInfo, at: datetime.datetime) -> datetime.datetime | None:
    """When the offset in force at `at` began (UTC), within the year before; None if the
    zone has kept it all year (then it is given as in force since 1970)."""
    now_offset = at.astimezone(zone).utcoffset()
    step = datetime.timedelta(days=1)
    earlier = at
    for _day in range(366):
        candidate = earlier - step
        if candidate.astimezone(zone).utcoffset() != now_offset:
            low, high = candidate, earlier  # the change lies in (low, high]
            while high - low > datetime.timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == now_offset:
                    high = middle
                else:
                    low = middle
            return high.replace(second=0, microsecond=0)
        earlier = candidate
    return None


def vtimezone(zone_name: str, at: datetime.datetime) -> list[str]:
    """The VTIMEZONE of `zone_name` as it stands at `at`: the observance in force."""
    zone = zoneinfo.ZoneInfo(zone_name)
    local = at.astimezone(zone)
    changed = _last_change(zone, at)
    if changed is None:
        start, before = EPOCH, local.utcoffset()
    else:
        before = (changed - datetime.timedelta(minutes=1)).astimezone(zone).utcoffset()
        # The onset, in the local time in force before it (RFC 5545 3.6.5).
        start = (changed.astimezone(datetime.UTC) + (before or datetime.timedelta())).replace(
            tzinfo=None
        )
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{zone_name}",
        f"BEGIN:{kind}",
        f"DTSTART:{_local(start)}",
        f"TZOFFSETFROM:{_offset(before)}",
        f"TZOFFSETTO:{_offset(local.utcoffset())}",
        f"TZNAME:{escape_text(local.tzname() or zone_name)}",
        f"END:{kind}",
        "END:VTIMEZONE",
    ]


def _person(prop: str, name: str, email: str, extra: str = "") -> str:
    common_name = name.replace('"', "'")
    return f'{prop};CN="{common_name}"{extra}:mailto:{email}'


def invitation_uid(handoff: Handoff) -> str:
    host = urlsplit(settings.THRESHOLD_BASE_URL).hostname or "threshold.invalid"
    return f"handoff-{handoff.pk}@{host}"


def discovery_invitation(handoff: Handoff, *, url: str = "") -> str:
    """The REQUEST for the hand-off's discovery meeting, in its AE's time zone."""
    ae, sdr, lead = handoff.to_user, handoff.from_user, handoff.lead
    zone_name = ae.time_zone or "UTC"
    zone = zoneinfo.ZoneInfo(zone_name)
    start = handoff.discovery_meeting_at.astimezone(zone)
    end = start + datetime.timedelta(minutes=DISCOVERY_MINUTES)
    organizer_email = sdr.email or str(settings.DEFAULT_FROM_EMAIL)
    description = "\n\n".join(
        part
        for part in (
            handoff.recommended_next_step,
            _("Pain points and business context: %(text)s") % {"text": handoff.pain_points},
            url,
        )
        if part
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        *vtimezone(zone_name, handoff.discovery_meeting_at),
        "BEGIN:VEVENT",
        f"UID:{invitation_uid(handoff)}",
        f"DTSTAMP:{_utc(handoff.created_at)}",
        "SEQUENCE:0",
        f"DTSTART;TZID={zone_name}:{_local(start)}",
        f"DTEND;TZID={zone_name}:{_local(end)}",
        "SUMMARY:" + escape_text(_("Discovery call: %(company)s") % {"company": lead.company_name}),
        f"DESCRIPTION:{escape_text(description)}",
        _person("ORGANIZER", str(sdr), organizer_email),
        _person(
            "ATTENDEE",
            str(ae),
            ae.email,
            ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE",
        ),
        *([f"URL:{url}"] if url else []),
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
