"""The hand-off from SDR to AE and the discovery call that follows it.

A qualified lead changes hands once per qualification round, with the full package and a
booked meeting; the AE's record of the discovery call starts the convert-after-discovery
clock and rates the hand-off for the quality report.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import Notification, User
from crm.outbox.services import outbox_put
from crm.services import notify
from crm.versioning import check_version, save_with_version_bump
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.models import Activity, Handoff, Lead, LeadEvent
from leads.services._locking import lock_for
from leads.services._records import lead_url, record_event
from leads.tasks import handoff_email_task


def lead_hand_off(
    *,
    lead_id: int,
    by: User,
    to_user: User | None,
    package: Mapping[str, Any],
    discovery_meeting_at: datetime.datetime | None,
    expected_version: int | None = None,
) -> Handoff:
    """The SDR hands a qualified lead to an AE with the full package and a booked
    discovery meeting. Incomplete packages are refused with everything missing named."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        already = (
            lead.handed_off_at and lead.qualified_at and lead.handed_off_at >= lead.qualified_at
        )
        if lead.status != Lead.Status.SQL or already:
            # One hand-off per qualification round: a second would orphan the first AE's work.
            raise InvalidTransition(current=lead.status, target="handoff")
        problems = gate.handoff_problems(
            lead,
            {**package, "to_user": to_user, "discovery_meeting_at": discovery_meeting_at},
            now=now,
        )
        # The gate names a missing AE or meeting time; the `None` checks tell the type checker.
        if problems or to_user is None or discovery_meeting_at is None:
            raise ValidationFailed(problems=problems)
        handoff = Handoff.objects.create(
            lead=lead,
            from_user=by,
            to_user=to_user,
            discovery_meeting_at=discovery_meeting_at,
            **{f: str(package[f]).strip() for f in gate.HANDOFF_FIELDS},
        )
        Activity.objects.create(
            kind=Activity.Kind.MEETING,
            lead=lead,
            owner=to_user,
            subject=_("Discovery call: %s") % lead.company_name,
            body=str(package["recommended_next_step"]),
            due_at=discovery_meeting_at,
        )
        lead.ae = to_user
        lead.handed_off_at = now
        save_with_version_bump(lead, ["ae", "handed_off_at"])
        record_event(
            lead,
            LeadEvent.Kind.HANDOFF,
            by=by,
            at=now,
            changes={
                "ae": [None, str(to_user)],
                "discovery_meeting_at": [
                    None,
                    discovery_meeting_at.astimezone(datetime.UTC).isoformat(),
                ],
            },
            note=_("Discovery meeting booked"),
        )
        clocks().on_event(lead=lead, event=ClockEvent.HANDOFF, at=now)

        def handed_off() -> str:
            """In the AE's language, the meeting in the AE's time zone (`notify`)."""
            when = timezone.localtime(discovery_meeting_at)
            return _("%(sdr)s handed off %(company)s to you; discovery on %(when)s") % {
                "sdr": by,
                "company": lead.company_name,
                "when": when.strftime("%Y-%m-%d %H:%M %Z"),
            }

        notify(
            recipients=[to_user],
            kind=Notification.Kind.HANDOFF,
            message=handed_off,
            url=lead_url(lead),
            by=by,
        )
        # The AE's e-mail is not the bell's plain copy: it carries the package and the
        # meeting as a calendar invitation (leads.tasks.handoff_email_task).
        outbox_put(handoff_email_task, key=f"handoff-email:{handoff.pk}", handoff_id=handoff.pk)
    return handoff


def lead_record_discovery(
    *,
    lead_id: int,
    by: User,
    held_at: datetime.datetime | None = None,
    rating: int | None = None,
    repeated_discovery: bool | None = None,
) -> Handoff:
    """The AE held the discovery call: starts the convert-after-discovery clock and
    records how good the hand-off was (for the hand-off quality report)."""
    now = timezone.now()
    if rating is not None and not 1 <= int(rating) <= 5:
        raise ValidationFailed(
            problems=[Problem("out_of_range", "rating", _("Rate the hand-off from 1 to 5."))]
        )
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="record_discovery")
        # Only this pass's hand-off: one from before a reopening is an earlier story.
        handoff = gate.handoffs_this_pass(lead).select_for_update(of=("self",)).first()
        if handoff is None or lead.status != Lead.Status.SQL:
            raise InvalidTransition(current=lead.status, target="discovery")
        handoff.discovery_held_at = held_at or now
        handoff.ae_rating = rating
        handoff.ae_repeated_discovery = repeated_discovery
        handoff.save(update_fields=["discovery_held_at", "ae_rating", "ae_repeated_discovery"])
        record_event(lead, LeadEvent.Kind.DISCOVERY, by=by, at=now)
        clocks().on_event(lead=lead, event=ClockEvent.DISCOVERY, at=now)
    return handoff


def ae_choices() -> list[User]:
    """The AEs offered by the hand-off forms, each with how many open hand-offs they hold."""
    return list(
        User.objects.filter(is_active=True, role=User.Role.AE)
        .annotate(
            open_handoffs=Count(
                "handed_off_leads", filter=Q(handed_off_leads__status=Lead.Status.SQL)
            )
        )
        .order_by("first_name")
    )
