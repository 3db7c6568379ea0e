"""Calls, e-mails, meetings, notes and follow-ups logged against a lead.

Kept with the lifecycle services because the first real contact is a lifecycle moment:
it stamps `first_contacted_at` and stops the first-contact SLA clock.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.versioning import save_with_version_bump
from leads import gate
from leads.access import lead_for
from leads.clocks import ClockEvent, clocks
from leads.models import Activity, LeadEvent
from leads.services._locking import lock_for
from leads.services._records import record_event

FIRST_CONTACT_KINDS = frozenset({Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING})


def activity_log(
    *,
    lead_id: int,
    by: User,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: datetime.datetime | None = None,
    due_at: datetime.datetime | None = None,
) -> Activity:
    """Log a call, e-mail, meeting or note, or schedule a follow-up (`due_at`).

    The first call, e-mail or meeting that happened is the lead's first contact: it stops
    the first-contact SLA clock.
    """
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        _check_activity(kind=kind, subject=subject, occurred_at=occurred_at, due_at=due_at, now=now)
        happened = kind != Activity.Kind.TASK and due_at is None
        at = occurred_at or now
        is_first = (
            happened
            and kind in FIRST_CONTACT_KINDS
            and lead.first_contacted_at is None
            and lead.is_open
        )
        activity = Activity.objects.create(
            kind=kind,
            lead=lead,
            owner=by,
            subject=subject.strip(),
            body=body,
            occurred_at=at if happened else None,
            due_at=due_at,
            is_first_contact=is_first,
        )
        if is_first:
            lead.first_contacted_at = at
            save_with_version_bump(lead, ["first_contacted_at"])
            record_event(lead, LeadEvent.Kind.FIRST_CONTACT, by=by, at=now, note=activity.subject)
            clocks().on_event(lead=lead, event=ClockEvent.FIRST_CONTACT, at=now)
    return activity


def _check_activity(
    *,
    kind: str,
    subject: str,
    occurred_at: datetime.datetime | None,
    due_at: datetime.datetime | None,
    now: datetime.datetime,
) -> None:
    """Raise ValidationFailed naming every problem with an activity's input."""
    problems = []
    if kind not in Activity.Kind.values:
        problems.append(Problem("invalid_choice", "kind", _("Choose a kind of activity.")))
    if gate.is_blank(subject):
        problems.append(Problem("required", "subject", _("Enter a subject.")))
    if kind == Activity.Kind.TASK and due_at is None:
        problems.append(Problem("required", "due_at", _("A follow-up needs a due date.")))
    if occurred_at is not None and occurred_at > now + datetime.timedelta(minutes=5):
        problems.append(
            Problem(
                "in_the_future",
                "occurred_at",
                _("An activity that happened cannot be in the future."),
            )
        )
    if problems:
        raise ValidationFailed(problems=problems)


def activity_complete(*, activity_id: int, by: User) -> Activity:
    """Tick off a follow-up; completing it twice keeps the first completion time."""
    with transaction.atomic():
        activity = (
            Activity.objects.select_for_update(of=("self",))
            .select_related("lead")
            .get(pk=activity_id)
        )
        if activity.lead_id is not None:
            lead_for(by, activity.lead_id, to="work")
        if activity.completed_at is None:
            activity.completed_at = timezone.now()
            activity.save(update_fields=["completed_at"])
    return activity
