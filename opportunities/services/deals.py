"""The pipeline: editing a deal, moving it between stages, the manager's approval.

Each function locks the deal row, checks who may act (`opportunities.access`) and the
version the user saw, writes the change with its audit row (`StageChange` for stage
moves, `OpportunityEvent` for edits and approval decisions) and bumps the version, all
in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, check_version, save_with_version_bump
from leads import gate
from opportunities.access import OpportunityAction, opportunity_for
from opportunities.conversion import CURRENCIES, CUSTOM_FIELDS
from opportunities.exceptions import AlreadyDecided
from opportunities.models import (
    ConversionPolicy,
    Opportunity,
    OpportunityEvent,
    Stage,
    StageChange,
)

EDITABLE_FIELDS = (
    "name",
    "amount",
    "currency",
    "discount_notes",
    "expected_close_date",
    "close_date_reason",
    "probability",
    "next_step",
    "next_step_owner",
    "next_step_due",
    *CUSTOM_FIELDS,
)


def _locked(opportunity_id: int) -> QuerySet[Opportunity]:
    return Opportunity.objects.select_for_update(of=("self",)).filter(pk=opportunity_id)


def _lock(opportunity_id: int, *, by: User, to: OpportunityAction) -> Opportunity:
    """The deal row, locked for the caller's transaction, if `by` may do `to` with it."""
    return opportunity_for(by, opportunity_id, to=to, queryset=_locked(opportunity_id))


# --- editing ------------------------------------------------------------------------------


def edit_problems(data: Mapping[str, Any], *, policy: ConversionPolicy) -> list[Problem]:
    """Every reason the edited values `data` cannot be saved; empty means they can.
    Required data stays required after conversion (DOMAIN: no placeholders)."""
    problems = []
    for name in ("name", "next_step"):
        if name in data and gate.is_blank(data[name]):
            problems.append(Problem("required", name, _("This field is required.")))
    if "amount" in data and (data["amount"] is None or data["amount"] <= 0):
        problems.append(
            Problem("amount_not_positive", "amount", _("The deal size must be positive."))
        )
    if "currency" in data and str(data["currency"]).upper() not in CURRENCIES:
        problems.append(
            Problem("invalid_currency", "currency", _("Use an ISO 4217 currency code, e.g. USD."))
        )
    for name in policy.required_fields:
        if name in data and gate.is_blank(data[name]):
            problems.append(Problem("required", name, _("This field is required.")))
    if "probability" in data and not 0 <= int(data["probability"]) <= 100:
        problems.append(
            Problem("out_of_range", "probability", _("Probability runs from 0 to 100."))
        )
    return problems


def opportunity_update(
    *,
    opportunity_id: int,
    by: User,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Edit a deal's own fields, recording each change (field: old, new) as an event."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("read_only", f, _("This field cannot be edited here."))
                for f in sorted(unknown)
            ]
        )
    with transaction.atomic():
        opportunity = _lock(opportunity_id, by=by, to="work")
        check_version(
            opportunity.version,
            expected_version,
            _("Someone edited this deal meanwhile. Reload and retry."),
        )
        problems = edit_problems(data, policy=ConversionPolicy.current())
        if problems:
            raise ValidationFailed(problems=problems)
        changes = apply_changes(opportunity, data)
        if not changes:
            return opportunity
        save_with_version_bump(opportunity, list(changes))
        OpportunityEvent.objects.create(
            opportunity=opportunity,
            kind=OpportunityEvent.Kind.EDITED,
            actor=by,
            at=timezone.now(),
            changes=changes,
        )
    return opportunity


# --- the manager's approval ---------------------------------------------------------------


def opportunity_approve(*, opportunity_id: int, by: User, note: str = "") -> Opportunity:
    """A manager lets a large deal into the forecast."""
    return _decide_approval(opportunity_id, by=by, to=Opportunity.Approval.APPROVED, note=note)


def opportunity_send_back(*, opportunity_id: int, by: User, reason: str = "") -> Opportunity:
    """A manager keeps a large deal out of the forecast and sends it back to its owner."""
    return _decide_approval(opportunity_id, by=by, to=Opportunity.Approval.REJECTED, note=reason)


_APPROVAL_EVENTS = {
    Opportunity.Approval.APPROVED: OpportunityEvent.Kind.APPROVED,
    Opportunity.Approval.REJECTED: OpportunityEvent.Kind.SENT_BACK,
}


def _decide_approval(
    opportunity_id: int, *, by: User, to: Opportunity.Approval, note: str
) -> Opportunity:
    """The one writer of `Opportunity.approval` after conversion: who, when and why."""
    with transaction.atomic():
        opportunity = _lock(opportunity_id, by=by, to="approve")
        if opportunity.approval != Opportunity.Approval.PENDING:
            raise AlreadyDecided(_("This deal is not waiting for approval."))
        before = opportunity.approval
        opportunity.approval = to
        save_with_version_bump(opportunity, ["approval"])
        OpportunityEvent.objects.create(
            opportunity=opportunity,
            kind=_APPROVAL_EVENTS[to],
            actor=by,
            at=timezone.now(),
            changes={"approval": [before, str(to)]},
            reason=note.strip(),
        )
    return opportunity


# --- moving between stages ----------------------------------------------------------------


def stage_exit_problems(opportunity: Opportunity, to: Stage) -> list[Problem]:
    """What must be filled before the deal moves forward out of its stage. Moving back, or
    closing lost, never waits on the current stage's exit fields."""
    if to.is_lost or to.position < opportunity.stage.position:
        return []
    problems = []
    for name in opportunity.stage.exit_required_fields:
        if gate.is_blank(getattr(opportunity, name, "")):
            label = getattr(Opportunity._meta.get_field(name), "verbose_name", name)
            problems.append(
                Problem(
                    "exit_field_missing",
                    name,
                    _("Fill in %(field)s before leaving %(stage)s.")
                    % {"field": label, "stage": opportunity.stage.name},
                )
            )
    return problems


def opportunity_move_stage(
    *,
    opportunity_id: int,
    by: User,
    to: Stage,
    reason: str = "",
    lost_reason: str = "",
    lost_to_competitor: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move a deal to another stage: exit criteria enforced, closing lost asks why and to
    whom, time in the previous stage recorded, probability reset to the stage default."""
    now = timezone.now()
    with transaction.atomic():
        opportunity = opportunity_for(
            by,
            opportunity_id,
            to="work",
            queryset=_locked(opportunity_id).select_related("stage"),
        )
        check_version(
            opportunity.version,
            expected_version,
            _("Someone moved or edited this deal meanwhile. Reload and retry."),
        )
        if to.pk == opportunity.stage_id:
            return opportunity
        if not to.is_active:
            raise ValidationFailed(
                problems=[Problem("invalid_choice", "stage", _("That stage is retired."))]
            )
        problems = stage_exit_problems(opportunity, to)
        if to.is_lost and gate.is_blank(lost_reason):
            problems.append(Problem("required", "lost_reason", _("Why was the deal lost?")))
        if to.is_lost and gate.is_blank(lost_to_competitor):
            problems.append(
                Problem(
                    "required",
                    "lost_to_competitor",
                    _("Name the competitor it was lost to (or 'No decision')."),
                )
            )
        if problems:
            raise ValidationFailed(problems=problems)
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=opportunity.stage,
            to_stage=to,
            actor=by,
            changed_at=now,
            time_in_previous_stage=now - opportunity.stage_entered_at,
            reason=reason,
        )
        opportunity.stage = to
        opportunity.stage_entered_at = now
        opportunity.probability = to.default_probability
        opportunity.closed_at = (opportunity.closed_at or now) if to.is_closed else None
        fields = ["stage", "stage_entered_at", "probability", "closed_at"]
        if to.is_lost:
            opportunity.lost_reason = lost_reason.strip()
            opportunity.lost_to_competitor = lost_to_competitor.strip()
            fields += ["lost_reason", "lost_to_competitor"]
        save_with_version_bump(opportunity, fields)
    return opportunity
