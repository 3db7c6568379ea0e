"""The status moves of a lead: accept, reject, qualify, nurture, disqualify, reopen, convert.

`_transition` is the only writer of `Lead.status`: it refuses a move that
`ALLOWED_TRANSITIONS` does not list and writes the `LeadTransition` row. Each step around
it locks the row, checks the version, stamps its milestone, moves the SLA clocks in the
same transaction and tells marketing after the commit.
"""

from __future__ import annotations

import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import User
from crm.versioning import check_version, save_with_version_bump
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.models import ALLOWED_TRANSITIONS, Lead, LeadTransition, Qualification, RejectionReason
from leads.services._locking import lock_for, lockable
from leads.services.assignment import _assign, _route

Status = Lead.Status


def _transition(
    lead: Lead, *, to: str, by: User | None, reason: str = "", at: datetime.datetime
) -> None:
    """Move a locked lead to `to` and record it. The only writer of Lead.status."""
    if to not in ALLOWED_TRANSITIONS[lead.status]:
        raise InvalidTransition(current=lead.status, target=to)
    LeadTransition.objects.create(
        lead=lead, from_status=lead.status, to_status=to, actor=by, reason=reason, created_at=at
    )
    lead.status = to


def lead_accept(
    *, lead_id: int, by: User, reason: str = "", expected_version: int | None = None
) -> Lead:
    """Sales accepts the lead as worth pursuing (MQL -> SAL)."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        _transition(lead, to=Status.SAL, by=by, reason=reason or _("Accepted"), at=now)
        lead.accepted_at = now
        save_with_version_bump(lead, ["status", "accepted_at"])
        clocks().on_event(lead=lead, event=ClockEvent.DECIDED, at=now)
        _tell_marketing(lead, _("accepted by sales"), reason)
    return lead


def lead_reject(
    *,
    lead_id: int,
    by: User,
    reason_code: str,
    note: str,
    expected_version: int | None = None,
) -> Lead:
    """Sales rejects the lead with a reason from RevOps' list and a written rationale."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        problems = []
        reason = RejectionReason.objects.filter(code=reason_code, is_active=True).first()
        if reason is None:
            problems.append(Problem("invalid_choice", "reason", _("Choose a rejection reason.")))
        if gate.is_blank(note):
            problems.append(
                Problem("required", "note", _("Explain why: marketing reads this rationale."))
            )
        if problems or reason is None:
            raise ValidationFailed(problems=problems)
        _transition(lead, to=Status.REJECTED, by=by, reason=f"{reason.label}: {note}", at=now)
        lead.rejected_at = now
        lead.rejection_reason = reason
        lead.rejection_note = note.strip()
        save_with_version_bump(
            lead, ["status", "rejected_at", "rejection_reason", "rejection_note"]
        )
        clocks().on_event(lead=lead, event=ClockEvent.DECIDED, at=now)
        clocks().on_close(lead=lead, at=now)
        _tell_marketing(lead, _("rejected by sales (%s)") % reason.label, note)
    return lead


def lead_qualify(
    *, lead_id: int, by: User, reason: str = "", expected_version: int | None = None
) -> Lead:
    """SAL -> SQL once need, budget and authority are confirmed with evidence."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        if Status.SQL not in ALLOWED_TRANSITIONS[lead.status]:
            raise InvalidTransition(current=lead.status, target=Status.SQL)
        qualification, _created = Qualification.objects.get_or_create(lead=lead)
        problems = gate.sql_problems(lead, qualification)
        if problems:
            raise ValidationFailed(problems=problems)
        _transition(lead, to=Status.SQL, by=by, reason=reason or _("Qualified"), at=now)
        lead.qualified_at = now
        save_with_version_bump(lead, ["status", "qualified_at"])
    return lead


def lead_nurture(
    *, lead_id: int, by: User, reason: str, expected_version: int | None = None
) -> Lead:
    """Back to marketing: not now, but maybe later (it may return as MQL)."""
    return _off_ramp(
        lead_id, by=by, to=Status.NURTURE, reason=reason, expected_version=expected_version
    )


def lead_disqualify(
    *, lead_id: int, by: User, reason: str, expected_version: int | None = None
) -> Lead:
    """Never convert: wrong company, bad data, no fit."""
    return _off_ramp(
        lead_id, by=by, to=Status.DISQUALIFIED, reason=reason, expected_version=expected_version
    )


def _off_ramp(
    lead_id: int, *, by: User, to: str, reason: str, expected_version: int | None
) -> Lead:
    """Nurture or disqualify: both need a reason, close the clocks and tell marketing."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        if gate.is_blank(reason):
            raise ValidationFailed(problems=[Problem("required", "reason", _("Give the reason."))])
        _transition(lead, to=to, by=by, reason=reason.strip(), at=now)
        if to == Status.NURTURE:
            lead.nurtured_at = now
            fields = ["status", "nurtured_at"]
        else:
            lead.disqualified_at = now
            lead.disqualification_reason = reason.strip()
            fields = ["status", "disqualified_at", "disqualification_reason"]
        save_with_version_bump(lead, fields)
        clocks().on_close(lead=lead, at=now)
        _tell_marketing(lead, Status(to).label.lower(), reason)
    return lead


def lead_reopen(
    *, lead_id: int, by: User, reason: str, expected_version: int | None = None
) -> Lead:
    """A nurtured or rejected lead comes back as MQL and is routed again.

    Rules: a nurtured lead may be reopened by anyone who may work it; overturning sales'
    rejection is a manager's or RevOps' decision.
    """
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="reopen")
        check_version(lead.version, expected_version)
        if gate.is_blank(reason):
            raise ValidationFailed(problems=[Problem("required", "reason", _("Give the reason."))])
        _transition(lead, to=Status.MQL, by=by, reason=reason.strip(), at=now)
        lead.mql_at = now
        # A fresh pass through the funnel: the decision milestones start over.
        lead.accepted_at = lead.qualified_at = lead.first_contacted_at = None
        lead.assigned_at = None
        save_with_version_bump(
            lead,
            [
                "status",
                "mql_at",
                "accepted_at",
                "qualified_at",
                "first_contacted_at",
                "assigned_at",
            ],
        )
        clocks().on_event(lead=lead, event=ClockEvent.MQL, at=now)
        if lead.owner is not None and lead.owner.is_active:
            _assign(lead, owner=lead.owner, by=by, at=now, reason=_("Reopened"))
        else:
            _route(lead, at=now)
    return lead


def _tell_marketing(lead: Lead, outcome: str, rationale: str) -> None:
    """Closed loop: marketing hears what became of every lead, after the commit."""
    from leads.tasks import marketing_feedback_task

    if settings.THRESHOLD_MARKETING_EMAIL:
        transaction.on_commit(
            partial(
                marketing_feedback_task.delay,
                lead_id=lead.pk,
                outcome=str(outcome),
                rationale=rationale or "",
            )
        )


# --- used by the conversion service in `opportunities`, inside its transaction ---------------


def lead_lock(lead_id: int) -> Lead:
    """Lock the lead row for the rest of the caller's transaction."""
    return lockable().get(pk=lead_id)


def lead_mark_converted(
    *, lead: Lead, by: User, at: datetime.datetime, account: Any, contact: Any, reason: str
) -> None:
    """SQL -> CONVERTED for a lead the caller has locked; links what it became and stops
    every SLA clock. Kept here so `_transition` stays the only writer of Lead.status."""
    _transition(lead, to=Status.CONVERTED, by=by, reason=reason, at=at)
    lead.converted_at = at
    lead.account = account
    lead.contact = contact
    save_with_version_bump(lead, ["status", "converted_at", "account", "contact"])
    clocks().on_event(lead=lead, event=ClockEvent.CONVERTED, at=at)
    clocks().on_close(lead=lead, at=at)
    _tell_marketing(lead, _("converted to an opportunity"), reason)
