"""Bulk actions on leads: the lead's action table for the generic runner (`crm.bulk`).

Every row goes through the same service the lead page calls (`lead_assign`,
`lead_accept`, `lead_reject`, `lead_nurture`), so the same access helper
(`leads.access.lead_for`, through the service's lock) and the same lifecycle checks
decide it; the loop, its one transaction per row and the result shape are `crm.bulk`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.bulk import BULK_CAP, BulkAction, BulkKind, BulkResult, RowResult, unique_ids
from crm.exceptions import Problem, ValidationFailed
from crm.models import User
from leads.models import Lead
from leads.services.assignment import lead_assign
from leads.services.lifecycle import lead_accept, lead_nurture, lead_reject

__all__ = [
    "ACCEPT",
    "ACTIONS",
    "ASSIGN",
    "BULK_CAP",
    "LEADS",
    "NURTURE",
    "REJECT",
    "BulkResult",
    "RowResult",
    "lead_bulk",
    "lead_labels",
    "unique_ids",
]

ASSIGN, ACCEPT, REJECT, NURTURE = "assign", "accept", "reject", "nurture"


def _assign(pk: int, by: User, params: Mapping[str, Any]) -> object:
    owner = params.get("owner")
    if owner is None:
        raise ValidationFailed(problems=[Problem("required", "owner", _("Choose the SDR."))])
    return lead_assign(lead_id=pk, by=by, owner=owner, reason=params.get("reason", ""))


def lead_labels(user: User, ids: Sequence[int]) -> dict[int, str]:
    """The company of each lead of `ids` that `user` may see, in one query."""
    return dict(
        Lead.objects.visible_to(user).filter(pk__in=list(ids)).values_list("pk", "company_name")
    )


# The actions that change leads (exporting the selection is a read, done by the views).
# Parameters: `assign` takes `owner` (and `reason` for the audit row), `reject` the
# rejection reason's code as `reason` and the rationale as `note`, `nurture` the
# `reason`. A missing parameter fails each row with the service's own problem.
LEADS = BulkKind(
    actions={
        ASSIGN: BulkAction(gettext_lazy("Assign"), _assign),
        ACCEPT: BulkAction(
            gettext_lazy("Accept"), lambda pk, by, _p: lead_accept(lead_id=pk, by=by)
        ),
        REJECT: BulkAction(
            gettext_lazy("Reject"),
            lambda pk, by, p: lead_reject(
                lead_id=pk, by=by, reason_code=p.get("reason", ""), note=p.get("note", "")
            ),
        ),
        NURTURE: BulkAction(
            gettext_lazy("Nurture"),
            lambda pk, by, p: lead_nurture(lead_id=pk, by=by, reason=p.get("reason", "")),
        ),
    },
    labels=lead_labels,
)
ACTIONS: dict[str, Any] = {name: action.label for name, action in LEADS.actions.items()}


def lead_bulk(
    *,
    by: User,
    action: str,
    ids: Sequence[int],
    owner: User | None = None,
    reason: str = "",
    note: str = "",
) -> BulkResult:
    """Run `action` on every lead of `ids` as `by`, each through its service."""
    params = {"owner": owner, "reason": reason, "note": note}
    return LEADS.run(by=by, action=action, ids=ids, params=params)
