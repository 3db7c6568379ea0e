"""Bulk actions on deals: the deal's action table for the generic runner (`crm.bulk`).

Every row goes through the service the deal page calls (`opportunity_move_stage`,
`opportunity_change_owner`), which locks the row and checks who may act through
`opportunities.access.opportunity_for`; a row that fails rolls back alone and the next
one runs (the loop and the result shape are `crm.bulk`'s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.bulk import BULK_CAP, BulkAction, BulkKind, BulkResult, RowResult
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from opportunities.models import Opportunity, Stage
from opportunities.services.deals import opportunity_move_stage
from opportunities.services.ownership import opportunity_change_owner

__all__ = [
    "ACTIONS",
    "BULK_CAP",
    "CHANGE_OWNER",
    "MOVE_STAGE",
    "OPPORTUNITIES",
    "BulkResult",
    "RowResult",
    "opportunity_bulk",
    "opportunity_labels",
]

MOVE_STAGE = "move_stage"
CHANGE_OWNER = "change_owner"


def _move(pk: int, by: User, params: Mapping[str, Any]) -> object:
    stage = params.get("stage")
    if stage is None:
        raise ValidationFailed(problems=[Problem("required", "stage", _("Choose the stage."))])
    return opportunity_move_stage(
        opportunity_id=pk,
        by=by,
        to=stage,
        reason=params.get("reason", ""),
        lost_reason=params.get("lost_reason", ""),
        lost_to_competitor=params.get("lost_to_competitor", ""),
    )


def _change_owner(pk: int, by: User, params: Mapping[str, Any]) -> object:
    owner = params.get("owner")
    if owner is None:
        raise ValidationFailed(problems=[Problem("required", "owner", _("Choose the AE."))])
    return opportunity_change_owner(
        opportunity_id=pk, by=by, owner=owner, reason=params.get("reason", "")
    )


def opportunity_labels(user: User, ids: Sequence[int]) -> dict[int, str]:
    """The name of each deal of `ids` that `user` may see, in one query."""
    return dict(
        Opportunity.objects.visible_to(user).filter(pk__in=list(ids)).values_list("pk", "name")
    )


# `move_stage` takes the `stage`, and for a lost stage the `lost_reason` and
# `lost_to_competitor` the service asks for; `change_owner` the new `owner` (an AE) and
# the `reason` for the audit row. Each row is refused with the service's own problem
# when one is missing, so the rule lives in the service alone.
OPPORTUNITIES = BulkKind(
    actions={
        MOVE_STAGE: BulkAction(gettext_lazy("Move to stage"), _move),
        CHANGE_OWNER: BulkAction(gettext_lazy("Change owner"), _change_owner),
    },
    labels=opportunity_labels,
)
ACTIONS: dict[str, Any] = {name: action.label for name, action in OPPORTUNITIES.actions.items()}


def opportunity_bulk(
    *,
    by: User,
    action: str,
    ids: Sequence[int],
    stage: Stage | None = None,
    owner: User | None = None,
    reason: str = "",
    lost_reason: str = "",
    lost_to_competitor: str = "",
) -> BulkResult:
    """Run `action` on every deal of `ids` as `by`, each through its service."""
    params = {
        "stage": stage,
        "owner": owner,
        "reason": reason,
        "lost_reason": lost_reason,
        "lost_to_competitor": lost_to_competitor,
    }
    return OPPORTUNITIES.run(by=by, action=action, ids=ids, params=params)
