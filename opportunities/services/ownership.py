"""Handing a deal to another AE: the one writer of `Opportunity.owner` after conversion.

A rep leaves, a territory is re-cut, an AE is overloaded: the team's manager (or RevOps)
moves deals to another AE. It is the manager's call, never the rep's own, and always
said why: the change is an `OpportunityEvent` (who, when, why, old owner -> new). The
bulk bar and `POST /api/v1/opportunities/bulk/` (`change_owner`) run it once per deal.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, check_version
from leads import gate
from opportunities.models import Opportunity
from opportunities.rules import manages_opportunity_owner, sees_everything
from opportunities.services.deals import _lock, save_edit

# The team's manager or RevOps: the same people who see the team's pipeline.
can_change_owner = sees_everything | manages_opportunity_owner


def new_owner_choices(by: User) -> QuerySet[User]:
    """The AEs `by` may hand deals to: every active AE for RevOps, the active AEs of their
    own people for a manager, nobody for anyone else."""
    aes = User.objects.filter(role=User.Role.AE, is_active=True).order_by(
        "first_name", "last_name", "username"
    )
    if by.sees_everything:
        return aes
    if by.is_manager:
        return aes.filter(Q(manager=by) | Q(team__manager=by))
    return aes.none()


def opportunity_change_owner(
    *,
    opportunity_id: int,
    by: User,
    owner: User,
    reason: str,
    expected_version: int | None = None,
) -> Opportunity:
    """Give the deal to `owner`, recording who, when, why and old -> new.

    The next step moves along when it was the old owner's (the deal's next action is its
    AE's); a next step someone else owns stays theirs. A closed deal keeps the owner it
    closed with (its number is in that rep's results).
    """
    with transaction.atomic():
        opportunity = _lock(opportunity_id, by=by, to="view")
        if not can_change_owner(by, opportunity):
            raise NotAllowed(_("Only the owner's manager or RevOps hands a deal to another AE."))
        check_version(
            opportunity.version,
            expected_version,
            _("Someone edited this deal meanwhile. Reload and retry."),
        )
        problems = []
        if opportunity.stage.is_closed:
            problems.append(
                Problem("closed", "owner", _("A closed deal keeps the owner it closed with."))
            )
        if not new_owner_choices(by).filter(pk=owner.pk).exists():
            problems.append(
                Problem("invalid_choice", "owner", _("Choose an active AE you manage."))
            )
        if gate.is_blank(reason):
            problems.append(Problem("required", "reason", _("Say why the deal changes hands.")))
        if problems:
            raise ValidationFailed(problems=problems)
        if opportunity.owner_id == owner.pk:
            return opportunity
        data: dict[str, User] = {"owner": owner}
        if opportunity.next_step_owner_id == opportunity.owner_id:
            data["next_step_owner"] = owner
        changes = apply_changes(opportunity, data)
        save_edit(opportunity, changes, by=by, reason=reason.strip())
    return opportunity
