"""The pipeline: editing a deal, moving it between stages, the manager's approval.

Each function locks the deal row, checks who may act (`opportunities.access`) and the
version the user saw, writes the change with its audit row (`StageChange` for stage
moves, `OpportunityEvent` for edits and approval decisions) and bumps the version, all
in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, check_version, save_with_version_bump
from leads import gate
from opportunities.access import OpportunityAction, opportunity_for
from opportunities.conversion import CURRENCIES, CUSTOM_FIELDS, ConversionData, input_problems
from opportunities.exceptions import AlreadyDecided, PendingApproval
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


def _lock(opportunity_id: int, *, by: User, to: OpportunityAction) -> Opportunity:
    """The deal row, locked for the caller's transaction, if `by` may do `to` with it.

    The row is locked by a query that joins nothing, and read (with its stage, owner and
    lead) by the next one. Locking and joining in one query loses the row under a race:
    when the lock is granted, PostgreSQL re-checks the joins against the row as the other
    transaction left it, and a join on a column it changed (the stage) no longer matches,
    so a deal moved a moment ago would read as missing. The second query runs after the
    lock is held, so it sees the latest committed row, and nobody can change it meanwhile.
    """
    with contextlib.suppress(ValueError, TypeError):  # not an id: the access helper says 404
        list(Opportunity.objects.select_for_update().filter(pk=opportunity_id).values("pk"))
    return opportunity_for(
        by, opportunity_id, to=to, queryset=Opportunity.objects.select_related("stage")
    )


# --- editing ------------------------------------------------------------------------------

# A close date further out than this is a typo, whatever the reason given.
MAX_CLOSE_YEARS = 5
# Free text a deal may leave empty, but never fill with a placeholder ("TBD", "N/A").
OPTIONAL_TEXT = ("discount_notes", "close_date_reason", *CUSTOM_FIELDS)


@functools.cache
def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _as_conversion(merged: Mapping[str, Any]) -> ConversionData:
    """The deal's values as the conversion reads its input, so an edit is judged by the
    conversion's own rules (name format, close-date window, currency, required fields)."""
    data = ConversionData(
        name=_text(merged.get("name")),
        currency=_text(merged.get("currency")).upper(),
        discount_notes=_text(merged.get("discount_notes")),
        close_date_reason=_text(merged.get("close_date_reason")),
        next_step=_text(merged.get("next_step")),
        next_step_owner=merged.get("next_step_owner"),
        custom={f: _text(merged.get(f)) for f in CUSTOM_FIELDS},
    )
    amount = merged.get("amount")
    if isinstance(amount, Decimal | int) and not isinstance(amount, bool):
        data.amount = Decimal(amount)
    elif amount is not None:
        data.unparsed.add("amount")
    probability = merged.get("probability")
    if isinstance(probability, int) and not isinstance(probability, bool):
        data.probability = probability
    elif probability is not None:
        data.unparsed.add("probability")
    for name in ("expected_close_date", "next_step_due"):
        value = merged.get(name)
        if isinstance(value, datetime.date):
            setattr(data, name, value)
        elif value is not None:
            data.unparsed.add(name)
    return data


def edit_problems(
    data: Mapping[str, Any],
    *,
    policy: ConversionPolicy,
    opportunity: Opportunity | None = None,
    today: datetime.date | None = None,
) -> list[Problem]:
    """Every reason the edited values `data` cannot be saved, all at once; empty means
    they can. Required data stays required after conversion (DOMAIN.md): the values that
    change are judged by the conversion's rules, plus no placeholder in any text field.
    With `opportunity`, `data` is merged over its values and only real changes are judged
    (a client that sends the whole deal back is not refused for what it did not change)."""
    today = today or timezone.localdate()
    stored = {name: getattr(opportunity, name) for name in EDITABLE_FIELDS} if opportunity else {}
    changed = {name for name, value in data.items() if name not in stored or stored[name] != value}
    merged = stored | dict(data)
    problems: list[Problem] = []

    amount = merged.get("amount")
    if "amount" in changed and isinstance(amount, Decimal) and not amount.is_finite():
        problems.append(Problem("invalid_number", "amount", _("Enter the deal size as a number.")))
        merged["amount"] = None
    probability = merged.get("probability")
    if "probability" in changed and probability is None:
        problems.append(Problem("required", "probability", _("Give the probability.")))
    elif "probability" in changed and (
        isinstance(probability, bool) or not isinstance(probability, int)
    ):
        problems.append(Problem("invalid_number", "probability", _("Enter a whole percentage.")))
    close_date = merged.get("expected_close_date")
    too_far = (
        "expected_close_date" in changed
        and isinstance(close_date, datetime.date)
        and close_date > today + datetime.timedelta(days=365 * MAX_CLOSE_YEARS)
    )
    if too_far:
        problems.append(
            Problem(
                "out_of_range",
                "expected_close_date",
                _("A close date more than %(years)s years out is not a forecast.")
                % {"years": MAX_CLOSE_YEARS},
            )
        )

    judged = set(changed)
    if {"expected_close_date", "close_date_reason"} & changed and not too_far:
        judged.add("expected_close_date")
    for problem in input_problems(_as_conversion(merged), policy=policy, today=today):
        if problem.field not in judged or problem.field in {p.field for p in problems}:
            continue
        if problem.field == "expected_close_date" and "expected_close_date" not in changed:
            # Only the reason changed (emptied, say): the problem is the reason's.
            problem = Problem(problem.code, "close_date_reason", problem.message)
        problems.append(problem)

    if "currency" in changed and not any(p.field == "currency" for p in problems):
        currency = _text(merged.get("currency")).upper()
        if currency not in CURRENCIES:
            problems.append(
                Problem(
                    "invalid_currency",
                    "currency",
                    _("Use the ISO 4217 code of a currency in use, e.g. USD."),
                )
            )
    reported = {p.field for p in problems}
    for name in OPTIONAL_TEXT:
        value = _text(merged.get(name))
        if name not in changed or not value or not gate.is_blank(value) or name in reported:
            continue
        if name == "close_date_reason" and "expected_close_date" in reported:
            continue  # the close date's problem already says the reason does not count
        problems.append(
            Problem(
                "placeholder",
                name,
                _("“%(value)s” is a placeholder: write the real answer, or leave it empty.")
                % {"value": value[:40]},
            )
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
        problems = edit_problems(data, policy=ConversionPolicy.current(), opportunity=opportunity)
        if problems:
            raise ValidationFailed(problems=problems)
        changes = apply_changes(opportunity, data)
        if not changes:
            return opportunity
        save_edit(opportunity, changes, by=by)
    return opportunity


def save_edit(
    opportunity: Opportunity, changes: dict[str, Any], *, by: User, reason: str = ""
) -> None:
    """Save the changed fields with the version bump and record them on the timeline, old
    -> new: what an edit, an inline cell and a change of owner share."""
    save_with_version_bump(opportunity, list(changes))
    OpportunityEvent.objects.create(
        opportunity=opportunity,
        kind=OpportunityEvent.Kind.EDITED,
        actor=by,
        at=timezone.now(),
        changes=changes,
        reason=reason,
    )


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
    with transaction.atomic():
        opportunity = _lock(opportunity_id, by=by, to="work")
        # Read the clock once the lock is held: moves queued on one deal are stamped in the
        # order they happen, and the time spent in the stage is never negative.
        now = timezone.now()
        check_version(
            opportunity.version,
            expected_version,
            _("Someone moved or edited this deal meanwhile. Reload and retry."),
        )
        if opportunity.is_pending_approval:
            raise PendingApproval(
                problems=[
                    Problem(
                        PendingApproval.code,
                        "stage",
                        _(
                            "This deal waits for a manager's approval: it is not in the "
                            "pipeline yet and moves between stages once approved."
                        ),
                    )
                ]
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
