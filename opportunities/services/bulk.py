"""Bulk actions on deals: one service call per deal, each in its own transaction.

Like `leads.services.bulk` (whose loop and result shape this reuses): every row goes
through the service the deal page calls (`opportunity_move_stage`), which locks the row
and checks who may act through `opportunities.access.opportunity_for`; a row that fails
rolls back alone and the next one runs.

Changing a deal's owner has no service yet (no rule says who may hand a deal to another
AE), so it is not offered in bulk either: a bulk action never writes what no single
action may.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from leads.services.bulk import BULK_CAP, BulkResult, RowResult, run_rows, unique_ids
from opportunities.models import Opportunity, Stage
from opportunities.services.deals import opportunity_move_stage

__all__ = ["ACTIONS", "BULK_CAP", "MOVE_STAGE", "BulkResult", "RowResult", "opportunity_bulk"]

MOVE_STAGE = "move_stage"
ACTIONS: dict[str, Any] = {MOVE_STAGE: gettext_lazy("Move to stage")}


def opportunity_bulk(
    *,
    by: User,
    action: str,
    ids: Sequence[int],
    stage: Stage | None = None,
    reason: str = "",
    lost_reason: str = "",
    lost_to_competitor: str = "",
) -> BulkResult:
    """Run `action` on every deal of `ids` as `by`, each through its service.

    `move_stage` takes the `stage`, and for a lost stage the `lost_reason` and
    `lost_to_competitor` the service asks for (each row refused with its own problem
    when they are missing, so the rule lives in the service alone).
    """
    steps: dict[str, Callable[[int], object]] = {
        MOVE_STAGE: lambda pk: _move(
            pk,
            by=by,
            stage=stage,
            reason=reason,
            lost_reason=lost_reason,
            lost_to_competitor=lost_to_competitor,
        ),
    }
    if action not in steps:
        raise ValueError(f"unknown bulk action {action!r}")
    ids = unique_ids(ids)
    return run_rows(action, ids, steps[action], labels=opportunity_labels(by, ids))


def _move(
    pk: int,
    *,
    by: User,
    stage: Stage | None,
    reason: str,
    lost_reason: str,
    lost_to_competitor: str,
) -> object:
    if stage is None:
        raise ValidationFailed(problems=[Problem("required", "stage", _("Choose the stage."))])
    return opportunity_move_stage(
        opportunity_id=pk,
        by=by,
        to=stage,
        reason=reason,
        lost_reason=lost_reason,
        lost_to_competitor=lost_to_competitor,
    )


def opportunity_labels(user: User, ids: Sequence[int]) -> dict[int, str]:
    """The name of each deal of `ids` that `user` may see, in one query."""
    return dict(
        Opportunity.objects.visible_to(user).filter(pk__in=list(ids)).values_list("pk", "name")
    )
