"""The status moves of a lead: accept, reject, qualify, nurture, disqualify, reopen, convert.

`_transition` is the only writer of `Lead.status`: it refuses a move that
`ALLOWED_TRANSITIONS` does not list and writes the `LeadTransition` row. Each step around
it locks the row, checks the version, stamps its milestone, moves the SLA clocks in the
same transaction and tells marketing through the outbox (an e-mail after the commit).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, Problem, ValidationFailed
from crm.models import User
from crm.versioning import as_jsonable, check_version, save_with_version_bump
from leads import gate
from leads.clocks import ClockEvent, clocks
from leads.models import (
    ALLOWED_TRANSITIONS,
    CriterionStatus,
    DisqualificationReason,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
    RejectionReason,
)
from leads.services._locking import lock_for, lockable
from leads.services._records import record_event
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
        _tell_marketing(lead, lambda: _("accepted by sales"), reason)
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
        clocks().on_close(lead=lead, at=now, ends=ClockEvent.DECIDED)
        _tell_marketing(lead, lambda: _("rejected by sales (%s)") % reason.label, note)
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
    """Back to marketing: not now, but maybe later (it may return as MQL). Needs a
    reason; closes the clocks and tells marketing."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        if gate.is_blank(reason):
            raise ValidationFailed(problems=[Problem("required", "reason", _("Give the reason."))])
        _transition(lead, to=Status.NURTURE, by=by, reason=reason.strip(), at=now)
        lead.nurtured_at = now
        save_with_version_bump(lead, ["status", "nurtured_at"])
        clocks().on_close(lead=lead, at=now)
        _tell_marketing(lead, lambda: Status.NURTURE.label.lower(), reason)
    return lead


def lead_disqualify(
    *,
    lead_id: int,
    by: User,
    reason_code: str,
    note: str,
    expected_version: int | None = None,
) -> Lead:
    """Never convert (wrong company, bad data, no fit): like a rejection, a reason from
    RevOps' list and a written rationale, both kept on the lead and sent to marketing."""
    now = timezone.now()
    with transaction.atomic():
        lead = lock_for(by, lead_id, to="work")
        check_version(lead.version, expected_version)
        reason = _active_disqualification_reason(reason_code)
        problems = _disqualify_problems(reason_code, reason, note)
        if problems or reason is None:
            raise ValidationFailed(problems=problems)
        note = note.strip()
        _transition(lead, to=Status.DISQUALIFIED, by=by, reason=f"{reason.label}: {note}", at=now)
        lead.disqualified_at = now
        lead.disqualification_reason = reason
        lead.disqualification_note = note
        save_with_version_bump(
            lead,
            ["status", "disqualified_at", "disqualification_reason", "disqualification_note"],
        )
        clocks().on_close(lead=lead, at=now)
        _tell_marketing(lead, lambda: _("disqualified (%s)") % reason.label, note)
    return lead


def disqualify_problems(values: Mapping[str, Any]) -> list[Problem]:
    """What `lead_disqualify` would refuse in `values` (`reason`, `note`), for an API
    body that also fails to parse: every problem in one answer."""
    code = values.get("reason")
    code = code if isinstance(code, str) else ""
    note = values.get("note")
    return _disqualify_problems(
        code, _active_disqualification_reason(code), note if isinstance(note, str) else ""
    )


def _active_disqualification_reason(code: str) -> DisqualificationReason | None:
    return DisqualificationReason.objects.filter(code=code.strip(), is_active=True).first()


def _disqualify_problems(
    code: str, reason: DisqualificationReason | None, note: str
) -> list[Problem]:
    """Every problem with a disqualification's input: an active reason (one retired since
    the form was loaded is refused too) and a rationale that is not a placeholder."""
    problems = []
    if not code.strip():
        problems.append(Problem("required", "reason", _("Choose a disqualification reason.")))
    elif reason is None:
        problems.append(
            Problem(
                "invalid_choice",
                "reason",
                _("Choose one of the active disqualification reasons."),
            )
        )
    if gate.is_blank(note):
        problems.append(
            Problem("required", "note", _("Explain why: marketing reads this rationale."))
        )
    return problems


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
        handed_over = _end_hand_off(lead, by=by, at=now)
        save_with_version_bump(
            lead,
            [
                "status",
                "mql_at",
                "accepted_at",
                "qualified_at",
                "first_contacted_at",
                "assigned_at",
                *handed_over,
            ],
        )
        _reopen_criteria(lead, by=by, at=now)
        clocks().on_event(lead=lead, event=ClockEvent.MQL, at=now)
        if lead.owner is not None and lead.owner.is_active:
            _assign(lead, owner=lead.owner, by=by, at=now, reason=_("Reopened"))
        else:
            _route(lead, at=now)
    return lead


def _end_hand_off(lead: Lead, *, by: User, at: datetime.datetime) -> list[str]:
    """A recycled lead starts over (DOMAIN.md): the AE of the earlier pass lets go, and the
    next pass needs its own hand-off and discovery call (`gate.current_handoff`). The
    earlier hand-off stays in the history. Returns the fields to save."""
    changes = {
        name: [as_jsonable(getattr(lead, name)), None]
        for name in ("ae", "handed_off_at")
        if getattr(lead, name) is not None
    }
    if not changes:
        return []
    lead.ae = None
    lead.handed_off_at = None
    record_event(
        lead,
        LeadEvent.Kind.EDITED,
        by=by,
        at=at,
        changes=changes,
        note=_("Reopened: the next pass needs a fresh hand-off and discovery call."),
    )
    return list(changes)


def _reopen_criteria(lead: Lead, *, by: User, at: datetime.datetime) -> None:
    """Criteria confirmed in an earlier pass go back to "in progress", their evidence
    kept: the rep confirms again what still holds rather than converting on old news."""
    qualification = Qualification.objects.select_for_update().filter(lead=lead).first()
    if qualification is None:
        return
    changes = {}
    for criterion in Qualification.CRITERIA:
        field = f"{criterion}_status"
        if getattr(qualification, field) == CriterionStatus.CONFIRMED:
            setattr(qualification, field, CriterionStatus.IN_PROGRESS)
            changes[field] = [CriterionStatus.CONFIRMED.value, CriterionStatus.IN_PROGRESS.value]
    if not changes:
        return
    qualification.version += 1
    qualification.updated_by = by
    qualification.save(update_fields=[*changes, "version", "updated_by", "updated_at"])
    record_event(
        lead,
        LeadEvent.Kind.QUALIFICATION,
        by=by,
        at=at,
        changes=changes,
        note=_("Reopened: confirm each criterion again."),
    )


def _tell_marketing(lead: Lead, outcome: Callable[[], str], rationale: str) -> None:
    """Closed loop: marketing hears what became of every lead. An outbox row in this
    transaction, e-mailed after the commit; keyed by the lead's new version, so each
    change is told once. Call it after the lead's version was bumped. `outcome()` is
    composed in the site's language (marketing's), not the actor's."""
    from crm.outbox.services import outbox_put
    from leads.tasks import marketing_feedback_task

    if settings.THRESHOLD_MARKETING_EMAIL:
        with translation.override(settings.LANGUAGE_CODE):
            text = str(outcome())
        outbox_put(
            marketing_feedback_task,
            key=f"marketing-feedback:lead-{lead.pk}-v{lead.version}",
            lead_id=lead.pk,
            outcome=text,
            rationale=rationale or "",
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
    clocks().on_close(lead=lead, at=at, ends=ClockEvent.CONVERTED)
    _tell_marketing(lead, lambda: _("converted to an opportunity"), reason)
