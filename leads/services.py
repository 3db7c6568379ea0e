"""The lead lifecycle: one function per use case, each in one transaction.

Each service locks the lead row, checks who may act and that the move is allowed, writes
the change plus its record (LeadTransition for status, LeadEvent for the rest), moves the
SLA clocks in the same transaction, and defers e-mail to after the commit. Browser, API
and admin all call these; none of them writes a lead directly.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import InvalidTransition, NotAllowed, Problem, StaleVersion, ValidationFailed
from crm.models import Notification, User
from crm.services import notify
from leads import gate
from leads.models import (
    ALLOWED_TRANSITIONS,
    Activity,
    Handoff,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
    RejectionReason,
    RoutingRule,
)
from sla import services as sla
from sla.models import SlaPolicy

Status = Lead.Status
Event = SlaPolicy.Event

# Fields a person may edit on a lead; status, owner and milestones have their own services.
EDITABLE_FIELDS = (
    "company_name",
    "company_domain",
    "industry",
    "employee_count",
    "segment",
    "territory",
    "country",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "source",
    "campaign",
    "score",
    "lost_to_competitor",
)
QUALIFICATION_FIELDS = tuple(
    f.name
    for f in Qualification._meta.get_fields()
    if f.concrete and f.name not in {"id", "lead", "version", "updated_at", "updated_by"}
)
FIRST_CONTACT_KINDS = frozenset({Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING})


# --- helpers -------------------------------------------------------------------------------


def _lock(lead_id: int) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner", "ae", "team")
        .get(pk=lead_id)
    )


def _require(user: User | None, perm: str, lead: Lead) -> None:
    """`None` is the system (routing, imports, sweeps), which may do anything."""
    if user is not None and not user.has_perm(perm, lead):
        raise NotAllowed(_("You may not do that with this lead."))


def _check_version(current: int, expected: int | None) -> None:
    if expected is not None and int(expected) != current:
        raise StaleVersion(
            _(
                "Someone changed this record meanwhile (your version %(yours)s, now %(now)s). "
                "Reload and try again."
            )
            % {"yours": expected, "now": current}
        )


def _save(lead: Lead, fields: list[str]) -> None:
    lead.version += 1
    lead.save(update_fields=[*fields, "version", "updated_at"])


def _lead_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


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


def _event(
    lead: Lead,
    kind: str,
    *,
    by: User | None,
    at: datetime.datetime,
    changes: Mapping[str, Any] | None = None,
    note: str = "",
) -> None:
    LeadEvent.objects.create(
        lead=lead, kind=kind, actor=by, created_at=at, changes=dict(changes or {}), note=note
    )


def _as_jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, User):
        return str(value)
    return value


# --- intake and routing ----------------------------------------------------------------------


def lead_create(
    *, by: User | None, data: Mapping[str, Any], owner: User | None = None, via: str = "form"
) -> Lead:
    """Intake: validate minimum data, create the lead as MQL and route it to an SDR.

    Refused at once, with every problem named, when company, contact or source is missing.
    """
    problems = gate.intake_problems(data)
    if problems:
        raise ValidationFailed(problems=problems)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", f, _("This field cannot be set.")) for f in sorted(unknown)
            ]
        )
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.create(**{k: v for k, v in data.items() if v is not None})
        Qualification.objects.create(lead=lead, updated_by=by)
        _event(lead, LeadEvent.Kind.CREATED, by=by, at=now, note=via)
        _transition(lead, to=Status.MQL, by=by, reason=_("Passed intake validation"), at=now)
        lead.mql_at = now
        _save(lead, ["status", "mql_at"])
        sla.timers_on_event(lead=lead, event=Event.MQL, at=now)
        if owner is not None:
            _assign(lead, owner=owner, by=by, at=now, reason=_("Assigned at intake"))
        else:
            _route(lead, at=now)
    return lead


def _route(lead: Lead, *, at: datetime.datetime) -> None:
    """Apply the first matching active routing rule: round robin among the team's
    active SDRs. No match leaves the lead unassigned (the routing SLA then escalates)."""
    for rule in (
        RoutingRule.objects.select_for_update().filter(is_active=True).select_related("team")
    ):
        if rule.match_source and rule.match_source != lead.source:
            continue
        if rule.match_segment and rule.match_segment != lead.segment:
            continue
        if rule.match_territory and rule.match_territory.lower() != lead.territory.lower():
            continue
        if rule.strategy == RoutingRule.Strategy.TERRITORY and not (
            rule.match_segment or rule.match_territory
        ):
            continue
        sdrs = list(
            User.objects.filter(team=rule.team, role=User.Role.SDR, is_active=True).order_by("pk")
        )
        if not sdrs:
            continue
        after = [u for u in sdrs if rule.last_assigned_id and u.pk > rule.last_assigned_id]
        owner = (after or sdrs)[0]
        rule.last_assigned = owner
        rule.save(update_fields=["last_assigned"])
        lead.team = rule.team
        _assign(lead, owner=owner, by=None, at=at, reason=_("Routed by rule “%s”") % rule.name)
        return


def _assign(
    lead: Lead, *, owner: User, by: User | None, at: datetime.datetime, reason: str
) -> None:
    if not (owner.is_active and owner.role in (User.Role.SDR, User.Role.MANAGER)):
        raise ValidationFailed(
            problems=[Problem("not_an_sdr", "owner", _("Leads are owned by an active SDR."))]
        )
    previous = lead.owner
    first = lead.assigned_at is None
    lead.owner = owner
    if lead.team_id is None:
        lead.team_id = owner.team_id
    lead.assigned_at = lead.assigned_at or at
    _save(lead, ["owner", "team", "assigned_at"])
    _event(
        lead,
        LeadEvent.Kind.ASSIGNED,
        by=by,
        at=at,
        changes={"owner": [str(previous) if previous else None, str(owner)]},
        note=reason,
    )
    if first:
        sla.timers_on_event(lead=lead, event=Event.ASSIGNED, at=at)
    else:
        sla.timers_reassign(lead=lead)
    notify(
        recipients=[owner],
        kind=Notification.Kind.ASSIGNMENT,
        message=_("New lead for you: %(company)s (%(person)s)")
        % {"company": lead.company_name, "person": lead.full_name},
        url=_lead_url(lead),
    )


def lead_assign(*, lead_id: int, by: User, owner: User, reason: str = "") -> Lead:
    """A manager or RevOps gives the lead to another SDR."""
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.assign_lead", lead)
        if not lead.is_open and lead.status != Status.NURTURE:
            raise InvalidTransition(current=lead.status, target="assigned")
        _assign(lead, owner=owner, by=by, at=timezone.now(), reason=reason or _("Reassigned"))
    return lead


# --- editing ---------------------------------------------------------------------------------


def lead_update(
    *, lead_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> Lead:
    """Edit a lead's own fields, recording each change (field, old, new)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("read_only", f, _("This field cannot be edited here."))
                for f in sorted(unknown)
            ]
        )
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
        merged = {f: getattr(lead, f) for f in EDITABLE_FIELDS} | dict(data)
        problems = gate.intake_problems(merged)
        if "score" in data and data["score"] is None:
            problems.append(Problem("required", "score", _("Give a lead score from 0 to 100.")))
        if problems:
            raise ValidationFailed(problems=problems)
        changes = {
            f: [_as_jsonable(getattr(lead, f)), _as_jsonable(v)]
            for f, v in data.items()
            if getattr(lead, f) != v
        }
        if not changes:
            return lead
        for field in changes:
            setattr(lead, field, data[field])
        _save(lead, list(changes))
        _event(lead, LeadEvent.Kind.EDITED, by=by, at=timezone.now(), changes=changes)
    return lead


def qualification_update(
    *, lead_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> Qualification:
    """Record progress on the five criteria; every changed field is kept in the history."""
    unknown = set(data) - set(QUALIFICATION_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", f, _("This field cannot be set.")) for f in sorted(unknown)
            ]
        )
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        if not lead.is_open:
            raise InvalidTransition(current=lead.status, target="qualification")
        qualification, _created = Qualification.objects.select_for_update().get_or_create(lead=lead)
        _check_version(qualification.version, expected_version)
        changes = {
            f: [_as_jsonable(getattr(qualification, f)), _as_jsonable(v)]
            for f, v in data.items()
            if getattr(qualification, f) != v
        }
        if not changes:
            return qualification
        for field, value in data.items():
            setattr(qualification, field, value)
        try:
            qualification.full_clean(exclude=["lead", "updated_by"])
        except DjangoValidationError as exc:
            raise ValidationFailed(
                problems=[
                    Problem(
                        error.code or "invalid", field, str(error.message % (error.params or {}))
                    )
                    for field, errors in exc.error_dict.items()
                    for error in errors
                ]
            ) from exc
        qualification.version += 1
        qualification.updated_by = by
        qualification.save()
        _event(lead, LeadEvent.Kind.QUALIFICATION, by=by, at=timezone.now(), changes=changes)
    return qualification


# --- activities ------------------------------------------------------------------------------


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
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
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
            _save(lead, ["first_contacted_at"])
            _event(lead, LeadEvent.Kind.FIRST_CONTACT, by=by, at=now, note=activity.subject)
            sla.timers_on_event(lead=lead, event=Event.FIRST_CONTACT, at=now)
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
    with transaction.atomic():
        activity = (
            Activity.objects.select_for_update(of=("self",))
            .select_related("lead")
            .get(pk=activity_id)
        )
        if activity.lead is not None:
            _require(by, "leads.work_lead", activity.lead)
        if activity.completed_at is None:
            activity.completed_at = timezone.now()
            activity.save(update_fields=["completed_at"])
    return activity


# --- the lifecycle ---------------------------------------------------------------------------


def lead_accept(
    *, lead_id: int, by: User, reason: str = "", expected_version: int | None = None
) -> Lead:
    """Sales accepts the lead as worth pursuing (MQL -> SAL)."""
    now = timezone.now()
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
        _transition(lead, to=Status.SAL, by=by, reason=reason or _("Accepted"), at=now)
        lead.accepted_at = now
        _save(lead, ["status", "accepted_at"])
        sla.timers_on_event(lead=lead, event=Event.DECIDED, at=now)
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
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
        problems = []
        reason = RejectionReason.objects.filter(code=reason_code, is_active=True).first()
        if reason is None:
            problems.append(Problem("invalid_choice", "reason", _("Choose a rejection reason.")))
        if gate.is_blank(note):
            problems.append(
                Problem("required", "note", _("Explain why: marketing reads this rationale."))
            )
        if problems:
            raise ValidationFailed(problems=problems)
        _transition(lead, to=Status.REJECTED, by=by, reason=f"{reason.label}: {note}", at=now)
        lead.rejected_at = now
        lead.rejection_reason = reason
        lead.rejection_note = note.strip()
        _save(lead, ["status", "rejected_at", "rejection_reason", "rejection_note"])
        sla.timers_on_event(lead=lead, event=Event.DECIDED, at=now)
        sla.timers_cancel(lead=lead, at=now)
        _tell_marketing(lead, _("rejected by sales (%s)") % reason.label, note)
    return lead


def lead_qualify(
    *, lead_id: int, by: User, reason: str = "", expected_version: int | None = None
) -> Lead:
    """SAL -> SQL once need, budget and authority are confirmed with evidence."""
    now = timezone.now()
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
        if Status.SQL not in ALLOWED_TRANSITIONS[lead.status]:
            raise InvalidTransition(current=lead.status, target=Status.SQL)
        qualification, _created = Qualification.objects.get_or_create(lead=lead)
        problems = gate.sql_problems(lead, qualification)
        if problems:
            raise ValidationFailed(problems=problems)
        _transition(lead, to=Status.SQL, by=by, reason=reason or _("Qualified"), at=now)
        lead.qualified_at = now
        _save(lead, ["status", "qualified_at"])
    return lead


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
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
        already = (
            lead.handed_off_at and lead.qualified_at and lead.handed_off_at >= lead.qualified_at
        )
        if lead.status != Status.SQL or already:
            # One hand-off per qualification round: a second would orphan the first AE's work.
            raise InvalidTransition(current=lead.status, target="handoff")
        problems = gate.handoff_problems(
            lead,
            {**package, "to_user": to_user, "discovery_meeting_at": discovery_meeting_at},
            now=now,
        )
        if problems:
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
        _save(lead, ["ae", "handed_off_at"])
        _event(
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
        sla.timers_on_event(lead=lead, event=Event.HANDOFF, at=now)
        notify(
            recipients=[to_user],
            kind=Notification.Kind.HANDOFF,
            message=_("%(sdr)s handed off %(company)s to you; discovery on %(when)s")
            % {
                "sdr": by,
                "company": lead.company_name,
                "when": timezone.localtime(discovery_meeting_at).strftime("%Y-%m-%d %H:%M %Z"),
            },
            url=_lead_url(lead),
            email=True,
        )
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
        lead = _lock(lead_id)
        _require(by, "leads.record_discovery", lead)
        handoff = lead.handoffs.select_for_update().first()
        if handoff is None or lead.status != Status.SQL:
            raise InvalidTransition(current=lead.status, target="discovery")
        handoff.discovery_held_at = held_at or now
        handoff.ae_rating = rating
        handoff.ae_repeated_discovery = repeated_discovery
        handoff.save(update_fields=["discovery_held_at", "ae_rating", "ae_repeated_discovery"])
        _event(lead, LeadEvent.Kind.DISCOVERY, by=by, at=now)
        sla.timers_on_event(lead=lead, event=Event.DISCOVERY, at=now)
    return handoff


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
    now = timezone.now()
    with transaction.atomic():
        lead = _lock(lead_id)
        _require(by, "leads.work_lead", lead)
        _check_version(lead.version, expected_version)
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
        _save(lead, fields)
        sla.timers_cancel(lead=lead, at=now)
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
        lead = _lock(lead_id)
        perm = "leads.assign_lead" if lead.status == Status.REJECTED else "leads.work_lead"
        _require(by, perm, lead)
        _check_version(lead.version, expected_version)
        if gate.is_blank(reason):
            raise ValidationFailed(problems=[Problem("required", "reason", _("Give the reason."))])
        _transition(lead, to=Status.MQL, by=by, reason=reason.strip(), at=now)
        lead.mql_at = now
        # A fresh pass through the funnel: the decision milestones start over.
        lead.accepted_at = lead.qualified_at = lead.first_contacted_at = None
        lead.assigned_at = None
        _save(
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
        sla.timers_on_event(lead=lead, event=Event.MQL, at=now)
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


# --- reads used by several interfaces ---------------------------------------------------------


def owner_choices() -> list[User]:
    return list(User.objects.filter(is_active=True, role=User.Role.SDR).order_by("first_name"))


def ae_choices() -> list[User]:
    return list(
        User.objects.filter(is_active=True, role=User.Role.AE)
        .annotate(
            open_handoffs=Count("handed_off_leads", filter=Q(handed_off_leads__status=Status.SQL))
        )
        .order_by("first_name")
    )


# --- used by the conversion service in `opportunities`, inside its transaction ---------------


def lead_lock(lead_id: int) -> Lead:
    """Lock the lead row for the rest of the caller's transaction."""
    return _lock(lead_id)


def lead_mark_converted(
    *, lead: Lead, by: User, at: datetime.datetime, account: Any, contact: Any, reason: str
) -> None:
    """SQL -> CONVERTED for a lead the caller has locked; links what it became and stops
    every SLA clock. Kept here so `_transition` stays the only writer of Lead.status."""
    _transition(lead, to=Status.CONVERTED, by=by, reason=reason, at=at)
    lead.converted_at = at
    lead.account = account
    lead.contact = contact
    _save(lead, ["status", "converted_at", "account", "contact"])
    sla.timers_on_event(lead=lead, event=Event.CONVERTED, at=at)
    sla.timers_cancel(lead=lead, at=at)
    _tell_marketing(lead, _("converted to an opportunity"), reason)
